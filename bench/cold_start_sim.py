"""New products, simulated (issue 15): how well does each text model place items it has never
seen sold? The corpus has almost no real new items in its test periods (restaurant_cn: 1 query,
pharmacy_cn: none), so ``cold_recall@10`` of the evaluation cannot tell the encoders apart there.

For each dataset and seed: the held-out split of the evaluation (``core.baskets.temporal_split``,
the last ~20% of orders), then ``--share`` of the items sold in the training period (drawn with
the seed) are made *new*: their lines are removed from the training orders, so neither
fine-tuning nor co-occurrence sees them. Each encoder (MiniLM and multilingual, base and
fine-tuned on the remaining training orders) is scored on the test orders: ``new_recall@10`` is
the recall@10 of those items' text neighbours among their test order's other items
(``core.evaluate.embeddings.neighbour_metrics``), ``recall@10`` over all items.

    python bench/cold_start_sim.py --workspace-root /tmp/corpus --only restaurant_cn pharmacy_cn

Workspaces are those of ``bench/corpus_eval.py`` (one per dataset under ``--workspace-root``;
ingested there when missing). Prints one table; ``--json`` keeps the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENCODERS = ("minilm", "multilingual")


def run(ws, name: str, seed: int, share: float) -> dict:
    from core.baskets import build_baskets, temporal_split
    from core.evaluate.embeddings import embedding_positions, neighbour_metrics
    from core.text import item_vectors
    from core.text.finetune import default_params

    lines = ws.lines(name, columns=["order_id", "item_id", "timestamp"])
    split = temporal_split(lines)
    items = ws.items(name)["item_id"].astype(str).tolist()
    sold = sorted(split.train["item_id"].astype(str).unique())
    rng = np.random.default_rng(seed)
    new = set(rng.choice(sold, size=max(1, int(round(share * len(sold)))), replace=False))
    train = split.train[~split.train["item_id"].astype(str).isin(new)]
    test = build_baskets(split.test, item_ids=items)
    cold = np.array([i in new for i in items])
    params = replace(default_params(), seed=seed)
    tag = f"coldsim-{seed}-{len(new)}-{train['order_id'].nunique()}"
    out = {"new_items": len(new), "train_orders": int(train["order_id"].nunique())}
    for enc in ENCODERS:
        for finetuned in (False, True):
            t0 = time.perf_counter()
            kw = {"train_lines": train, "train_tag": tag} if finetuned else {}
            ids, vecs = item_vectors(ws, name, finetuned=finetuned, model=enc, params=params,
                                     **kw)
            at = {i: n for n, i in enumerate(ids.tolist())}
            vecs = vecs[[at[i] for i in items]]
            m = neighbour_metrics(test, embedding_positions(vecs), cold=cold)
            out[f"{enc}_{'finetuned' if finetuned else 'base'}"] = {
                "recall@10": m["recall@10"], "new_recall@10": m["cold_recall@10"],
                "new_queries": m["cold_queries"], "seconds": round(time.perf_counter() - t0, 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.corpus_eval import CORPUS, dataset_name, ingest
    from core.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace-root", type=Path, required=True)
    ap.add_argument("--only", nargs="+", default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--share", type=float, default=0.2, help="share of sold items made new")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    results = {}
    for rel in CORPUS:
        name = dataset_name(rel)
        if args.only and not any(o in name for o in args.only):
            continue
        ingest(rel, name, args.workspace_root)
        ws = Workspace(args.workspace_root / name)
        results[name] = [run(ws, name, seed, args.share) for seed in args.seeds]
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(f"Simulated new items ({args.share:.0%} of the items sold before the cut), seeds "
          f"{' '.join(map(str, args.seeds))}; mean over seeds ± spread (max - min)\n")
    print("| dataset | model | recall@10 | new_recall@10 | new queries |")
    print("|---|---|--:|--:|--:|")
    for name, runs in results.items():
        for key in [f"{e}_{k}" for e in ENCODERS for k in ("base", "finetuned")]:
            cells = []
            for metric in ("recall@10", "new_recall@10"):
                vals = [r[key][metric] for r in runs if r[key][metric] is not None]
                cells.append(f"{np.mean(vals):.3f} ± {np.ptp(vals):.3f}" if vals else "-")
            q = int(np.mean([r[key]["new_queries"] for r in runs]))
            print(f"| {name} | {key} | {cells[0]} | {cells[1]} | {q:,} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
