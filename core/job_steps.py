"""The background job's model steps (``core.jobs``), each in this process or, for a large shop,
in a child process (``core.isolate``: its memory goes back to the system when the step ends;
``python -m core run`` follows the same rule, ``isolate_steps``).

Measured on ``bench/scale_run.py``'s shop (1.67 M lines, 90,000 products): the text model and
the recommender in one process reached 3.4 GB, each in a child of its own under 2 GB, and the
app's server keeps only what the pages need. A cancel stops the child at once; each step writes
its results atomically, so the workspace stays as it was.
"""

from __future__ import annotations

import os

from core.errors import BundleLabError, ModelNotTrained
from core.isolate import run_isolated
from core.progress import Progress
from core.workspace import Workspace


# a shop with this many kept lines gets the text model and the recommender each in a child
# process (``isolate_steps``; the app's background job too): whole-run peak memory on the
# 1.67 M-line scale shop 3.4 GB -> 1.8 GB (process tree). Not below: a child costs its start and
# imports, and on UCI Online Retail (530k lines, ~1.5 GB in one process) the job took 164 s
# isolated against 115 s in one process
ISOLATE_ROWS = 1_000_000
ENV_ISOLATE = "BUNDLELAB_ISOLATE"


def isolate_steps(ws: Workspace, name: str) -> bool:
    """Whether the text model and the recommender run each in a child process
    (``core.isolate``): ``$BUNDLELAB_ISOLATE`` (1 or 0) when set, else for a shop of at least
    ``ISOLATE_ROWS`` kept order lines (below, a child's start and imports cost more than the
    memory it gives back is worth)."""
    value = os.environ.get(ENV_ISOLATE, "").strip()
    if value in ("0", "1"):
        return value == "1"
    return int(ws.info(name).get("rows_kept") or 0) >= ISOLATE_ROWS


def text_step(root: str, dataset: str, progress: Progress | None = None, *,
              fallback: bool = True) -> list[str]:
    """Fine-tune (or reuse) the text model and cache every item's vectors; when fine-tuning
    cannot run, the base model's vectors (``fallback``; ``run`` goes on without text instead).
    Returns the notes."""
    from core.text import item_vectors

    ws = Workspace(root)
    try:
        item_vectors(ws, dataset, finetuned=True, progress=progress)
    except ModelNotTrained as exc:
        if not fallback:
            return [f"text model not fine-tuned: {exc}"]
        item_vectors(ws, dataset, finetuned=False, progress=progress)
        return [f"text model not fine-tuned ({exc}); the base model's vectors are used"]
    return []


def recommender_step(root: str, dataset: str, text: bool,
                     progress: Progress | None = None) -> list[str]:
    """Train (or reuse) the recommender on all orders (affinity and target customers; without the
    text model it reads no item text either), for ``run`` and the background job alike: the
    method that predicted best on the last ~20% of the orders (``core.recommend.choose``); a
    shop it cannot be trained on gives a note instead."""
    from core.recommend.estimate import job_params
    from core.recommend.store import train_recommender

    try:
        train_recommender(Workspace(root), dataset, progress=progress, params=job_params(text))
    except BundleLabError as exc:
        return [f"recommender skipped: {exc}"]
    return []


STEPS = {"text": (text_step, "text model step"), "recommender": (recommender_step,
                                                                  "recommender step")}


def run_step(step: str, ws: Workspace, dataset: str, progress: Progress, **kwargs) -> list[str]:
    """Step ``step`` ("text" or "recommender") of ``dataset``, isolated for a large shop."""
    fn, what = STEPS[step]
    if isolate_steps(ws, dataset):
        return run_isolated(f"{__name__}:{fn.__name__}", root=str(ws.root), dataset=dataset,
                            what=what, progress=progress, **kwargs)
    return fn(str(ws.root), dataset, progress=progress, **kwargs)
