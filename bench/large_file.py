"""A 200 MB order-lines file through ``python -m core ingest`` (streamed by DuckDB, bounded
memory): wall time and peak RSS, against ``pandas.read_csv`` of the same file (the baseline,
measured in the same run). The file is UCI Online Retail repeated with shifted invoice numbers
until it passes the target size.

    python bench/large_file.py [--mb 200]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def make_file(path: Path, mb: int) -> int:
    with gzip.open(SOURCE, "rt", encoding="utf-8") as fh:
        header, *rows = fh.read().splitlines()
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(header + "\n")
        copy = 0
        while out.tell() < mb * 1024 * 1024:
            prefix = f"{copy}"
            for r in rows:  # a new invoice number space per copy keeps orders distinct
                out.write((r[0] + prefix + r[1:] if r[0] == "C" else prefix + r) + "\n")
                n += 1
            copy += 1
    return n


def run(cmd: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200)
    args = ap.parse_args()
    if not SOURCE.exists():
        print(f"missing {SOURCE}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "big_orders.csv"
        rows = make_file(f, args.mb)
        size = f.stat().st_size / 1024 / 1024
        ours, ours_rss = run([sys.executable, "-m", "core", "ingest", str(f), "--workspace",
                              str(Path(tmp) / "ws"), "--json"])
        base, base_rss = run([sys.executable, "-c", "import pandas as pd, sys; "
                              "pd.read_csv(sys.argv[1], dtype=str)", str(f)])
    print(f"file: {size:.0f} MB, {rows:,} rows; 2 cores")
    print(f"{'method':<22}{'seconds':>9}{'peak RSS MB (max so far)':>26}")
    print(f"{'core ingest (CLI)':<22}{ours:>9.1f}{ours_rss:>26.0f}")
    print(f"{'pandas.read_csv':<22}{base:>9.1f}{base_rss:>26.0f}")
    print(f"ratio ingest / read_csv = {ours / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
