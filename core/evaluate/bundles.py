"""Bundle evaluation on the held-out period (docs/ARCHITECTURE.md §6, the ``bundles`` block of §7).

Metric functions are pure: ``bundle_metrics(test_orders, bundles, cold_items, revenue)`` with
``test_orders`` a list of item-id sets. Definitions:
- ``hit_rate``: share of test orders with >= 2 items that hold >= 2 items of at least one bundle;
- ``attach_rate``: mean over bundles of P(order holds >= 2 of its items | holds >= 1) (a bundle
  no test order touches counts 0);
- ``coverage_orders``: share of test orders holding at least one bundle item (reach);
- ``coverage_revenue``: share of test revenue in those orders;
- ``coverage_items``: share of the distinct items sold in the test period that are in a bundle;
- ``cold_hit_rate``: among test orders holding a cold-start item that some bundle contains, the
  share where such a bundle has at least one other item in the order (0 when no bundle holds a
  cold item).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np

from core.bundles.params import STRATEGIES, BundleParams
from core.bundles.service import build_for_dataset, dataset_inputs
from core.progress import report, sub_progress


def bundle_metrics(test_orders: Sequence[set], bundles: Sequence[Iterable[str]],
                   cold_items: set | None = None,
                   revenue: Sequence[float] | None = None) -> dict[str, float]:
    bsets = [set(b) for b in bundles]
    in_bundle = set().union(*bsets) if bsets else set()
    cold_items = cold_items or set()
    cold_bundles = {c: [b for b in bsets if c in b] for c in cold_items & in_bundle}
    multi = hits = reach = cold_n = cold_hit = 0
    rev_total = rev_reach = 0.0
    touched = np.zeros(len(bsets))
    attached = np.zeros(len(bsets))
    sold: set = set()
    for k, order in enumerate(test_orders):
        sold |= order
        r = float(revenue[k]) if revenue is not None else 0.0
        rev_total += r
        overlaps = [len(order & b) for b in bsets]
        if any(overlaps):
            reach += 1
            rev_reach += r
        for j, o in enumerate(overlaps):
            if o >= 1:
                touched[j] += 1
                if o >= 2:
                    attached[j] += 1
        if len(order) >= 2:
            multi += 1
            if any(o >= 2 for o in overlaps):
                hits += 1
        held_cold = [c for c in order if c in cold_bundles]
        if held_cold:
            cold_n += 1
            if any(len(order & (b - {c})) >= 1 for c in held_cold for b in cold_bundles[c]):
                cold_hit += 1
    n = len(test_orders)
    with np.errstate(invalid="ignore", divide="ignore"):
        attach = np.where(touched > 0, attached / np.maximum(touched, 1), 0.0)
    return {
        "hit_rate": hits / multi if multi else 0.0,
        "attach_rate": float(attach.mean()) if len(bsets) else 0.0,
        "coverage_orders": reach / n if n else 0.0,
        "coverage_revenue": rev_reach / rev_total if rev_total > 0 else 0.0,
        "coverage_items": len(sold & in_bundle) / len(sold) if sold else 0.0,
        "cold_hit_rate": cold_hit / cold_n if cold_n else 0.0,
        "cold_orders": cold_n,
    }


def bundles_block(ctx, progress=None) -> dict:
    """Rules only, similarity only and hybrid, each a list of ``ctx.top`` bundles built on the
    training orders only (through the bundle service, on inputs gathered once), scored on the
    test orders."""
    from core.baskets import order_table

    test = ctx.split.test
    opts = ctx.options
    base = opts.get("bundle_params") or BundleParams()
    cache: dict = {}
    same = {"holdout": ctx.split, "finetune_params": opts.get("finetune_params"),
            "model": opts.get("model"), "cache": cache}
    inp, _ = dataset_inputs(ctx.ws, ctx.dataset, text=base.text,
                            progress=sub_progress(progress, 0.0, 0.6), **same)
    counts = dict(zip(inp.baskets.item_ids, inp.baskets.item_counts()))
    cold = {i for i, c in counts.items() if c == 0}
    orders = test.groupby("order_id", sort=False)["item_id"].agg(lambda s: set(map(str, s)))
    rev = order_table(test).set_index("order_id")["revenue"].reindex(orders.index).to_numpy()
    out: dict[str, dict] = {}
    for i, strategy in enumerate(STRATEGIES):
        report(progress, 0.6 + 0.4 * i / 3, f"bundles: {strategy}")
        if strategy == "similarity" and inp.vectors is None:
            continue
        res = build_for_dataset(ctx.ws, ctx.dataset, replace(base, strategy=strategy, top=ctx.top),
                                record=False, save=False, **same)
        m = bundle_metrics(list(orders), res.bundles["items"].tolist(), cold, rev)
        m["bundles"] = len(res.bundles)
        out[strategy] = m
    report(progress, 1.0, "bundles scored")
    return out
