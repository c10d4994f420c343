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
  cold item);
- ``tail_hit_rate`` / ``tail_orders``: the same for long-tail items (``tail_items``: items in
  1..TAIL_ORDERS-1 training orders), and ``tail_items_bundled``: how many of them are in a bundle;
- ``independent_attach_rate``: the attach rate the same bundles would have if their items were
  bought independently, each with its share of test orders (per bundle P(>= 2 items) / P(>= 1),
  averaged like ``attach_rate``);
- ``attach_uplift`` (docs/DESIGN §6): per bundle, its attach rate divided by the independent
  one, averaged over the bundles with at least two items sold in the test period (for the others
  chance gives 0): how many times more often the items are taken together than their popularity
  alone explains (1 = no more than chance). A list of best sellers that merely meet often scores
  near 1; a bundle of two items each sold once, in the same order, scores about the number of
  test orders, so a few rare bundles can lift the mean (read it with ``attach_rate``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np

from core.bundles.params import STRATEGIES, BundleParams
from core.bundles.select import independent_attach
from core.bundles.service import build_for_dataset, dataset_inputs
from core.progress import report, sub_progress


# items bought in fewer training orders than this (but at least one) are the long tail
TAIL_ORDERS = 5


def _item_hits(order: set, held: list, bundles_of: dict) -> bool:
    """Whether a bundle holding one of the ``held`` items has another of its items in ``order``."""
    return any(len(order & (b - {c})) >= 1 for c in held for b in bundles_of[c])


def bundle_metrics(test_orders: Sequence[set], bundles: Sequence[Iterable[str]],
                   cold_items: set | None = None,
                   revenue: Sequence[float] | None = None,
                   tail_items: set | None = None) -> dict[str, float]:
    bsets = [set(b) for b in bundles]
    in_bundle = set().union(*bsets) if bsets else set()
    cold_bundles = {c: [b for b in bsets if c in b] for c in (cold_items or set()) & in_bundle}
    tail_bundles = {c: [b for b in bsets if c in b] for c in (tail_items or set()) & in_bundle}
    multi = hits = reach = cold_n = cold_hit = tail_n = tail_hit = 0
    rev_total = rev_reach = 0.0
    touched = np.zeros(len(bsets))
    attached = np.zeros(len(bsets))
    sold: dict = {}
    for k, order in enumerate(test_orders):
        for i in order:
            sold[i] = sold.get(i, 0) + 1
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
            cold_hit += _item_hits(order, held_cold, cold_bundles)
        held_tail = [c for c in order if c in tail_bundles]
        if held_tail:
            tail_n += 1
            tail_hit += _item_hits(order, held_tail, tail_bundles)
    n = len(test_orders)
    with np.errstate(invalid="ignore", divide="ignore"):
        attach = np.where(touched > 0, attached / np.maximum(touched, 1), 0.0)
    share = {i: c / n for i, c in sold.items()} if n else {}
    independent = np.array([independent_attach([share.get(i, 0.0) for i in b]) for b in bsets])
    attach_rate = float(attach.mean()) if len(bsets) else 0.0
    indep_rate = float(independent.mean()) if len(bsets) else 0.0
    seen = independent > 0  # >= 2 of its items sold in the test period
    uplift = float((attach[seen] / independent[seen]).mean()) if seen.any() else 0.0
    return {
        "hit_rate": hits / multi if multi else 0.0,
        "attach_rate": attach_rate,
        "independent_attach_rate": indep_rate,
        "attach_uplift": uplift,
        "coverage_orders": reach / n if n else 0.0,
        "coverage_revenue": rev_reach / rev_total if rev_total > 0 else 0.0,
        "coverage_items": len(set(sold) & in_bundle) / len(sold) if sold else 0.0,
        "cold_hit_rate": cold_hit / cold_n if cold_n else 0.0,
        "cold_orders": cold_n,
        "tail_hit_rate": tail_hit / tail_n if tail_n else 0.0,
        "tail_orders": tail_n,
        "tail_items_bundled": len(tail_bundles),
    }


def _recommender(ctx, cut, method: dict | None = None, progress=None) -> dict | None:
    """Train (or reuse) the recommender on the orders before ``cut`` (``method``: its method
    and text source; default: it chooses itself), so the hybrid lists read its affinity and
    target customers as a real build does (dated splits only: the workspace keeps recommenders
    by cut date). Returns ``{"method", "text"}`` of the model, or None when the shop has none
    (no customers, ...): the lists go on without it."""
    from core.errors import BundleLabError
    from core.recommend.store import RecommenderParams, model_setting, train_recommender

    try:
        s = train_recommender(ctx.ws, ctx.dataset, cut=cut, progress=progress,
                              params=RecommenderParams(**method) if method else None)
    except BundleLabError:
        return None
    return model_setting(s["method"], s.get("text"))


def fitted_weights(ctx, base: BundleParams, same: dict, method: dict | None, progress=None):
    """Hybrid weights fitted on the training side only (``core.bundles.fit``): its earlier
    orders build the candidates (text model and recommender trained on them), its last ~20% are
    the validation orders; ``method``: the test side's recommender (``_recommender``), trained
    on the earlier orders too. None when the training side cannot be split again."""
    from core.baskets import temporal_split
    from core.bundles.fit import fit_split
    from core.errors import BundleLabError

    try:
        inner = temporal_split(ctx.split.train)
    except BundleLabError:
        return None
    return fit_split(ctx.ws, ctx.dataset, inner, replace(base, top=ctx.top), method=method,
                     finetune_params=same["finetune_params"], model=same["model"],
                     progress=progress)


def bundles_block(ctx, progress=None) -> dict:
    """Rules only, similarity only, hybrid (weights fitted on the training side's own later
    orders, ``fitted_weights``; the defaults when that side cannot be split, or when no setting
    clearly beats them), ``hybrid_default`` (the default weights, when fitting ran) and
    ``incremental`` (the default hybrid choosing for orders above chance), each a list of
    ``ctx.top`` bundles built on the training orders only (through the bundle service, on inputs
    gathered once), scored on the test orders; ``rules_filled`` (rules only with the fitted
    fill of a short list, when the fit chose one: how much of the hybrid's gain the fill alone
    gives). ``fitted_weights`` holds the fitted setting (``FittedWeights.as_dict``)."""
    from core.baskets import order_sets, order_table

    test = ctx.split.test
    opts = ctx.options
    base = opts.get("bundle_params") or BundleParams()
    cache: dict = {}
    same = {"holdout": ctx.split, "finetune_params": opts.get("finetune_params"),
            "model": opts.get("model"), "cache": cache}
    method = None
    if ctx.split.cut is not None and opts.get("bundle_recommender", True):
        method = _recommender(ctx, ctx.split.cut, progress=sub_progress(progress, 0.0, 0.1))
    inp, _ = dataset_inputs(ctx.ws, ctx.dataset, text=base.text,
                            progress=sub_progress(progress, 0.1, 0.4), **same)
    counts = dict(zip(inp.baskets.item_ids, inp.baskets.item_counts()))
    cold = {i for i, c in counts.items() if c == 0}
    tail = {i for i, c in counts.items() if 0 < c < TAIL_ORDERS}
    orders = order_sets(test)
    rev = order_table(test).set_index("order_id")["revenue"].reindex(orders.index).to_numpy()
    report(progress, 0.4, "fitting the hybrid weights on the training orders")
    fit = fitted_weights(ctx, base, same, method, sub_progress(progress, 0.4, 0.8))
    lists = {s: replace(base, strategy=s, top=ctx.top) for s in STRATEGIES}
    if fit is not None:  # the design's hybrid: weights fitted when they clearly help
        lists["hybrid_default"] = lists["hybrid"]
        lists["hybrid"] = replace(base, strategy="hybrid", top=ctx.top, **fit.params)
    lists["incremental"] = replace(base, strategy="hybrid", top=ctx.top, incremental=True)
    if fit is not None and fit.params.get("fill_min_orders"):  # what the fill alone gives
        lists["rules_filled"] = replace(base, strategy="rules", top=ctx.top,
                                        fill_min_orders=fit.params["fill_min_orders"])
    out: dict[str, dict] = {}
    for i, (row, params) in enumerate(lists.items()):
        report(progress, 0.8 + 0.2 * i / len(lists), f"bundles: {row}")
        if params.strategy == "similarity" and inp.vectors is None:
            continue
        res = build_for_dataset(ctx.ws, ctx.dataset, params, record=False, save=False, **same)
        m = bundle_metrics(list(orders), res.bundles["items"].tolist(), cold, rev, tail)
        m["bundles"] = len(res.bundles)
        out[row] = m
    if fit is not None:
        out["fitted_weights"] = fit.as_dict()
    report(progress, 1.0, "bundles scored")
    return out
