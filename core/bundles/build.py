"""Building a bundle list from prepared inputs: ``build_bundles(inputs, params)`` is pure (no
workspace): candidates -> filters -> scores -> coverage-optimised selection -> cold-start joins ->
the described table (prices, names, explanations, target customers; ``core.bundles.describe``).

Gathering the inputs from a workspace dataset, storing the list and recording the run is
``core.bundles.service.build_for_dataset``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.bundles.candidates import BundleInputs, Candidates, build_candidates, coverage_matrix
from core.bundles.describe import describe_bundles, flagged_variants
from core.bundles.params import BundleParams, BundleResult
from core.bundles.select import hybrid_weights, join_cold, select, strategy_scores
from core.bundles.learned import LEARNED_NOTES, learned_score
from core.bundles.value import bundle_value
from core.errors import BundleLabError, DatasetChanged
from core.progress import Progress, report, sub_progress


# The automatic minimum is never lowered below this many orders together: fewer is anecdote.
MIN_EVIDENCE_ORDERS = 5
# ... and only lowered when the list would hold fewer bundles than this.
MIN_LIST = 5


def _named_items(inp: BundleInputs, values: tuple[str, ...]) -> np.ndarray:
    """Items named in ``values`` by id or by category (case-insensitive)."""
    ids = inp.items["item_id"].astype(str).str.lower().to_numpy()
    cats = inp.items["category"].fillna("").astype(str).str.lower().to_numpy() \
        if "category" in inp.items else np.full(len(ids), "")
    want = {v.strip().lower() for v in values if v.strip()}
    return np.array([i in want or c in want for i, c in zip(ids, cats)], dtype=bool)


def filter_candidates(c: Candidates, inp: BundleInputs, p: BundleParams, min_orders: int) -> np.ndarray:
    keep = np.ones(len(c), dtype=bool)
    if p.exclude:
        bad = _named_items(inp, p.exclude)
        keep &= np.array([not bad[list(s)].any() for s in c.sets], dtype=bool)
    if p.include:
        good = _named_items(inp, p.include)
        keep &= np.array([good[list(s)].any() for s in c.sets], dtype=bool)
    if not p.allow_variants:
        keep &= ~c.variant
    keep &= np.array([len(s) <= p.max_size for s in c.sets], dtype=bool)
    # the thresholds are the merchandiser's floors for every bundle built on co-purchases; the
    # similarity strategy reads text only (new items join bundles later, flagged)
    weak = (c.orders < min_orders) | (c.confidence < p.min_confidence) | (c.lift < p.min_lift)
    c.from_rules &= ~weak
    if p.strategy != "similarity":
        keep &= ~weak
    keep &= c.from_rules | c.from_text | c.from_rec
    return keep


def check_aligned(inp: BundleInputs) -> None:
    """Every per-item input has one row per basket column and every per-order input one entry
    per basket row. Inputs gathered at different times (the dataset re-loaded in between) would
    otherwise index one array with positions of another: wrong items, or an ``IndexError``."""
    b = inp.baskets
    per_item = {"item table": len(inp.items),
                "text vectors": None if inp.vectors is None else len(inp.vectors),
                "base-model vectors": None if inp.base_vectors is None else len(inp.base_vectors)}
    per_order = {"order revenues": None if inp.order_revenue is None else len(inp.order_revenue),
                 "order customers": None if inp.customers is None else len(inp.customers),
                 "order times": None if inp.order_time is None else len(inp.order_time)}
    bad = [f"{what} {n:,} (expected {b.n_items:,} items)" for what, n in per_item.items()
           if n is not None and n != b.n_items]
    bad += [f"{what} {n:,} (expected {b.n_orders:,} orders)" for what, n in per_order.items()
            if n is not None and n != b.n_orders]
    if not bad and len(inp.items) and not np.array_equal(
            inp.items["item_id"].astype(str).to_numpy(), np.asarray(b.item_ids).astype(str)):
        bad.append("item table in another order than the baskets' items")
    if bad:
        raise DatasetChanged(
            "the bundle inputs do not line up (" + "; ".join(bad) + "): the dataset was "
            "probably re-loaded while they were gathered; run bundles again")


@dataclass
class Chosen:
    """The list's own bundles at one minimum order count, before any fill: the candidates (all,
    and those past the filters), their scores, the picks in order, what each newly covered,
    the coverage matrix, the order weights and the variants to flag."""

    min_orders: int
    c_all: Candidates
    c: Candidates
    score: np.ndarray
    picks: list[int]
    gains: list[float]
    cover: Any
    weight: np.ndarray | None
    flagged_idx: np.ndarray


def _choose(inp: BundleInputs, p: BundleParams, min_orders: int, weights: dict, *,
            use_text: bool, use_rules: bool, progress: Progress | None) -> Chosen:
    """Candidates, scores and the greedy selection at one minimum order count."""
    b = inp.baskets

    def candidates(sub: BundleInputs, part: Progress | None = None) -> Candidates:
        return build_candidates(sub, min_orders=min_orders, max_size=p.max_size,
                                text_neighbours=p.text_neighbours,
                                cold_max_orders=p.cold_max_orders, pool_size=p.pool_size,
                                variant_similarity=p.variant_similarity, use_text=use_text,
                                use_rules=use_rules,
                                use_rec=p.strategy == "hybrid" and weights["recommender"] > 0,
                                progress=part)

    c = candidates(inp, sub_progress(progress, 0.0, 0.7))
    keep = filter_candidates(c, inp, p, min_orders)
    flagged_idx = np.flatnonzero(c.variant & (c.orders >= min_orders))
    c_all, c = c, c.subset(keep)
    score, eligible = strategy_scores(c, p.strategy, strength=p.strength,
                                      w_rules=weights["rules"], w_text=weights["text"],
                                      w_rec=weights["recommender"])
    if p.learned and p.strategy != "similarity":  # issue 14: a score learned per shop
        def pool(sub: BundleInputs) -> Candidates:  # the same candidates, of earlier orders
            cs = candidates(sub)
            return cs.subset(filter_candidates(cs, sub, p, min_orders))

        learned, note = learned_score(inp, c, pool)
        inp.notes[:] = [n for n in inp.notes if not n.startswith(LEARNED_NOTES)] + [note]
        if learned is not None:
            score = learned
    report(progress, 0.75, "choosing bundles for coverage")
    weight = None
    if p.objective == "revenue" and inp.order_revenue is not None:
        weight = np.asarray(inp.order_revenue, dtype=float)
    cover = coverage_matrix(b.matrix.tocsc(), c.sets) if p.strategy != "similarity" else None
    picks, gains = select(c, score, eligible, p, cover, weight, b.item_counts(), b.n_orders,
                          inp.order_time)
    return Chosen(min_orders, c_all, c, score, picks, gains, cover, weight, flagged_idx)


def choose_floor(inp: BundleInputs, p: BundleParams, weights: dict, *, use_text: bool,
                 use_rules: bool, progress: Progress | None = None) -> tuple[Chosen, str, int]:
    """The list's own bundles at the minimum orders together: ``p.min_orders``, or the automatic
    one, lowered step by step (never below MIN_EVIDENCE_ORDERS) while it leaves fewer than
    ``MIN_LIST`` bundles; the notes of a minimum left behind go with it. Returns (the choice,
    why that minimum, the automatic minimum before lowering). The fit (``core.bundles.fit``)
    finds the floor of its lists here too."""
    b = inp.baskets
    min_orders, why = p.min_orders_choice(b.n_orders, b.item_counts())
    notes = list(inp.notes)
    ch = _choose(inp, p, min_orders, weights, use_text=use_text, use_rules=use_rules,
                 progress=progress)
    # A list that is merely short keeps its strong bundles: lowering then would rank weak ones
    # among them (the fill, after them, is the way to a full list)
    while not p.min_orders and len(ch.picks) < min(p.top, MIN_LIST) \
            and ch.min_orders > MIN_EVIDENCE_ORDERS:
        inp.notes[:] = notes
        ch = _choose(inp, p, max(MIN_EVIDENCE_ORDERS, ch.min_orders // 2), weights,
                     use_text=use_text, use_rules=use_rules,
                     progress=sub_progress(progress, 1.0, 1.0))  # the bar holds; cancel works
    return ch, why, min_orders


def _finish(inp: BundleInputs, p: BundleParams, ch: Chosen, weights: dict, *, use_text: bool,
            use_rules: bool, progress: Progress | None):
    """The chosen list filled (``fill_list``, when asked and short), new items joined (the
    list's own bundles first), described, valued: (table, coverage, flagged, candidates)."""
    b = inp.baskets
    c, score, picks, gains, n_pool = ch.c, ch.score, ch.picks, ch.gains, len(ch.c)
    n_own = len(picks)
    if len(picks) < p.top and 0 < p.fill_min_orders < ch.min_orders \
            and p.strategy != "similarity":
        report(progress, 0.1, "filling the list with weaker pairs")
        c, score, picks, gains, n_fill = fill_list(inp, p, ch.min_orders, weights, c, score,
                                                   picks, gains, ch.cover, ch.weight,
                                                   use_text=use_text, use_rules=use_rules)
        n_pool += n_fill
    cold_joins = {}
    if p.strategy == "hybrid" and p.cold_share > 0 and inp.vectors is not None:
        cold_items = b.item_counts() <= p.cold_max_orders
        cold_items &= ~_named_items(inp, p.exclude)
        cold_joins = join_cold([c.sets[i] for i in picks], n_own, inp.vectors, cold_items,
                               max_items=max(1, math.ceil(p.cold_share * p.top)),
                               max_size=p.max_size, min_similarity=p.cold_min_similarity)
    report(progress, 0.5, "pricing and naming")
    table = describe_bundles(inp, c, picks, gains, score, p,
                             b.n_orders if ch.weight is None else ch.weight.sum(), cold_joins,
                             floor=ch.min_orders, n_own=n_own)
    table = bundle_value(b, inp.items, table, order_time=inp.order_time)  # expected value
    coverage = pd.DataFrame({"bundles": np.arange(1, len(table) + 1),
                             "covered": table["cumulative_coverage"].to_numpy()})
    flagged = flagged_variants(inp, ch.c_all, ch.flagged_idx)
    return table, coverage, flagged, n_pool


def fill_pool(inp: BundleInputs, p: BundleParams, min_orders: int, *, use_text: bool,
              use_rules: bool, use_rec: bool) -> Candidates:
    """The candidates a short list is filled from: pairs bought together in
    ``p.fill_min_orders`` to ``min_orders - 1`` orders, past the other thresholds. Pairs only:
    a bigger bundle of weak evidence is mostly popular items that meet by chance (on
    groceries_member_date, 3-4 item fill bundles bought together twice lifted the held-out hit
    rate from 0.068 to 0.184 by catching any order with two of their best sellers), and
    "bought together in 2 orders" is a claim a merchandiser can check for a pair."""
    # its own notes: a limit met mining at the fill's count is not the list's
    weak = build_candidates(replace(inp, notes=[]), min_orders=p.fill_min_orders,
                            max_size=2, text_neighbours=p.text_neighbours,
                            cold_max_orders=p.cold_max_orders, pool_size=p.pool_size,
                            variant_similarity=p.variant_similarity, use_text=use_text,
                            use_rules=use_rules, use_rec=use_rec, rules_below=min_orders)
    return weak.subset(filter_candidates(weak, inp, p, p.fill_min_orders)
                       & (weak.orders < min_orders))


def fill_list(inp: BundleInputs, p: BundleParams, min_orders: int, weights: dict, c: Candidates,
              score: np.ndarray, picks: list[int], gains: list[float], cover, weight, *,
              use_text: bool, use_rules: bool, weak: Candidates | None = None,
              weak_cover=None):
    """The list's free places filled with bundles bought together in ``p.fill_min_orders`` to
    ``min_orders - 1`` orders, chosen by the same greedy coverage (their own scores; the orders
    and items the list already has count as taken) after every bundle that passes the floor.
    Returns the chosen candidates (the list's, then the fill's), their scores, picks (all of
    them, in order), gains and the fill pool's size. ``weak``, ``weak_cover``: the pool
    (``fill_pool``) and its coverage matrix when already built."""
    b = inp.baskets
    if weak is None:
        weak = fill_pool(inp, p, min_orders, use_text=use_text, use_rules=use_rules,
                         use_rec=p.strategy == "hybrid" and weights["recommender"] > 0)
    chosen = c.subset(np.asarray(picks, dtype=int))
    if not len(weak):
        return chosen, score[picks], list(range(len(picks))), gains, 0
    w_score, w_eligible = strategy_scores(weak, p.strategy, strength=p.strength,
                                          w_rules=weights["rules"], w_text=weights["text"],
                                          w_rec=weights["recommender"])
    u = np.ones(b.n_orders) if weight is None else np.asarray(weight, dtype=float).copy()
    for i in picks:  # orders the list already covers
        u[cover.indices[cover.indptr[i]:cover.indptr[i + 1]]] = 0.0
    w_cover = coverage_matrix(b.matrix.tocsc(), weak.sets) if weak_cover is None else weak_cover
    more, more_gains = select(weak, w_score, w_eligible, replace(p, top=p.top - len(picks)),
                              w_cover, u, b.item_counts(), b.n_orders, inp.order_time,
                              taken=chosen.sets)
    return (chosen.then(weak.subset(np.asarray(more, dtype=int))),
            np.concatenate([score[picks], w_score[more]]), list(range(len(picks) + len(more))),
            list(gains) + list(more_gains), len(weak))


def build_bundles(inp: BundleInputs, params: BundleParams | None = None, *,
                  progress: Progress | None = None) -> BundleResult:
    """Choose ``params.top`` bundles from ``inp`` (see the module docstring). With
    ``params.text`` False the inputs' text vectors are left unused, as if there were none."""
    t0 = time.perf_counter()
    p = params or BundleParams()
    check_aligned(inp)
    # notes of this build only; inputs stay as given
    inp = replace(inp, notes=list(inp.notes),
                  **({} if p.text else {"vectors": None, "base_vectors": None}))
    use_rules = p.strategy in ("rules", "hybrid")
    use_text = p.strategy in ("similarity", "hybrid") and inp.vectors is not None
    if p.strategy == "similarity" and inp.vectors is None:
        raise BundleLabError("the similarity strategy needs item text vectors (run embed first)"
                             if p.text else "the similarity strategy needs the item texts: "
                             "switch product descriptions on")
    weights, unused = hybrid_weights(p.w_rules, p.w_text, p.w_rec, has_text=inp.vectors is not None,
                                     has_rec=inp.affinity is not None)
    if p.strategy == "hybrid":
        inp.notes.extend(unused)
    ch, why, auto_from = choose_floor(inp, p, weights, use_text=use_text, use_rules=use_rules,
                                      progress=sub_progress(progress, 0.0, 0.85))
    min_orders = ch.min_orders
    if min_orders < auto_from:
        why = f"lowered from {auto_from}, which left fewer than {min(p.top, MIN_LIST)} bundles"
        inp.notes.append(
            f"the automatic minimum of {auto_from} orders together left fewer than "
            f"{min(p.top, MIN_LIST)} bundles, so it was lowered to {min_orders}: bundles bought "
            "together in fewer "
            "orders are weaker evidence (raise 'bought together in at least N orders' to "
            "keep only the strong ones)")
    table, coverage, flagged, n_candidates = _finish(
        inp, p, ch, weights, use_text=use_text, use_rules=use_rules,
        progress=sub_progress(progress, 0.85, 0.95))
    filled = int((table["orders_together"] < min_orders).sum()) \
        if p.fill_min_orders and p.strategy != "similarity" and len(table) else 0
    if filled:
        inp.notes.append(
            f"{filled} of the {len(table)} bundles are bought together in fewer than "
            f"{min_orders} orders (at least {p.fill_min_orders}): weaker evidence, listed after "
            "the others to fill the list")
    if len(table) < p.top:
        inp.notes.append(
            f"only {len(table)} of {p.top} bundles: too few item groups pass the thresholds "
            f"(bought together in at least {min_orders} orders"
            + (f", or {p.fill_min_orders} to fill the list"
               if 0 < p.fill_min_orders < min_orders else "")
            + ", confidence >= "
            f"{p.min_confidence:.0%}, lift >= {p.min_lift:g}); lower the minimum orders or "
            "confidence for more" + ("" if 0 < p.fill_min_orders < min_orders
                                     or p.strategy == "similarity" or min_orders <= 2 else
                                     ", or fill the list with weaker pairs after these "
                                     "(bought together in at least 2 orders)"))
    report(progress, 1.0, f"{len(table)} bundles")
    return BundleResult(table, coverage, flagged, n_candidates, list(inp.notes),
                        {**asdict(p), "min_orders_used": min_orders, "min_orders_why": why,
                         "weights_used": weights if p.strategy == "hybrid" else None},
                        round(time.perf_counter() - t0, 3))
