"""Benchmark: BundleLab's whole ingest (read + clean + store in DuckDB) against a plain
``pandas.read_csv`` of the same file (the baseline), median of N runs, each run in a fresh
subprocess so peak RSS is its own; the two alternate, so both see the same machine load.

    python bench/ingest.py [--runs 3] [--file PATH ...] [--corpus]

Default file: full UCI Online Retail. ``--corpus`` adds the other order-line files of
``../shared/datasets`` (Groceries_dataset, Superstore, the pharmacy and restaurant exports).
Prints per file the median wall and CPU seconds of each, the ratio ours / pandas and the load
average while it ran (the machine may be shared: compare runs made under similar load).

Goal (issue 13 item 6): ratio ours / pandas <= 2.0 on UCI; our peak RSS under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
DEFAULT = DATASETS / "online_retail" / "online_retail.csv.gz"
CORPUS = [DEFAULT, DATASETS / "groceries_member_date" / "Groceries_dataset.csv.gz",
          DATASETS / "superstore_us" / "orders.csv.gz", DATASETS / "pharmacy_cn" / "sales.csv.gz",
          DATASETS / "restaurant_cn" / "meal_order_detail.csv.gz"]
GOAL = 2.0

PANDAS = """
import json, resource, sys, time
import pandas as pd
t, c = time.perf_counter(), time.process_time()
df = pd.read_csv(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "rows": len(df),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from core.ingest.load import ingest
from core.workspace import Workspace
t, c = time.perf_counter(), time.process_time()
s = ingest(Workspace(sys.argv[2]), sys.argv[1], dataset="bench")
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "rows": s["rows_read"], "kept": s["rows_kept"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_file(path: Path, runs: int) -> float:
    """Print one file's table; return the ratio of the median wall times, ours / pandas."""
    results: dict[str, list[dict]] = {"pandas.read_csv": [], "bundlelab ingest": []}
    load_before = os.getloadavg()[0]
    for _ in range(runs):  # interleaved, so both see the same machine load
        results["pandas.read_csv"].append(run(PANDAS, str(path)))
        with tempfile.TemporaryDirectory() as tmp:
            results["bundlelab ingest"].append(run(OURS, str(path), tmp, str(ROOT)))
    load = (load_before + os.getloadavg()[0]) / 2
    print(f"\nfile: {path.name}  runs: {runs}  cores: {os.cpu_count()}  "
          f"load average (1 min) during the runs: ~{load:.1f}")
    print(f"{'method':<20}{'median s':>10}{'min s':>8}{'max s':>8}{'cpu s':>8}"
          f"{'peak RSS MB':>13}{'rows':>10}")
    med = {}
    for name, rs in results.items():
        secs = [r["seconds"] for r in rs]
        med[name] = statistics.median(secs)
        print(f"{name:<20}{med[name]:>10.2f}{min(secs):>8.2f}{max(secs):>8.2f}"
              f"{statistics.median(r['cpu'] for r in rs):>8.2f}"
              f"{max(r['rss_mb'] for r in rs):>13.0f}{rs[0]['rows']:>10,}")
    ratio = med["bundlelab ingest"] / med["pandas.read_csv"]
    print(f"ratio ingest / pandas.read_csv = {ratio:.2f} (goal <= {GOAL:.1f}; the ingest also "
          "cleans and stores)")
    return ratio


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", action="append", help="a file to load (repeatable; default: UCI)")
    ap.add_argument("--corpus", action="store_true",
                    help="also the other order-line files of ../shared/datasets")
    args = ap.parse_args()
    files = [Path(f) for f in args.file or []] or [DEFAULT]
    if args.corpus:
        files += [f for f in CORPUS if f not in files]
    missing = [f for f in files if not f.exists()]
    for f in missing:
        print(f"missing {f}")
    ratios = {f.name: bench_file(f, args.runs) for f in files if f.exists()}
    if len(ratios) > 1:
        print("\nratios: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    return 1 if missing and not ratios else 0


if __name__ == "__main__":
    sys.exit(main())
