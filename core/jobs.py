"""Model training in the background (docs/ARCHITECTURE.md, "Quick list and background models").

The app shows a quick bundle list (co-purchases only: no model needed) at once, and trains the
models that refine it in a background job: the text model (fine-tune, or reuse, and encode every
item), then the recommender (when the data has customers), then the bundle inputs of the refined
list (put into the caller's inputs cache, so the refined list is seconds away when the job ends).

- One job per workspace at a time, on one worker thread: a new request (another dataset just
  uploaded, the other text setting) cancels the active one (``superseded``: the pages start it
  again when it is asked for again) and runs next. Jobs live in this process: they survive page
  changes and reruns of the app, not a restart of the server.
- Every step writes its result atomically (its own contract); ``cancel`` stops the step in
  progress at its next progress report and the workspace stays exactly as it was before that
  step. Steps that had finished stay: they are complete, valid results that a later job reuses.
- ``status`` is a snapshot that any page can draw: state, step, fraction, message, an estimate
  of the seconds left, the error of a failed job, notes (e.g. "no co-purchase pairs to
  fine-tune on").

The CLI does not use jobs: ``python -m core run`` trains in the foreground, as before.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, MutableMapping

from core import foreground
from core.errors import BundleLabError, friendly
from core.progress import Cancelled, Progress, time_left
from core.workspace import Workspace

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
KEEP_FINISHED = 8  # finished jobs remembered per workspace (their status stays readable)
ENV_AUTO = "BUNDLELAB_AUTO_MODELS"


@dataclass(frozen=True)
class JobStatus:
    """What a page shows of a job. ``eta_seconds``: estimated seconds left in the whole job,
    ``step_eta_seconds`` in the step in progress (None: unknown yet); ``elapsed``: seconds since
    it started (0 while queued)."""

    dataset: str
    version: int
    text: bool
    state: str
    step: str = ""
    fraction: float = 0.0
    message: str = ""
    elapsed: float = 0.0
    eta_seconds: float | None = None
    step_eta_seconds: float | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)


@dataclass
class _Step:
    label: str
    share: float  # of the whole job, for the overall fraction
    run: Callable[[Progress], None]
    predicted: float | None = None  # seconds, from the data's size and the machine's speed


@dataclass
class ModelJob:
    """One background training job for ``(dataset, version, text)`` of a workspace."""

    root: str
    dataset: str
    version: int
    text: bool
    cache: MutableMapping | None = None
    _status: JobStatus = field(init=False)
    _cancel: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _t0: float = field(default=0.0, init=False)
    superseded: bool = field(default=False, init=False)  # cancelled for a newer job, not by a user

    def __post_init__(self) -> None:
        self._status = JobStatus(self.dataset, self.version, self.text, QUEUED)

    @property
    def key(self) -> tuple:
        return (self.dataset, self.version, self.text)

    def status(self) -> JobStatus:
        with self._lock:
            s = self._status
        if s.state == RUNNING:
            s = replace(s, elapsed=time.monotonic() - self._t0)
        return s

    def cancel(self) -> None:
        """Stop at the next progress report (or before starting, when queued)."""
        self._cancel.set()
        with self._lock:
            if self._status.state == QUEUED:
                self._status = replace(self._status, state=CANCELLED,
                                       message="cancelled before it started")

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)

    # ------------------------------------------------------------------ the work
    def run(self) -> None:
        """Run the steps (called by the workspace's worker thread; callable directly in tests)."""
        if self._cancel.is_set():
            self._set(state=CANCELLED, message="cancelled before it started")
            return
        self._t0 = time.monotonic()
        ws = Workspace(self.root)
        notes: list[str] = []
        try:
            foreground.checkpoint(self._cancel.is_set)  # pages first: e.g. the first list
            steps = self._plan(ws, notes)
            self._set(state=RUNNING, steps=tuple(s.label for s in steps), message="starting")
            done = 0.0
            for i, step in enumerate(steps):
                rest = [s.predicted for s in steps[i + 1:]]
                later = None if None in rest else float(sum(rest))
                step.run(self._progress(step, done, later))
                done += step.share
            self._set(state=DONE, fraction=1.0, step="", message="models ready",
                      notes=tuple(notes), eta_seconds=0.0, elapsed=time.monotonic() - self._t0)
        except Cancelled:
            self._set(state=CANCELLED, message="cancelled: the step in progress left the "
                      "workspace as it was", notes=tuple(notes), eta_seconds=None)
        except Exception as exc:  # noqa: BLE001 - a job never takes the app down
            message = str(exc) if isinstance(exc, BundleLabError) else friendly(exc)
            if message is None:
                log.exception("background job %s failed", self.key)
                message = (f"unexpected error ({type(exc).__name__}: {exc}); the quick list "
                           "stays usable")
            self._set(state=FAILED, error=message, notes=tuple(notes), eta_seconds=None)

    def _progress(self, step: _Step, before: float, later: float | None) -> Progress:
        """The callback of ``step`` (``before``: the job's share done before it; ``later``:
        predicted seconds of the steps after it, None when unknown)."""
        started = time.monotonic()

        def progress(fraction: float, message: str) -> None:
            nonlocal started  # a wait for a page (core.foreground) is not the step's pace
            started += foreground.checkpoint(self._cancel.is_set)
            fraction = min(1.0, max(0.0, fraction))
            left = time_left(time.monotonic() - started, fraction, step.predicted)
            total = None if left is None or later is None else left + later
            self._set(step=step.label, fraction=before + step.share * fraction,
                      message=message, eta_seconds=total, step_eta_seconds=left)
        return progress

    def _plan(self, ws: Workspace, notes: list[str]) -> list[_Step]:
        info = ws.info(self.dataset)
        if int(info["version"]) != self.version:
            raise BundleLabError(f"dataset {self.dataset} was re-loaded: these models are for "
                                 "its previous version")
        steps: list[_Step] = []
        if self.text:
            steps.append(_Step("text model", 0.6, lambda p: self._text(ws, notes, p),
                               _predict(text_seconds, ws, self.dataset)))
        if int(info.get("customers") or 0) > 0:
            from core.recommend.estimate import job_seconds  # reads the orders, times minibatches

            steps.append(_Step("recommender", 0.35, lambda p: self._recommender(ws, notes, p),
                               _predict(job_seconds, ws, self.dataset, self.text)))
        steps.append(_Step("bundle inputs", 0.05, lambda p: self._inputs(ws, p),
                           _predict(inputs_seconds, ws, self.dataset)))
        # the bar moves by predicted time where every step has a prediction
        known = [s.predicted for s in steps]
        if None not in known and sum(known) > 0:
            steps = [replace(s, share=s.predicted) for s in steps]
        total = sum(s.share for s in steps)
        return [replace(s, share=s.share / total) for s in steps]

    def _text(self, ws: Workspace, notes: list[str], progress: Progress) -> None:
        from core.job_steps import run_step  # in a child process for a large shop

        notes.extend(run_step("text", ws, self.dataset, progress))

    def _recommender(self, ws: Workspace, notes: list[str], progress: Progress) -> None:
        from core.job_steps import run_step

        notes.extend(run_step("recommender", ws, self.dataset, progress, text=self.text))

    def _inputs(self, ws: Workspace, progress: Progress) -> None:
        from core.bundles.service import dataset_inputs, forget_inputs

        if self.cache is None:
            return
        forget_inputs(self.cache, ws, self.dataset)  # gathered before the models existed
        dataset_inputs(ws, self.dataset, text=self.text, cache=self.cache,
                       progress=progress)


def text_seconds(ws: Workspace, dataset: str) -> float:
    """Predicted seconds of the text step (``core.text.plan_text``: times this machine on the
    shop's own texts; a few seconds, writes nothing)."""
    from core.text import plan_text

    return plan_text(ws, dataset).seconds["total"]


def inputs_seconds(ws: Workspace, dataset: str) -> float:
    """Predicted seconds of the refined list's inputs (``core.bundles.service``)."""
    from core.bundles.service import predict_inputs_seconds

    return predict_inputs_seconds(ws, dataset)


def _predict(fn: Callable[..., float], ws: Workspace, dataset: str, *args: Any) -> float | None:
    """A step's predicted seconds, ``fn(ws, dataset, *args)``, or None when it fails (an
    estimate is advisory: it never stops a job)."""
    try:
        value = fn(ws, dataset, *args)
    except Exception:  # noqa: BLE001 - an estimate is advisory
        log.exception("time estimate %s failed", fn.__name__)
        return None
    return None if value is None else max(0.0, float(value))


# ---------------------------------------------------------------------------- the workers
class _Worker:
    """The jobs of one workspace, run one after the other on one thread."""

    def __init__(self) -> None:
        self.jobs: list[ModelJob] = []
        self.thread: threading.Thread | None = None

    def next_job(self) -> ModelJob | None:
        for job in self.jobs:
            if job.status().state == QUEUED:
                return job
        return None

    def loop(self) -> None:
        while True:
            with _LOCK:
                job = self.next_job()
                if job is None:
                    self.thread = None
                    return
                job._set(state=RUNNING, message="starting")
            job.run()


_LOCK = threading.Lock()
_WORKERS: dict[str, _Worker] = {}


def start(ws: Workspace, dataset: str, *, text: bool = True,
          cache: MutableMapping | None = None, again: bool = False) -> ModelJob:
    """The job for ``dataset``'s current version and ``text`` setting: the running, queued or
    finished one, or a new one (``again``: a new one when the last one failed or was cancelled;
    one superseded by a newer request is always started again). A new job cancels the active
    one of the workspace (one at a time; the newest request wins)."""
    version = int(ws.info(dataset)["version"])
    key = (dataset, version, bool(text))
    root = str(ws.root)
    with _LOCK:
        worker = _WORKERS.setdefault(root, _Worker())
        for job in reversed(worker.jobs):
            if job.key == key:
                state = job.status().state
                retry = again or (job.superseded and state == CANCELLED)
                if not (retry and state in (FAILED, CANCELLED)):
                    return job
                break
        for other in worker.jobs:  # one at a time: the newest request wins the machine
            if other.status().active:
                other.superseded = True
                other.cancel()
        job = ModelJob(root, dataset, version, bool(text), cache)
        worker.jobs.append(job)
        finished = [j for j in worker.jobs if j.status().state in FINISHED]
        for old in finished[:max(0, len(finished) - KEEP_FINISHED)]:
            worker.jobs.remove(old)
        if worker.thread is None:
            worker.thread = threading.Thread(target=worker.loop, daemon=True,
                                             name=f"bundlelab-models-{dataset}")
            worker.thread.start()
    return job


def find(ws: Workspace, dataset: str, version: int, text: bool) -> ModelJob | None:
    """The last job asked for this dataset version and text setting, or None."""
    with _LOCK:
        worker = _WORKERS.get(str(ws.root))
        jobs = list(worker.jobs) if worker else []
    return next((j for j in reversed(jobs) if j.key == (dataset, version, bool(text))), None)


def active(ws: Workspace) -> list[ModelJob]:
    """The workspace's running and queued jobs, in the order they run."""
    with _LOCK:
        worker = _WORKERS.get(str(ws.root))
        jobs = list(worker.jobs) if worker else []
    return [j for j in jobs if j.status().active]


def cancel_all(ws: Workspace | None = None, *, timeout: float = 60.0) -> None:
    """Cancel every running and queued job (of ``ws``, or of every workspace) and wait until
    they have stopped (at most ``timeout`` seconds)."""
    with _LOCK:
        workers = [w for root, w in _WORKERS.items() if ws is None or root == str(ws.root)]
        jobs = [j for w in workers for j in w.jobs]
    for job in jobs:
        job.cancel()
    for job in jobs:
        wait(job, timeout)


def auto_start() -> bool:
    """Whether the app starts model training by itself after an upload and on the Bundles page
    (``$BUNDLELAB_AUTO_MODELS``, default on; ``0`` leaves it to a button)."""
    return os.environ.get(ENV_AUTO, "1").strip().lower() not in ("0", "false", "no", "off")


def wait(job: ModelJob, timeout: float | None = None) -> JobStatus:
    """Block until ``job`` has finished (tests, scripts) or ``timeout`` seconds passed."""
    end = None if timeout is None else time.monotonic() + timeout
    while job.status().state not in FINISHED:
        if end is not None and time.monotonic() > end:
            break
        time.sleep(0.05)
    return job.status()
