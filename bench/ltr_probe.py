"""Issue 14, item 2, probed: does a score *learned* per shop (a small learning-to-rank model over
candidate features) choose better bundles than the rule strength the defaults use?

For each dataset: the evaluation's split (last ~20% of orders held out), and inside the training
orders the weights' fit split (their last ~20% are the validation orders). Candidates are built
on the fit orders (co-purchase evidence only: no text model, no recommender, so the probe is
fast and isolates the scoring). Each candidate's features: log orders together, confidence,
all-confidence, lift, size, the log order counts of its least and most sold items, and the
share of its orders in the last quarter of the fit period (recency). Its label: the validation
orders holding 2+ of its items. A gradient-boosted Poisson regression
(``sklearn.ensemble.HistGradientBoostingRegressor``) learns label from features.

Then on all training orders: candidates and features again, the model's predicted hits as the
score (percentile), the same greedy coverage selection as the bundles (``core.bundles.build``),
and the hit rate on the held-out orders, next to the default score (rule strength). Also on the
validation orders themselves (the model scored on what it was fitted for: an upper bound).

    python bench/ltr_probe.py --workspace-root /tmp/corpus [--only NAME ...] [--top 50]

Workspaces as ``bench/corpus_eval.py`` keeps them (one per dataset). Prints one table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def features(c, inp) -> np.ndarray:
    """Per candidate: log orders, confidence, all-confidence, lift, size, log min/max item
    order counts, recency share of its orders (last quarter of the period)."""
    from core.bundles.candidates import coverage_matrix

    counts = inp.baskets.item_counts().astype(float)
    lo = np.array([np.log1p(counts[list(s)].min()) for s in c.sets])
    hi = np.array([np.log1p(counts[list(s)].max()) for s in c.sets])
    size = np.array([len(s) for s in c.sets], dtype=float)
    recent = np.zeros(len(c))
    if inp.order_time is not None:
        t = np.asarray(inp.order_time).astype("datetime64[s]").astype(float)
        late = t >= np.quantile(t, 0.75)
        cover = coverage_matrix(inp.baskets.matrix.tocsc(), c.sets).tocsc()
        total = np.asarray(cover.sum(axis=0)).ravel()
        recent = np.asarray(cover[late].sum(axis=0)).ravel() / np.maximum(total, 1)
    return np.column_stack([np.log1p(c.orders), c.confidence, c.all_confidence,
                            np.log1p(c.lift), size, lo, hi, recent])


def candidates(inp, p):
    from core.bundles.build import filter_candidates
    from core.bundles.candidates import build_candidates

    b = inp.baskets
    mo = p.resolved_min_orders(b.n_orders, b.item_counts())
    c = build_candidates(inp, min_orders=mo, max_size=p.max_size, text_neighbours=0,
                         cold_max_orders=0, pool_size=p.pool_size,
                         variant_similarity=p.variant_similarity, use_text=False,
                         use_rules=True, use_rec=False)
    return c.subset(filter_candidates(c, inp, p, mo))


def hit_rate(inp, c, score, p, test_orders) -> float:
    from core.bundles.fit import order_hits, validation_matrix
    from core.bundles.select import select
    from core.bundles.candidates import coverage_matrix

    b = inp.baskets
    cover = coverage_matrix(b.matrix.tocsc(), c.sets)
    picks, _ = select(c, score, np.ones(len(c), dtype=bool), p, cover, None, b.item_counts(),
                      b.n_orders, inp.order_time)
    val = validation_matrix(test_orders, b.item_ids)
    return float(order_hits(val, [c.sets[i] for i in picks]).mean())


def run(ws, name: str, top: int, seed: int = 0) -> dict:
    from sklearn.ensemble import HistGradientBoostingRegressor

    from core.baskets import order_sets, temporal_split
    from core.bundles.fit import validation_matrix
    from core.bundles.params import BundleParams
    from core.bundles.select import percentile, strategy_scores
    from core.bundles.service import dataset_inputs

    p = replace(BundleParams(top=top, text=False), strategy="rules")
    outer = temporal_split(ws.lines(name))
    inner = temporal_split(outer.train)
    fit_inp, _ = dataset_inputs(ws, name, text=False, holdout=inner, recommender=False)
    c_fit = candidates(fit_inp, p)
    val = validation_matrix(list(order_sets(inner.test)), fit_inp.baskets.item_ids)
    m = val.tocsc().astype(np.int32)
    y = np.array([int(((m[:, list(s)].sum(axis=1)) >= 2).sum()) for s in c_fit.sets])
    x_fit = features(c_fit, fit_inp)
    model = HistGradientBoostingRegressor(loss="poisson", max_iter=200, learning_rate=0.05,
                                          random_state=seed).fit(x_fit, y)
    rules_fit, _ = strategy_scores(c_fit, "rules", strength=p.strength, w_rules=1, w_text=0,
                                   w_rec=0)
    val_orders = list(order_sets(inner.test))
    out = {"candidates_fit": len(c_fit), "validation_orders": len(val_orders),
           "val_rules": hit_rate(fit_inp, c_fit, rules_fit, p, val_orders),
           "val_ltr": hit_rate(fit_inp, c_fit, percentile(model.predict(x_fit)), p, val_orders)}
    inp, _ = dataset_inputs(ws, name, text=False, holdout=outer, recommender=False)
    c = candidates(inp, p)
    test_orders = list(order_sets(outer.test))
    rules, _ = strategy_scores(c, "rules", strength=p.strength, w_rules=1, w_text=0, w_rec=0)
    ltr = percentile(model.predict(features(c, inp)))
    out.update(candidates=len(c), test_orders=len(test_orders),
               test_rules=hit_rate(inp, c, rules, p, test_orders),
               test_ltr=hit_rate(inp, c, ltr, p, test_orders),
               test_mix=hit_rate(inp, c, (rules + ltr) / 2, p, test_orders))
    return out


def main(argv: list[str] | None = None) -> int:
    from core.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace-root", type=Path, required=True)
    ap.add_argument("--only", nargs="+", default=None)
    ap.add_argument("--top", type=int, default=50)
    args = ap.parse_args(argv)
    print("| dataset | validation: rules | validation: learned | test: rules | test: learned "
          "| test: half and half | candidates | test orders |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for d in sorted(p for p in args.workspace_root.iterdir() if p.is_dir()):
        if args.only and not any(o in d.name for o in args.only):
            continue
        try:
            r = run(Workspace(d), d.name, args.top)
        except Exception as exc:  # a dataset that cannot be split: say so, go on
            print(f"| {d.name} | failed: {type(exc).__name__}: {str(exc)[:80]} |")
            continue
        print(f"| {d.name} | {r['val_rules']:.4f} | {r['val_ltr']:.4f} | {r['test_rules']:.4f} "
              f"| {r['test_ltr']:.4f} | {r['test_mix']:.4f} | {r['candidates']:,} "
              f"| {r['test_orders']:,} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
