"""Scale check (issue 6): a catalog of 90,000 products and 1.5 million order lines through
``python -m core run`` on this machine, with the wall time and peak RSS of the whole run.

The data are synthetic but shaped like a shop: product names from a word grammar (families,
materials, colours), long-tail popularity, co-purchase "families" so real bundles exist,
customers with repeat purchases over 12 months, and 10% catalog products that never sold.

    python bench/scale_run.py [--products 90000] [--lines 1500000] [--no-text] [--keep DIR]

It prints a table: step, seconds, peak RSS; the baseline it compares to is the time to read the
same order-lines file with pandas.read_csv (measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NOUNS = "mug cup teapot plate bowl vase candle holder lantern frame cushion blanket bag box tin " \
        "jar bottle glass tray basket clock mirror lamp garland card wrap ribbon notebook pen " \
        "spoon knife apron towel napkin coaster sign hook shelf planter pot brush".split()
ADJ = "vintage rustic modern classic retro floral spotty striped scandi french english " \
      "wooden ceramic glass enamel metal linen cotton paper bamboo velvet".split()
COLOURS = "red blue pink green white black ivory cream gold silver grey yellow".split()


def make_data(folder: Path, n_products: int, n_lines: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:06d}" for i in range(n_products)])
    noun = rng.integers(0, len(NOUNS), n_products)
    names = [f"{ADJ[a]} {COLOURS[c]} {NOUNS[n]} {k % 7 + 1}" for a, c, n, k in zip(
        rng.integers(0, len(ADJ), n_products), rng.integers(0, len(COLOURS), n_products), noun,
        range(n_products))]
    price = np.round(rng.lognormal(1.3, 0.6, n_products), 2)
    catalog = pd.DataFrame({"item_id": ids, "Product Name": names,
                            "category": [NOUNS[n] for n in noun], "price": price,
                            "cost": np.round(price * 0.55, 2)})
    cat_path = folder / "catalog.csv"
    catalog.to_csv(cat_path, index=False)
    sold = int(n_products * 0.9)  # 10% never sold: cold start
    pop = 1.0 / np.arange(1, sold + 1) ** 0.9
    pop /= pop.sum()
    n_orders = n_lines // 5
    sizes = np.clip(rng.poisson(4, n_orders) + 1, 1, 40)
    sizes = (sizes * (1.25 * n_lines / sizes.sum())).astype(int).clip(1)  # ~20% lost to repeats
    anchors = rng.choice(sold, size=n_orders, p=pop)
    family = anchors // 4 * 4  # items of a family of 4 are bought together
    pool = rng.choice(sold, size=int(sizes.sum()), p=pop)  # all extra items at once
    partner = np.minimum(sold - 1, family + rng.integers(0, 4, n_orders))
    with_partner = rng.random(n_orders) < 0.6
    starts = np.concatenate([[0], np.cumsum(sizes)])
    rows_o, rows_i = [], []
    for o in range(n_orders):
        items = {int(anchors[o])}
        if with_partner[o]:
            items.add(int(partner[o]))
        items.update(pool[starts[o]:starts[o] + max(0, sizes[o] - len(items))].tolist())
        rows_o.extend([o] * len(items))
        rows_i.extend(items)
    rows_o, rows_i = np.array(rows_o), np.array(rows_i)
    days = rng.integers(0, 365, n_orders)
    customers = rng.integers(0, 50_000, n_orders)
    lines = pd.DataFrame({
        "order_id": rows_o + 100000, "item_id": ids[rows_i],
        "quantity": rng.integers(1, 4, len(rows_o)),
        "unit_price": price[rows_i],
        "customer_id": customers[rows_o],
        "order_date": (pd.Timestamp("2025-01-01") + pd.to_timedelta(days[rows_o], unit="D")
                       ).strftime("%Y-%m-%d")})
    lines_path = folder / "order_lines.csv"
    lines.to_csv(lines_path, index=False)
    return lines_path, cat_path


def timed(cmd: list[str]) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if out.returncode != 0:
        print(out.stdout[-3000:], out.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return secs, max(rss, before) / 1024, out.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=90_000)
    ap.add_argument("--lines", type=int, default=1_500_000)
    ap.add_argument("--no-text", action="store_true")
    ap.add_argument("--keep", metavar="DIR")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bundlelab-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    lines, catalog = make_data(folder, args.products, args.lines)
    print(f"data: {args.products:,} products, {sum(1 for _ in open(lines)) - 1:,} order lines "
          f"({time.perf_counter() - t0:.0f} s to generate) in {folder}")
    base, base_rss, _ = timed([sys.executable, "-c", "import pandas as pd, sys; "
                               "pd.read_csv(sys.argv[1])", str(lines)])
    cmd = [sys.executable, "-m", "core", "run", str(lines), "--catalog", str(catalog),
           "--workspace", str(folder / "ws"), "--out", str(folder / "bundles.csv"), "--json",
           "--map", "item_name=Product Name"]
    if args.no_text:
        cmd.append("--no-text")
    secs, rss, out = timed(cmd)
    summary = json.loads(out.strip().splitlines()[-1])
    print(f"{'step':<34}{'seconds':>10}{'peak RSS MB':>14}")
    print(f"{'pandas.read_csv (baseline)':<34}{base:>10.1f}{base_rss:>14.0f}")
    print(f"{'core run (ingest..bundles..export)':<34}{secs:>10.1f}{rss:>14.0f}")
    print(f"ratio run / read_csv = {secs / base:.1f}; bundles: {summary['bundles']}, "
          f"notes: {summary['notes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
