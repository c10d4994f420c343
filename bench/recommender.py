"""Benchmark: the next-basket recommenders on UCI Online Retail (DESIGN §6 protocol).

1. Held-out comparison at --cut (default 2011-09-01): every method trained on orders before the
   cut, scored on each returning customer's first order from the cut on. The neural model runs
   with --seeds seeds (median and each seed reported); the cheap baselines are deterministic.
   Variants are listed too: gp_topfreq with item-id ties and item-KNN with binary user weights
   (closest to the issue's independent reference run), and gp_topfreq with popularity ties (no
   recency: the strongest simple variant found here).
2. Training time of the neural model on ALL orders (production use), median of --repeats runs.
3. ``--threads 1,2``: that training time with each number of torch threads (interleaved runs,
   median seconds and seconds per epoch), which chose the default (``NeuralRecommender``'s
   ``threads``); ``--only-threads`` skips 1 and 2.

Numbers on a shared 2-core machine are noisy: the script prints medians and the machine's load.

    .venv/bin/python bench/recommender.py [--text base|finetuned|none] [--seeds 3] [--repeats 3]
                                          [--threads 1,2] [--only-threads]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = Path(os.environ.get("BUNDLELAB_SHARED", ROOT.parent / "shared")) / "datasets" / \
    "online_retail" / "online_retail.csv.gz"
REFERENCE = {"popularity": (0.082, 0.035), "gp_topfreq": (0.261, 0.148),
             "item_knn": (0.229, 0.133), "ease": (0.217, 0.112)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cut", default="2011-09-01")
    ap.add_argument("--text", choices=["base", "finetuned", "none"], default="base")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workspace", help="workspace holding an ingested 'online_retail' dataset "
                    "(default: a temporary one, ingested here)")
    ap.add_argument("--threads", help="compare training time at these torch thread counts, "
                    "e.g. 1,2")
    ap.add_argument("--only-threads", action="store_true", help="only the thread comparison")
    args = ap.parse_args()

    from core.baskets import temporal_split
    from core.evaluate.recommender import evaluate_recommenders
    from core.ingest.load import ingest
    from core.recommend import build_history, item_index_for, make_recommender
    from core.recommend.store import text_vectors_for
    from core.workspace import Workspace

    ws = Workspace(args.workspace or tempfile.mkdtemp(prefix="bench-rec-"))
    if "online_retail" not in ws.datasets()["name"].tolist():
        ingest(ws, DATA, dataset="online_retail")
    lines, items = ws.lines("online_retail"), ws.items("online_retail")
    if args.only_threads:
        full = build_history(lines, item_ids=item_index_for(lines, items))
        vec, _ = text_vectors_for(ws, "online_retail", full.item_ids, source=args.text)
        return thread_timing(full, vec, args.threads or "1,2", args.repeats)
    split = temporal_split(lines, args.cut)
    history = build_history(split.train, item_ids=item_index_for(split.train, items))
    t0 = time.perf_counter()
    vectors, used = text_vectors_for(ws, "online_retail", history.item_ids, cut=split.cut,
                                     source=args.text)
    text_s = time.perf_counter() - t0
    print(f"# cut {args.cut}: {history.n_customers:,} customers, {history.n_orders:,} train "
          f"orders, {history.n_items:,} items; text vectors: {used} ({text_s:.0f} s); "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

    models = {"popularity": make_recommender("popularity"),
              "gp_topfreq": make_recommender("gp_topfreq"),
              "item_knn": make_recommender("item_knn"),
              "ease": make_recommender("ease", l2=200.0),
              "gp_topfreq (item-id ties)": make_recommender("gp_topfreq", tie_break="recency_id"),
              "gp_topfreq (popularity ties)": make_recommender("gp_topfreq",
                                                               tie_break="popularity"),
              "item_knn (binary users)": make_recommender("item_knn", weighting="binary")}
    for seed in range(args.seeds):
        models[f"neural seed {seed}"] = make_recommender("neural", seed=seed)
    res = evaluate_recommenders(history, split.test, models, item_text_vectors=vectors)
    neural = [res[f"neural seed {s}"] for s in range(args.seeds)]
    med = {k: statistics.median(r[k] for r in neural) for k in
           ("ndcg@10", "recall@10", "hit@10", "repeat_hits", "explore_hits", "fit_seconds")}
    res["neural (median)"] = {**med, "customers": neural[0]["customers"]}

    best_base = max(("popularity", "gp_topfreq", "item_knn", "ease"),
                    key=lambda m: res[m]["ndcg@10"])
    print("\n| method | NDCG@10 | Recall@10 | Hit@10 | repeat hits | explore hits | fit s | "
          "reference NDCG/Recall |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in res.items():
        ref = REFERENCE.get(name)
        ref_s = f"{ref[0]:.3f} / {ref[1]:.3f}" if ref else ""
        print(f"| {name} | {m['ndcg@10']:.4f} | {m['recall@10']:.4f} | {m['hit@10']:.4f} | "
              f"{m['repeat_hits']} | {m['explore_hits']} | {m['fit_seconds']:.1f} | {ref_s} |")
    b = res[best_base]
    print(f"\nneural (median of {args.seeds} seeds) vs best baseline ({best_base}): NDCG@10 "
          f"x{med['ndcg@10'] / b['ndcg@10']:.3f} ({med['ndcg@10'] - b['ndcg@10']:+.4f}), "
          f"Recall@10 x{med['recall@10'] / b['recall@10']:.3f} "
          f"({med['recall@10'] - b['recall@10']:+.4f}), explore hits {med['explore_hits']:.0f} vs "
          f"gp_topfreq {res['gp_topfreq']['explore_hits']}", flush=True)

    # training time on all orders (production), median of --repeats
    full = build_history(lines, item_ids=item_index_for(lines, items))
    full_vec, _ = text_vectors_for(ws, "online_retail", full.item_ids, source="base"
                                   if args.text == "finetuned" else args.text)
    times, gp_times = [], []
    for r in range(args.repeats):
        t = time.perf_counter()
        make_recommender("gp_topfreq").fit(full)
        gp_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        m = make_recommender("neural", seed=r).fit(full, item_text_vectors=full_vec)
        times.append(time.perf_counter() - t)
        print(f"full-data neural fit {r + 1}: {times[-1]:.1f} s, {m.epochs_run_} epochs, "
              f"val NDCG@10 {m.val_ndcg_:.4f}, load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\nneural training on all {full.n_orders:,} customer orders ({full.n_customers:,} "
          f"customers, {full.n_items:,} items), 1 torch thread: median {statistics.median(times):.1f}"
          f" s of {args.repeats} (gp_topfreq fit: {statistics.median(gp_times):.2f} s)")
    print(json.dumps({"cut": args.cut, "text": used, "comparison": res,
                      "train_seconds_all_orders": times}, default=float))
    if args.threads:
        thread_timing(full, full_vec, args.threads, args.repeats)


def thread_timing(history, vectors, threads: str, repeats: int) -> None:
    """Neural training on ``history`` with each number of torch threads in ``threads`` ("1,2"),
    runs interleaved (the machine's load drifts), seeds 0..repeats-1: median seconds and
    seconds per epoch (epochs can differ: reductions over more threads round differently)."""
    from core.recommend import make_recommender

    counts = [int(t) for t in threads.split(",")]
    runs: dict[int, list[tuple[float, int, float]]] = {t: [] for t in counts}
    for r in range(repeats):
        for t in counts:
            t0 = time.perf_counter()
            m = make_recommender("neural", seed=r, threads=t).fit(
                history, item_text_vectors=vectors)
            secs = time.perf_counter() - t0
            runs[t].append((secs, m.epochs_run_, m.val_ndcg_))
            print(f"threads {t} seed {r}: {secs:.1f} s, {m.epochs_run_} epochs, val NDCG@10 "
                  f"{m.val_ndcg_:.4f}, load {os.getloadavg()[0]:.1f}", flush=True)
    for t, rs in runs.items():
        print(f"threads {t}: median {statistics.median(s for s, _, _ in rs):.1f} s, "
              f"{statistics.median(s / e for s, e, _ in rs):.2f} s/epoch, val NDCG@10 "
              f"{statistics.median(v for _, _, v in rs):.4f} ({len(rs)} runs)")


if __name__ == "__main__":
    main()
