"""Hybrid weights fitted per shop on a validation window inside the training period.

The fixed defaults (rule strength ``lift``, text and recommender weight 0, every order counting the
same) were chosen on one shop. ``fit_weights`` chooses them again for each shop: the candidates are
built once on the earlier training orders (``inputs``: text vectors and recommender trained on
those orders only), each setting picks its list by the same greedy coverage selection as a real
build, and the list is scored on the later training orders (``validation``: the hit rate, the
share of orders with >= 2 items that hold >= 2 items of a bundle). The test period is never read.

Search: coordinate ascent from the defaults over ``GRID`` (rule strength, text and recommender
weights, new-item joins, the learned score of ``core.bundles.learned``; recency is left out, see
``GRID``), two passes; a setting replaces the current one only when it hits more validation
orders. The best setting is kept only when it beats
the defaults clearly: a paired sign test over the validation orders (orders it hits that the
defaults miss, ``b``, against the reverse, ``c``) must give ``b - c >= Z * sqrt(b + c)``. Otherwise,
or with fewer than ``MIN_VALIDATION_ORDERS`` validation orders, the defaults stay (``fitted``
False, with the reason in words).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from core.bundles.candidates import BundleInputs, Candidates, build_candidates, coverage_matrix
from core.bundles.learned import learned_score
from core.bundles.fit_words import describe, fit_reason  # noqa: F401 (describe: re-exported)
from core.bundles.params import BundleParams
from core.progress import Progress, report, sub_progress

# rule strengths, text and recommender weights tried. Recency (``BundleParams.recency_days``) is
# not: a validation window right after the fit orders rewards whatever sold last, and a test period
# in another season does not. On UCI Online Retail (cut 2011-09-01) the search chose a 27-day
# half-life that gained 63 of 2,331 validation orders (a clear sign test) and lowered the test
# hit rate from 0.433 to 0.405; on restaurant_cn one seed chose 9 days and lost 0.02 on test.
# It stays a setting the user can choose.
# With text vectors, also how new and rarely sold items join the chosen bundles by their text
# (``cold_share``: at most this share of bundles gets one; ``cold_max_orders``: items sold in at
# most so many training orders count as such): the long tail is where text can help rules.
GRID: dict[str, tuple] = {"strength": ("lift", "confidence", "orders"),
                          "w_text": (0.0, 0.5, 1.0, 2.0), "w_rec": (0.0, 0.5, 1.0, 2.0),
                          "cold_share": (0.0, 0.1, 0.2, 0.3), "cold_max_orders": (0, 2, 4),
                          "learned": (False, True),  # core.bundles.learned (dated orders)
                          # a short list filled with pairs bought together in at least so
                          # many orders, after those that pass the floor (0: not filled)
                          "fill_min_orders": (0, 2, 3)}
TEXT_DIMS = ("w_text", "cold_share", "cold_max_orders")
PASSES = 2
# fewer validation orders with >= 2 items than this: too few to tell settings apart
MIN_VALIDATION_ORDERS = 100
# the sign test's threshold (about a 2.5% one-sided level for one comparison; the search tries
# ~30 settings, so a lower bar would keep noise)
Z = 2.0


@dataclass
class FittedWeights:
    """The chosen setting (``params``), whether it was fitted or is the default, the reason in
    words, validation hit rates (fitted, default, rules only), the validation orders, the
    settings tried and the seconds."""

    params: dict[str, Any]
    fitted: bool
    reason: str
    validation_hit_rate: dict[str, float] = field(default_factory=dict)
    validation_orders: int = 0
    tried: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"params": self.params, "fitted": self.fitted, "reason": self.reason,
                "validation_hit_rate": self.validation_hit_rate,
                "validation_orders": self.validation_orders, "tried": self.tried,
                "seconds": self.seconds}


def validation_matrix(orders: Sequence[set], item_ids: Sequence[str]) -> sp.csr_matrix:
    """(validation orders with >= 2 items x items) 0/1; items unknown to training are left out
    (no list can hold them)."""
    index = {str(i): k for k, i in enumerate(item_ids)}
    rows, cols = [], []
    for r, order in enumerate(o for o in orders if len(o) >= 2):
        for i in order:
            k = index.get(str(i))
            if k is not None:
                rows.append(r)
                cols.append(k)
    n = sum(1 for o in orders if len(o) >= 2)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                         shape=(n, len(index)))


def order_hits(val: sp.csr_matrix, sets: list[tuple[int, ...]]) -> np.ndarray:
    """Per validation order: holds >= 2 items of at least one of ``sets``."""
    if not sets or val.shape[0] == 0:
        return np.zeros(val.shape[0], dtype=bool)
    cols = np.concatenate([np.asarray(s) for s in sets])
    which = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    member = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (cols, which)),
                           shape=(val.shape[1], len(sets)))
    return np.asarray(((val @ member) >= 2).sum(axis=1)).ravel() > 0


def _span_days(order_time: np.ndarray | None) -> float:
    if order_time is None:
        return 0.0
    t = np.asarray(order_time, dtype="datetime64[ns]")
    t = t[~np.isnat(t)]
    return float((t.max() - t.min()) / np.timedelta64(1, "D")) if len(t) else 0.0


def fit_weights(inp: BundleInputs, validation: Sequence[set], base: BundleParams | None = None,
                *, progress: Progress | None = None) -> FittedWeights:
    """Fit the hybrid setting on ``validation`` (item-id sets of the orders after ``inp``'s
    training orders). See the module docstring."""
    from core.bundles.build import (_named_items, choose_floor, fill_list, fill_pool,
                                    filter_candidates)
    from core.bundles.select import hybrid_weights, join_cold, select, strategy_scores

    t0 = time.perf_counter()
    base = replace(base or BundleParams(), strategy="hybrid")
    defaults = {"strength": base.strength, "w_text": base.w_text, "w_rec": base.w_rec,
                "recency": 0.0, "cold_share": base.cold_share,
                "cold_max_orders": base.cold_max_orders, "learned": base.learned,
                "fill_min_orders": base.fill_min_orders}
    val = validation_matrix(validation, inp.baskets.item_ids)
    n_val = val.shape[0]
    span = _span_days(inp.order_time)
    has = {**{d: inp.vectors is not None for d in TEXT_DIMS}, "w_rec": inp.affinity is not None,
           "recency": span > 0 and "recency" in GRID, "learned": span > 0,
           "fill_min_orders": True}

    def as_params(s: dict) -> dict[str, Any]:
        out = {"strength": s["strength"], "w_text": float(s["w_text"]) if has["w_text"] else 0.0,
               "w_rec": float(s["w_rec"]) if has["w_rec"] else 0.0}
        if has["cold_share"]:  # without text no item joins by text: the setting is moot
            out.update(cold_share=float(s["cold_share"]), cold_max_orders=int(s["cold_max_orders"]))
        if "recency" in GRID:  # else the user's own setting stays
            out["recency_days"] = round(s["recency"] * span, 1)
        if has["learned"]:
            out["learned"] = bool(s["learned"])
        out["fill_min_orders"] = int(s["fill_min_orders"])
        return out

    if n_val < MIN_VALIDATION_ORDERS:
        return FittedWeights(as_params(defaults), False,
                             f"only {n_val:,} validation orders with 2 or more items (at least "
                             f"{MIN_VALIDATION_ORDERS} are needed to tell settings apart): the "
                             "default weights are used", validation_orders=n_val,
                             seconds=round(time.perf_counter() - t0, 2))
    b = inp.baskets
    report(progress, 0.0, "building candidates on the earlier training orders")
    # the minimum orders together a default build of these orders uses (lowered as it lowers)
    floor_weights = hybrid_weights(base.w_rules, base.w_text, base.w_rec,
                                   has_text=inp.vectors is not None,
                                   has_rec=inp.affinity is not None)[0]
    floor = choose_floor(replace(inp, notes=[]), base, floor_weights,
                         use_text=inp.vectors is not None, use_rules=True)[0]
    min_orders = floor.min_orders

    def pool(sub: BundleInputs, rec: bool) -> Candidates:  # (also the learned score's)
        cs = build_candidates(sub, min_orders=min_orders, max_size=base.max_size,
                              text_neighbours=base.text_neighbours,
                              cold_max_orders=base.cold_max_orders, pool_size=base.pool_size,
                              variant_similarity=base.variant_similarity,
                              use_text=has["w_text"], use_rules=True, use_rec=rec)
        return cs.subset(filter_candidates(cs, sub, base, min_orders))
    # as in the build, recommender-found candidates only with a recommender weight: two pools,
    # one of them the pool the floor was found on (the same candidates: not built again)
    pools = {floor_weights["recommender"] > 0: (floor.c, floor.cover)}
    for r in {False, has["w_rec"]} - set(pools):
        pools[r] = (cs := pool(inp, r), coverage_matrix(b.matrix.tocsc(), cs.sets))
    learned: dict[bool, np.ndarray | None] = {}
    weight = np.asarray(inp.order_revenue, dtype=float) \
        if base.objective == "revenue" and inp.order_revenue is not None else None
    seen: dict[tuple, np.ndarray] = {}
    weak: dict[tuple, tuple] = {}  # fill pools (candidates, coverage) by (fill, rec)
    excluded = _named_items(inp, base.exclude)

    def hits_of(s: dict, strategy: str = "hybrid") -> np.ndarray:
        key = (strategy, *sorted(as_params(s).items()))
        if key not in seen:
            ps = as_params(s)
            p = replace(base, strategy=strategy, strength=ps["strength"],
                        recency_days=ps.get("recency_days", base.recency_days))
            rec = ps["w_rec"] > 0
            c, cover = pools[rec]
            score, eligible = strategy_scores(c, strategy, strength=p.strength,
                                              w_rules=base.w_rules,
                                              w_text=ps["w_text"], w_rec=ps["w_rec"])
            if strategy == "hybrid" and ps.get("learned"):
                if rec not in learned:  # one model per pool: it reads the pool's own features
                    learned[rec] = learned_score(inp, c, lambda sub: pool(sub, rec))[0]
                score = score if learned[rec] is None else learned[rec]
            picks, gains = select(c, score, eligible, p, cover, weight, b.item_counts(),
                                  b.n_orders, inp.order_time)
            sets = [c.sets[i] for i in picks]
            fill = ps["fill_min_orders"]
            if len(picks) < base.top and 0 < fill < min_orders:  # as build_bundles fills
                pf = replace(p, fill_min_orders=fill)
                weights = {"rules": base.w_rules, "text": ps["w_text"], "recommender": ps["w_rec"]}
                if (fill, rec) not in weak:  # from the signals the build would use
                    pool_f = fill_pool(inp, pf, min_orders, use_text=has["w_text"],
                                       use_rules=True, use_rec=rec)
                    weak[fill, rec] = (pool_f, coverage_matrix(b.matrix.tocsc(), pool_f.sets))
                wk, wc = weak[fill, rec]
                sets = list(fill_list(inp, pf, min_orders, weights, c, score, picks, gains, cover,
                                      weight, use_text=has["w_text"], use_rules=True, weak=wk,
                                      weak_cover=wc)[0].sets)
            if strategy == "hybrid" and ps.get("cold_share", 0) > 0:  # as build_bundles joins
                cold = (b.item_counts() <= ps["cold_max_orders"]) & ~excluded
                joins = join_cold(sets, len(picks), inp.vectors, cold,
                                  max_items=max(1, math.ceil(ps["cold_share"] * base.top)),
                                  max_size=base.max_size,
                                  min_similarity=base.cold_min_similarity)
                sets = [s + (joins[k][0],) if k in joins else s for k, s in enumerate(sets)]
            seen[key] = order_hits(val, sets)
        return seen[key]

    best = dict(defaults)
    best_hits = hits_of(best)
    dims = [d for d in GRID if d == "strength" or has[d]]
    for n_pass in range(PASSES):
        for d, dim in enumerate(dims):
            report(progress, (n_pass * len(dims) + d) / (PASSES * len(dims)),
                   f"trying {dim} settings on the validation orders")
            for value in GRID[dim]:
                trial = {**best, dim: value}
                h = hits_of(trial)
                if h.sum() > best_hits.sum():
                    best, best_hits = trial, h
    default_hits = hits_of(defaults)
    rules_hits = hits_of(defaults, "rules")
    gain, loss = int((best_hits & ~default_hits).sum()), int((~best_hits & default_hits).sum())
    rates = {"fitted": float(best_hits.mean()), "default": float(default_hits.mean()),
             "rules": float(rules_hits.mean())}
    clear = gain - loss > 0 and gain - loss >= Z * math.sqrt(gain + loss)
    reason = fit_reason(clear, best == defaults, gain, loss, n_val)
    if not clear:
        rates["fitted"] = rates["default"]
    report(progress, 1.0, "weights fitted")
    return FittedWeights(as_params(best if clear else defaults), clear, reason, rates, n_val,
                         len([k for k in seen if k[0] == "hybrid"]),
                         round(time.perf_counter() - t0, 2))


def fit_for_dataset(ws, dataset: str | None = None, base: BundleParams | None = None, *,
                    cut: Any = None, recommender: bool = True, finetune_params: Any = None,
                    model: str | None = None, progress: Progress | None = None) -> FittedWeights:
    """Fit the hybrid weights of a workspace dataset on its orders (before ``cut``): the last
    ~20% of them are the validation orders, the text model and (dated orders, ``recommender``,
    a recommender trained for the dataset: ``current_recommender``) the recommender are trained
    or reused on the orders before those. Records a ``weights`` run
    (the page shows the latest one). Too little history to split gives the defaults, with the
    reason."""
    from core.baskets import lines_before, temporal_split
    from core.errors import BundleLabError

    t0 = time.perf_counter()
    base = replace(base or BundleParams(), strategy="hybrid")
    name = ws.resolve(dataset)
    try:
        inner = temporal_split(lines_before(ws.lines(name), cut))
    except BundleLabError as exc:
        fit = FittedWeights({"strength": base.strength, "w_text": base.w_text, "w_rec": base.w_rec},
                            False,
                            f"the orders cannot be split into earlier and later ones ({exc}): "
                            "the default weights are used")
    else:
        fit = fit_split(ws, name, inner, base, finetune_params=finetune_params, model=model,
                        method=current_recommender(ws, name, cut) if recommender else None,
                        progress=progress)
    fit.seconds = round(time.perf_counter() - t0, 2)
    ws.record_run(name, "weights", params={"cut": str(cut) if cut else None},
                  seconds=fit.seconds, metrics=fit.as_dict())
    return fit


def fit_split(ws, name: str, inner, base: BundleParams, *, method: dict[str, str] | None,
              finetune_params: Any = None, model: str | None = None,
              progress: Progress | None = None) -> FittedWeights:
    """``fit_weights`` on a split of the orders a list is built from (``inner``: the earlier
    orders and the last ~20%, the validation orders), for ``fit_for_dataset`` and the
    evaluation alike. ``method`` (``{"method", "text"}``): the shop's recommender, trained or
    reused on the earlier orders for the affinity (dated splits); None: no affinity, never a
    model left by an earlier run."""
    from core.baskets import order_sets
    from core.bundles.service import dataset_inputs
    from core.errors import BundleLabError

    if method is not None and inner.cut is not None:
        from core.recommend.store import RecommenderParams, train_recommender

        try:
            train_recommender(ws, name, cut=inner.cut, params=RecommenderParams(**method),
                              progress=sub_progress(progress, 0, 0.4))
        except BundleLabError:
            pass  # no affinity to fit: the recommender weight stays 0
    inp, _ = dataset_inputs(ws, name, text=base.text, holdout=inner,
                            finetune_params=finetune_params, model=model,
                            recommender=method is not None,
                            progress=sub_progress(progress, 0.4, 0.8))
    return fit_weights(inp, list(order_sets(inner.test)), base,
                       progress=sub_progress(progress, 0.8, 1.0))


def current_recommender(ws, dataset: str, cut: Any = None) -> dict[str, str] | None:
    """``{"method", "text"}`` of the recommender trained on ``dataset`` as it is now (orders
    before ``cut``, or all), or None when there is none: the fit trains that one on the earlier
    orders, rather than choosing a method again (the choice trains every method; a shop
    without a recommender has no affinity to weigh)."""
    from core.baskets import parse_cut
    from core.recommend.store import model_setting, trained_models

    models = trained_models(ws, dataset)
    if models.empty:
        return None
    want = parse_cut(cut)
    same_cut = models["cut"].map(
        lambda c: (parse_cut(c) if isinstance(c, str) and c else None) == want)
    now = models[same_cut & (models["data_version"] == ws.info(dataset)["version"])]
    if now.empty:
        return None
    return model_setting(now["method"].iloc[0], now["text"].iloc[0])


def latest_fit(ws, dataset: str, cut: Any = None) -> FittedWeights | None:
    """The weights of the latest ``weights`` run of ``dataset`` fitted on its orders (before
    ``cut``; all orders when None) as they are now (not an earlier upload), or None."""
    import json

    runs = ws.runs(dataset, kind="weights")
    if runs.empty:
        return None
    want = str(cut) if cut else None
    same = runs["params"].map(lambda p: (json.loads(p or "{}") or {}).get("cut") == want)
    runs = runs[same & (runs["data_version"] == ws.info(dataset)["version"])]
    if runs.empty:
        return None
    return FittedWeights(**json.loads(runs["metrics"].iloc[0]))
