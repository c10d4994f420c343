"""Scale check (issues 6, 13, 18): a catalog of 90,000 products and ~1.5 million order lines
through the command line on this machine, step by step (``python -m core ingest``, ``mine``,
``embed`` unless --no-text, ``recommend``, ``bundles``, each its own process) and as one
``python -m core run``, with each process's wall time and peak RSS.

The data are synthetic but shaped like a shop: product names from a word grammar (families,
materials, colours), long-tail popularity, co-purchase "families" so real bundles exist,
customers with repeat purchases over 12 months, and 10% catalog products that never sold.

    python bench/scale_run.py [--products 90000] [--lines 1500000] [--no-text] [--keep DIR]
                              [--mode steps|run|both] [--runs N] [--device auto|cpu|cuda]
                              [--threads N]

It prints a table: step, seconds (median of ``--runs``), peak RSS MB (the largest over the runs,
from ``os.wait4`` of that child process alone), and the ratio of each to the baseline, the time
and peak RSS of reading the same order-lines file with ``pandas.read_csv`` (measured in the same
run). ``--keep DIR`` keeps (and reuses) the generated files there. ``mine`` runs with
``--min-support auto`` (the size-aware support ``run`` uses) unless ``--min-support`` says.

Measured (issue 18; --no-text, 1.67 M lines, shared 2-core machine at load 3-5, seconds / peak
RSS MB): before: ingest 6.4 / 713, mine (1%) 3.5 / 617, recommend 184 / 2237, bundles 94 / 1615,
run 299 / 2177; after (median of 3): ingest 4.4 / 672, mine (auto) 2.4 / 624, recommend 159 /
1587 (its 150 s training budget, now ~2x the steps in it), bundles 9.5 / 920, run 170 / 1630.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
    """(seconds, peak RSS MB of this child alone, stdout) of one command; exits when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        print(stdout[-3000:], stderr[-3000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return secs, usage.ru_maxrss / 1024, stdout  # ru_maxrss is in KiB on Linux


def steps(args, lines: Path, catalog: Path, ws: Path) -> list[tuple[str, list[str]]]:
    """(name, command) of each step, in order."""
    core = [sys.executable, "-m", "core"]
    if args.device:
        core += ["--device", args.device]
    if args.threads:
        core += ["--threads", str(args.threads)]
    common = ["--workspace", str(ws), "--json"]
    out = [("ingest", core + ["ingest", str(lines), "--catalog", str(catalog), "--dataset",
                              "scale", "--map", "item_name=Product Name"] + common),
           ("mine", core + ["mine", "--min-support", args.min_support, "--max-len", "3"]
            + common)]
    if not args.no_text:
        out.append(("embed", core + ["embed"] + common))
    out.append(("recommend", core + ["recommend", "--text", "none" if args.no_text
                                     else "finetuned"] + common))
    out.append(("bundles", core + ["bundles"] + (["--no-text"] if args.no_text else [])
                + common))
    return out


def run_command(args, lines: Path, catalog: Path, ws: Path, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "core"]
    if args.device:
        cmd += ["--device", args.device]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    cmd += ["run", str(lines), "--catalog", str(catalog), "--workspace", str(ws), "--out",
            str(out), "--json", "--map", "item_name=Product Name"]
    return cmd + (["--no-text"] if args.no_text else [])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=90_000)
    ap.add_argument("--lines", type=int, default=1_500_000)
    ap.add_argument("--no-text", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="keep (and reuse) the generated files here")
    ap.add_argument("--mode", choices=["steps", "run", "both"], default="both")
    ap.add_argument("--runs", type=int, default=1, help="runs of each step (median seconds)")
    ap.add_argument("--device", help="passed to the CLI: auto, cpu, cuda")
    ap.add_argument("--threads", type=int, help="passed to the CLI")
    ap.add_argument("--min-support", default="auto", help="of the mine step (default auto)")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bundlelab-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    lines, catalog = folder / "order_lines.csv", folder / "catalog.csv"
    stamp = folder / f"data-{args.products}-{args.lines}.ok"
    if not stamp.exists():
        t0 = time.perf_counter()
        lines, catalog = make_data(folder, args.products, args.lines)
        stamp.write_text("")
        print(f"generated in {time.perf_counter() - t0:.0f} s")
    with open(lines) as fh:
        n_lines = sum(1 for _ in fh) - 1
    print(f"data: {args.products:,} products, {n_lines:,} order lines in {folder}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows: dict[str, tuple[list[float], list[float]]] = {}

    def add(name: str, secs: float, rss: float) -> None:
        rows.setdefault(name, ([], []))
        rows[name][0].append(secs)
        rows[name][1].append(rss)

    notes = []
    for r in range(args.runs):
        secs, rss, _ = timed([sys.executable, "-c", "import pandas as pd, sys; "
                              "pd.read_csv(sys.argv[1])", str(lines)])
        add("pandas.read_csv (baseline)", secs, rss)
        if args.mode in ("steps", "both"):
            ws = folder / "ws-steps"
            shutil.rmtree(ws, ignore_errors=True)
            for name, cmd in steps(args, lines, catalog, ws):
                secs, rss, out = timed(cmd)
                add(name, secs, rss)
                if r == 0 and name in ("mine", "bundles"):
                    s = json.loads(out.strip().splitlines()[-1])
                    notes.append(f"{name}: " + json.dumps({k: s.get(k) for k in (
                        "rules", "itemsets", "min_support", "bundles", "notes") if k in s}))
            add("steps total", sum(rows[n][0][-1] for n, _ in steps(args, lines, catalog, ws)),
                max(rows[n][1][-1] for n, _ in steps(args, lines, catalog, ws)))
        if args.mode in ("run", "both"):
            ws = folder / "ws-run"
            shutil.rmtree(ws, ignore_errors=True)
            secs, rss, out = timed(run_command(args, lines, catalog, ws, folder / "bundles.csv"))
            add("core run (whole pipeline)", secs, rss)
            if r == 0:
                s = json.loads(out.strip().splitlines()[-1])
                notes.append(f"run: bundles {s['bundles']}, rules {s['rules']}, "
                             f"defaults {s.get('defaults')}, notes {s['notes']}")
    base_s = statistics.median(rows["pandas.read_csv (baseline)"][0])
    base_m = max(rows["pandas.read_csv (baseline)"][1])
    print(f"{'step':<30}{'seconds':>10}{'peak RSS MB':>13}{'x read_csv s':>14}{'x RSS':>8}")
    for name, (secs, rss) in rows.items():
        s, m = statistics.median(secs), max(rss)
        print(f"{name:<30}{s:>10.1f}{m:>13.0f}{s / base_s:>14.1f}{m / base_m:>8.1f}")
    print(f"({args.runs} run(s); seconds are medians, RSS the largest; load average now "
          f"{os.getloadavg()[0]:.1f})")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
