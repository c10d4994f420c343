"""Benchmark (issue 13): are the text stage's time estimates honest, and how fast is it?

For each corpus file under ``../shared/datasets`` (and, with ``--synthetic N``, bench/scale_run.py's
shop with N products): ingest it into a temporary workspace, predict the fine-tune and encode
seconds with ``core.text.estimate.plan_text`` (what the background worker shows), then run them
(``core.text.item_vectors``: fine-tune + encode every item) and print predicted vs actual seconds,
the error %, and how far the progress fractions strayed from elapsed time (0 = linear in time).
Medians of ``--runs`` (each run trains from scratch). Target: estimates within +-30%.

    python bench/text_speed.py [--runs 3] [--only NAME ...] [--synthetic 9288] [--json FILE]
    python bench/text_speed.py --threads        # 1 vs all threads: encoding and fine-tuning

Timings on a shared machine are noisy: the load average is printed with them.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("BUNDLELAB_SHARED", ROOT.parent / "shared")) / "datasets"
CORPUS = {  # name: (file, catalog)
    "online_retail": ("online_retail/online_retail.csv.gz", None),
    "groceries_member_date": ("groceries_member_date/Groceries_dataset.csv.gz", None),
    "restaurant_cn": ("restaurant_cn/meal_order_detail.csv.gz", None),
    "pharmacy_cn": ("pharmacy_cn/sales.csv.gz", None),
    "superstore_us": ("superstore_us/orders.csv.gz", None),
    "groceries": ("groceries/groceries_long.csv.gz", None),
}


def ingest_into(ws, name: str, data: Path, catalog: Path | None, mapping: dict) -> None:
    from core.ingest.load import IngestOptions, ingest

    ingest(ws, data, catalog=catalog, dataset=name, options=IngestOptions(mapping=mapping))


def one_run(ws, name: str) -> dict:
    """Predict, then fine-tune + encode from scratch; predicted and actual seconds."""
    from core.text import item_vectors, plan_text

    shutil.rmtree(ws.models_dir / name, ignore_errors=True)  # nothing cached: train from scratch
    t = time.perf_counter()
    est = plan_text(ws, name)
    estimate_s = time.perf_counter() - t
    trace: list[tuple[float, float, str]] = []
    t0 = time.perf_counter()
    item_vectors(ws, name, progress=lambda f, m: trace.append((time.perf_counter() - t0, f, m)))
    actual = time.perf_counter() - t0
    train = [s for s, _, m in trace if m.startswith(("fine-tuning step", "loading the model"))]
    enc = [s for s, _, m in trace if m.startswith(("encoding items", "encoded "))]
    split = max(train) if train else 0.0  # training (with saving) ends as encoding starts
    meta = {}
    if est.model == "finetune":
        from core.text.finetune import encoders, read_meta

        meta = read_meta(Path(encoders(ws, name)["path"].iloc[0])) or {}
    return {"model": est.model, "why": est.why, "estimate_s": round(estimate_s, 2),
            "pred_total": est.seconds["total"], "actual_total": round(actual, 2),
            "pred_finetune": est.seconds["finetune"], "actual_finetune": round(split, 2),
            "pred_encode": est.seconds["encode"],
            "actual_encode": round(max(enc) - min(enc), 2) if enc else 0.0,
            "progress_gap": round(max((abs(f - s / actual) for s, f, _ in trace), default=0), 3),
            "pred_step": (meta.get("plan") or {}).get("step_seconds", 0.0),
            "actual_step": meta.get("step_seconds") or 0.0, "steps": meta.get("steps", 0),
            "passes_needed": _passes_needed(meta),
            "load": round(os.getloadavg()[0], 1)}


def _passes_needed(meta: dict) -> float:
    """The forward passes per step that would have predicted this run's steps 2..n exactly."""
    plan, steps, later = meta.get("plan") or {}, meta.get("steps", 0), meta.get("later_steps_seconds")
    if steps < 3 or not later or not plan.get("seconds"):
        return 0.0
    return round(meta["speed"]["step_passes"] * later / (plan["seconds"] * (steps - 1)
                                                         / plan["steps"]), 2)


def err(pred: float, actual: float) -> float:
    return 100.0 * (pred - actual) / actual if actual > 0 else 0.0


def corpus(args) -> list[dict]:
    from core.workspace import Workspace

    jobs = [(n, SHARED / f, None, {}) for n, (f, _) in CORPUS.items()
            if not args.only or n in args.only]
    tmp = tempfile.TemporaryDirectory(prefix="bench-text-")
    if args.synthetic:
        sys.path.insert(0, str(ROOT / "bench"))
        from scale_run import make_data

        folder = Path(tmp.name) / "synthetic"
        folder.mkdir()
        lines, catalog = make_data(folder, args.synthetic, args.synthetic_lines)
        jobs.append((f"synthetic_{args.synthetic}", lines, catalog,
                     {"item_name": "Product Name"}))
    rows = []
    for name, data, catalog, mapping in jobs:
        if not Path(data).exists():
            print(f"skip {name}: {data} missing")
            continue
        ws = Workspace(Path(tmp.name) / name)
        ingest_into(ws, name, Path(data), catalog, mapping)
        runs = [one_run(ws, name) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]
               if isinstance(runs[0][k], (int, float))}
        row = {"dataset": name, "items": len(ws.items(name)), "why": runs[0]["why"], **med,
               "runs": runs}
        rows.append(row)
        print(f"{name}: {row['why']}", flush=True)
    return rows


def table(rows: list[dict]) -> None:
    print(f"\n{'dataset':<24}{'items':>7}{'pred s':>8}{'actual':>8}{'err %':>7}"
          f"{'ft pred':>8}{'ft act':>8}{'err %':>7}{'enc pred':>9}{'enc act':>8}{'err %':>7}"
          f"{'prog gap':>9}{'step pred':>10}{'step act':>9}{'passes':>7}")
    for r in rows:
        print(f"{r['dataset']:<24}{r['items']:>7,}{r['pred_total']:>8.1f}{r['actual_total']:>8.1f}"
              f"{err(r['pred_total'], r['actual_total']):>7.0f}{r['pred_finetune']:>8.1f}"
              f"{r['actual_finetune']:>8.1f}{err(r['pred_finetune'], r['actual_finetune']):>7.0f}"
              f"{r['pred_encode']:>9.1f}{r['actual_encode']:>8.1f}"
              f"{err(r['pred_encode'], r['actual_encode']):>7.0f}{r['progress_gap']:>9.2f}"
              f"{r['pred_step']:>10.2f}{r['actual_step']:>9.2f}{r['passes_needed']:>7.2f}")
    worst = max((abs(err(r["pred_total"], r["actual_total"])) for r in rows), default=0)
    print(f"\nworst total error {worst:.0f}% (target <= 30%); medians of the runs")


THREADS_CHILD = """
import json, sys, time, tempfile
from pathlib import Path
import torch
from core.baskets import build_baskets
from core.text import FinetuneParams, item_texts
from core.text.encoder import base_model_dir, encode_texts, load_model
from core.text.pairs import mine_pairs
from core.text.trainer import train_encoder
from core.workspace import Workspace
ws = Workspace(sys.argv[1]); items = ws.items("d")
texts = item_texts(items).tolist()[:2000]
m = load_model(); encode_texts(m, texts[:128])
t = time.perf_counter(); encode_texts(m, texts); enc = time.perf_counter() - t
b = build_baskets(ws.lines("d"), item_ids=items["item_id"].astype(str).tolist())
pairs = mine_pairs(b, item_texts(items), names=item_texts(items, with_category=False))
p = FinetuneParams(epochs=1, max_pairs=20 * 64, seconds=1e9)
with tempfile.TemporaryDirectory() as d:
    stats, _ = train_encoder(base_model_dir(), pairs.head(20 * 64), Path(d), params=p)
print(json.dumps({"encode_s": enc, "train_s": stats["train_seconds"], "steps": stats["steps"]}))
"""


def threads_check(args) -> None:
    """Encoding 2,000 UCI item names and 20 fine-tuning steps, each thread setting in its own
    process (OpenMP reads its wait policy at start-up), interleaved, medians of ``--runs``."""
    from core.device import cpu_cores
    from core.workspace import Workspace

    tmp = tempfile.TemporaryDirectory(prefix="bench-threads-")
    ingest_into(Workspace(tmp.name), "d", SHARED / CORPUS["online_retail"][0], None, {})
    configs = sorted({1, cpu_cores()})
    policies = ["PASSIVE", "ACTIVE"] if args.policies else ["PASSIVE"]
    res: dict[tuple, list[dict]] = {}
    for _ in range(args.runs):
        for n in configs:
            for policy in policies:
                env = {**os.environ, "BUNDLELAB_THREADS": str(n), "OMP_WAIT_POLICY": policy,
                       "PYTHONPATH": str(ROOT)}
                out = subprocess.run([sys.executable, "-c", THREADS_CHILD, tmp.name], env=env,
                                     capture_output=True, text=True, check=True, cwd=ROOT)
                res.setdefault((n, policy), []).append(json.loads(out.stdout.splitlines()[-1]))
    load = os.getloadavg()
    print(f"machine: {cpu_cores()} cores, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")
    print(f"{'threads':>8}{'OpenMP':>9}{'encode 2,000 s':>16}{'20 steps s':>12}   runs")
    for (n, policy), rs in res.items():
        e = statistics.median(r["encode_s"] for r in rs)
        t = statistics.median(r["train_s"] for r in rs)
        print(f"{n:>8}{policy:>9}{e:>16.2f}{t:>12.2f}   "
              + ", ".join(f"{r['encode_s']:.1f}/{r['train_s']:.1f}" for r in rs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="corpus names (default: all)")
    ap.add_argument("--synthetic", type=int, default=0, metavar="N",
                    help="also bench/scale_run.py's shop with N products")
    ap.add_argument("--synthetic-lines", type=int, default=32_000)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--threads", action="store_true", help="compare 1 thread with all cores")
    ap.add_argument("--policies", action="store_true",
                    help="with --threads: also OpenMP's spinning (ACTIVE) wait policy")
    args = ap.parse_args()
    if args.threads:
        threads_check(args)
        return 0
    rows = corpus(args)
    load = os.getloadavg()
    from core.device import describe

    print(f"\nmachine: {describe()}, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} "
          "(shared: timings are noisy)")
    table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
