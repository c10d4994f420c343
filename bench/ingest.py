"""Benchmark: BundleLab's whole ingest (read + clean + store in DuckDB) of full UCI Online Retail
against a plain ``pandas.read_csv`` of the same file (the baseline), median of N runs, each run
in a fresh subprocess so peak RSS is its own.

    python bench/ingest.py [--runs 3] [--file PATH]

Goal (issue 2): ratio ours / pandas <= 1.0 and our peak RSS under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"

PANDAS = """
import json, resource, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
s = time.perf_counter() - t
print(json.dumps({"seconds": s, "rows": len(df),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from core.ingest.load import ingest
from core.workspace import Workspace
t = time.perf_counter()
s = ingest(Workspace(sys.argv[2]), sys.argv[1], dataset="bench")
sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "rows": s["rows_read"], "kept": s["rows_kept"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", default=str(DEFAULT))
    args = ap.parse_args()
    if not Path(args.file).exists():
        print(f"missing {args.file}")
        return 1
    results: dict[str, list[dict]] = {"pandas.read_csv": [], "bundlelab ingest": []}
    for i in range(args.runs):  # interleaved, so both see the same machine load
        results["pandas.read_csv"].append(run(PANDAS, args.file))
        with tempfile.TemporaryDirectory() as tmp:
            results["bundlelab ingest"].append(run(OURS, args.file, tmp, str(ROOT)))
    print(f"file: {args.file}  runs: {args.runs}  cores: {__import__('os').cpu_count()}")
    print(f"{'method':<20}{'median s':>10}{'min s':>8}{'max s':>8}{'peak RSS MB':>13}{'rows':>10}")
    med = {}
    for name, rs in results.items():
        secs = [r["seconds"] for r in rs]
        med[name] = statistics.median(secs)
        print(f"{name:<20}{med[name]:>10.2f}{min(secs):>8.2f}{max(secs):>8.2f}"
              f"{max(r['rss_mb'] for r in rs):>13.0f}{rs[0]['rows']:>10,}")
    ratio = med["bundlelab ingest"] / med["pandas.read_csv"]
    print(f"ratio ingest / pandas.read_csv = {ratio:.2f} (goal <= 1.00; the ingest also cleans "
          "and stores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
