"""How honest are the app's time estimates? The background model job (``core.jobs``: text model,
recommender, refined-list inputs) on corpus files, each ingested into a fresh temp workspace;
the job's status is sampled every 0.5 s. For each long step, the estimate of the seconds left in
that step is compared with the seconds it really took, at 10%, 25%, 50% and 75% of the step's
actual duration; the same for the whole job. Prints the error in % (positive: the estimate was
too high) per file, step and point, and the median absolute error per step.

    python bench/job_eta.py [--only online_retail ...] [--file PATH ...] [--no-text]

Target (issue 13): within +-30% for each long step on the corpus files. 2-core figures are
noisy when anything else runs: say the load average with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus_first_bundles import CORPUS, SHARED  # noqa: E402
from core import jobs  # noqa: E402
from core.ingest.load import ingest  # noqa: E402
from core.workspace import Workspace  # noqa: E402

POINTS = (0.10, 0.25, 0.50, 0.75)
LONG_STEP = 10.0  # seconds: a shorter step is not "long" (its estimate is not judged)


def sample(job: jobs.ModelJob, every: float = 0.5) -> list[tuple[float, jobs.JobStatus]]:
    t0 = time.monotonic()
    seen = []
    while True:
        s = job.status()
        seen.append((time.monotonic() - t0, s))
        if s.state in jobs.FINISHED:
            return seen
        time.sleep(every)


def errors(samples: list[tuple[float, jobs.JobStatus]]) -> dict[str, dict[float, float]]:
    """{step or "job": {point: error %}} for the steps that took at least LONG_STEP seconds."""
    spans: dict[str, list[float]] = {}
    for t, s in samples:
        if s.state == jobs.RUNNING and s.step:
            spans.setdefault(s.step, [t, t])[1] = t
    end = samples[-1][0]
    out: dict[str, dict[float, float]] = {}
    names = list(spans)
    for i, step in enumerate(names):  # a step ends where the next one starts
        start = spans[step][0]
        stop = spans[names[i + 1]][0] if i + 1 < len(names) else end
        spans[step] = [start, stop]
    for step, (start, stop) in spans.items():
        took = stop - start
        if took < LONG_STEP:
            continue
        out[step] = {}
        for p in POINTS:
            at = start + p * took
            t, s = min(((t, s) for t, s in samples if t >= at and s.step == step),
                       default=(None, None), key=lambda x: x[0])
            if s is None or s.step_eta_seconds is None:
                continue
            actual = stop - t
            if actual > 1:
                out[step][p] = 100 * (s.step_eta_seconds - actual) / actual
    if end >= LONG_STEP:
        out["job"] = {}
        for p in POINTS:
            t, s = min(((t, s) for t, s in samples if t >= p * end), key=lambda x: x[0])
            if s.eta_seconds is not None and end - t > 1:
                out["job"][p] = 100 * (s.eta_seconds - (end - t)) / (end - t)
    return out


def durations(samples: list[tuple[float, jobs.JobStatus]]) -> str:
    """Each step's real seconds and the time left first shown for it (its prediction, when it
    has one), e.g. "recommender 31 s (first estimate 28 s)"; short steps included."""
    first: dict[str, tuple[float, float | None]] = {}
    for t, s in samples:
        if s.state == jobs.RUNNING and s.step and s.step not in first:
            first[s.step] = (t, s.step_eta_seconds)
    names, end = list(first), samples[-1][0]
    out = []
    for i, step in enumerate(names):
        start, eta = first[step]
        stop = first[names[i + 1]][0] if i + 1 < len(names) else end
        shown = "none" if eta is None else f"{eta:.0f} s"
        out.append(f"{step} {stop - start:.0f} s (first estimate {shown})")
    return "; ".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="corpus folder names (e.g. pharmacy_cn)")
    ap.add_argument("--file", nargs="*", default=[], help="other files")
    ap.add_argument("--no-text", action="store_true", help="recommender only")
    args = ap.parse_args()
    files = [SHARED / f for f in CORPUS if not args.only or f.split("/")[0] in args.only]
    files = (files if not args.file or args.only else []) + [Path(f) for f in args.file]
    rows, per_step = [], {}
    for path in files:
        if not path.exists():
            print(f"skipped (missing): {path}", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(prefix="bl_eta_") as tmp:
            ws = Workspace(tmp)
            name = ingest(ws, path, dataset="shop")["dataset"]
            job = jobs.start(ws, name, text=not args.no_text, cache={})
            samples = sample(job)
            final = samples[-1][1]
            errs = errors(samples)
        print(f"... {path.name}: {final.state} in {samples[-1][0]:.0f} s "
              f"{final.error or ''}; {durations(samples)}", file=sys.stderr, flush=True)
        for step, by_point in errs.items():
            rows.append((path.name, step, by_point))
            per_step.setdefault(step, []).extend(abs(v) for v in by_point.values())
    print(f"\nTime-left estimates of the background job ({os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the end); error in % of the real time left, at a share "
          "of the step's real duration\n")
    print("| file | step | " + " | ".join(f"at {p:.0%}" for p in POINTS) + " |")
    print("|---|---|" + "---:|" * len(POINTS))
    for name, step, by_point in rows:
        cells = " | ".join(f"{by_point[p]:+.0f}%" if p in by_point else "—" for p in POINTS)
        print(f"| {name} | {step} | {cells} |")
    print()
    for step, errs in per_step.items():
        if errs:
            print(f"- {step}: median absolute error {statistics.median(errs):.0f}% "
                  f"(max {max(errs):.0f}%, {len(errs)} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
