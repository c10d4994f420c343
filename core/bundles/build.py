"""Bundles: the product's main output.

``build_bundles(inputs, params)`` is the pure entry (candidates -> scores -> coverage-optimised
selection -> prices, names, explanations, target customers). ``make_bundles(ws, dataset, ...)``
gathers the inputs from a workspace (all orders, or orders before ``cut``), runs it, stores the
list (versioned) and records a run.

Output columns (one row per bundle): bundle_id, name, items, item_names, size, orders_together,
confidence, lift, similarity, affinity, score, provenance, explanation, list_price, bundle_price,
price_note, margin, target_customers, cold_start, variant, coverage_gain, cumulative_coverage.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.bundles.candidates import STRENGTHS, BundleInputs, Candidates, build_candidates, coverage_matrix
from core.bundles.select import attach_cold, greedy_select, strategy_scores
from core.bundles.naming import (bundle_price, distinct_words, explanation, shared_topic_words,
                          short_name)
from core.errors import BundleLabError, DatasetChanged
from core.progress import Progress, report, sub_progress

STRATEGIES = ("rules", "similarity", "hybrid")


@dataclass(frozen=True)
class BundleParams:
    """Bundle settings, in business words where the UI shows them.

    ``min_orders``: a bundle's items must be bought together in at least this many training
    orders (0 = automatic: 0.3% of orders, at least 10 and at most 50);
    ``min_confidence``/``min_lift``: floors for rule evidence; ``w_*``: hybrid weights;
    ``strength``: the rule measure (confidence, all_confidence, lift, orders); ``objective``:
    cover ``orders`` or ``revenue``; ``max_per_item``: how many bundles one item may be in;
    ``cold_share``: at most this share of the bundles gets a new item (no sales yet) whose text
    is close to their items (``cold_min_similarity``: the least cosine similarity);
    ``include``/``exclude``: item ids or category names that must / must not be in bundles;
    ``allow_variants``: bundle near-duplicates (same product, other colour/size) anyway;
    ``discount``: bundle price = list price less this share; ``min_margin``: price floor over
    cost when a cost column exists."""

    top: int = 50
    strategy: str = "hybrid"
    min_orders: int = 0
    min_confidence: float = 0.0
    min_lift: float = 1.0
    max_size: int = 4
    # defaults chosen on a validation period inside the training data (bench/bundle_weights.py:
    # UCI Online Retail, train < 2011-07-01, validation 2011-07-01..2011-08-31): ranking by lift
    # and no text weight gave the best hit rate; text still brings candidates and new items
    w_rules: float = 1.0
    w_text: float = 0.0
    w_rec: float = 0.0
    strength: str = "lift"
    objective: str = "orders"
    max_per_item: int = 2
    cold_share: float = 0.1
    cold_min_similarity: float = 0.5
    cold_max_orders: int = 0
    text_neighbours: int = 5
    variant_similarity: float = 0.9
    allow_variants: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    discount: float = 0.1
    min_margin: float = 0.1
    pool_size: int = 4000
    n_customers: int = 5

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise BundleLabError(f"strategy must be one of {', '.join(STRATEGIES)}, not "
                                 f"{self.strategy!r}")
        if self.strength not in STRENGTHS:
            raise BundleLabError(f"strength must be one of {', '.join(STRENGTHS)}")
        if self.objective not in ("orders", "revenue"):
            raise BundleLabError("objective must be 'orders' or 'revenue'")
        if self.top < 1:
            raise BundleLabError("--top must be at least 1 bundle")
        if not 0 <= self.discount < 1:
            raise BundleLabError(f"discount {self.discount} must be a share between 0 and 1, "
                                 "e.g. 0.1 for 10% off")
        if min(self.w_rules, self.w_text, self.w_rec) < 0:
            raise BundleLabError("weights must be zero or positive")
        if not 2 <= self.max_size <= 6:
            raise BundleLabError("bundles hold 2 to 6 items: set max_size between 2 and 6")

    def resolved_min_orders(self, n_orders: int) -> int:
        # 0.3% of orders, but at least 10 and at most 50: 50 orders together is solid evidence
        # in any shop, and a big catalog's long tail needs a count, not a share
        return int(self.min_orders) if self.min_orders else min(50, max(10, round(0.003 * n_orders)))


@dataclass
class BundleResult:
    """``bundles`` (the table), ``coverage`` (bundles, covered orders share), ``flagged``
    (variant candidates left out), ``candidates`` (how many), ``notes``, ``params``."""

    bundles: pd.DataFrame
    coverage: pd.DataFrame
    flagged: pd.DataFrame
    candidates: int
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _named_items(inp: BundleInputs, values: tuple[str, ...]) -> np.ndarray:
    """Items named in ``values`` by id or by category (case-insensitive)."""
    ids = inp.items["item_id"].astype(str).str.lower().to_numpy()
    cats = inp.items["category"].fillna("").astype(str).str.lower().to_numpy() \
        if "category" in inp.items else np.full(len(ids), "")
    want = {v.strip().lower() for v in values if v.strip()}
    return np.array([i in want or c in want for i, c in zip(ids, cats)], dtype=bool)


def _filters(c: Candidates, inp: BundleInputs, p: BundleParams, min_orders: int) -> np.ndarray:
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


def _target_customers(inp: BundleInputs, sets: list[tuple[int, ...]], k: int) -> list[list[str]]:
    """The customers most likely to take each bundle: by the trained recommender's summed scores
    of its items when there is one, else those who bought part of the bundle but not all of it
    (most bundle items first, then most orders). Customers who bought every item are left out."""
    if inp.customers is None or k <= 0:
        return [[] for _ in sets]
    if inp.customer_scores is not None and sets:
        cols = np.unique(np.concatenate([np.asarray(s) for s in sets]))
        ids, scores = inp.customer_scores(cols)
        pos = {c: j for j, c in enumerate(cols)}
        owned = _owners(inp, sets)
        out = []
        for s, own in zip(sets, owned):
            total = scores[:, [pos[x] for x in s]].sum(axis=1)
            order = np.argsort(-total, kind="stable")
            out.append([str(ids[u]) for u in order if ids[u] not in own][:k])
        return out
    csc = inp.baskets.matrix.tocsc()
    cust = np.asarray(inp.customers, dtype=object)
    valid = pd.notna(cust)
    orders_per = pd.Series(cust[valid]).value_counts()
    out = []
    for s in sets:
        per_item = [csc.indices[csc.indptr[x]:csc.indptr[x + 1]] for x in s]
        rows = np.concatenate(per_item)
        pos = np.repeat(np.arange(len(s)), [len(r) for r in per_item])
        m = valid[rows]
        df = pd.DataFrame({"c": cust[rows[m]], "i": pos[m]})
        held = df.drop_duplicates().groupby("c")["i"].nunique()
        held = held[held < len(s)]
        rank = pd.DataFrame({"held": held, "orders": orders_per.reindex(held.index).fillna(0)})
        rank = rank.sort_values(["held", "orders"], ascending=False, kind="stable")
        out.append([str(x) for x in rank.index[:k]])
    return out


def _owners(inp: BundleInputs, sets: list[tuple[int, ...]]) -> list[set]:
    """Customers who already bought every item of each bundle."""
    csc = inp.baskets.matrix.tocsc()
    cust = np.asarray(inp.customers, dtype=object)
    out = []
    for s in sets:
        per_item = [set(cust[csc.indices[csc.indptr[x]:csc.indptr[x + 1]]]) for x in s]
        out.append(set.intersection(*per_item) - {None} if per_item else set())
    return out


def check_aligned(inp: BundleInputs) -> None:
    """Every per-item input has one row per basket column and every per-order input one entry
    per basket row. Inputs gathered at different times (the dataset re-loaded in between) would
    otherwise index one array with positions of another: wrong items, or an ``IndexError``."""
    b = inp.baskets
    per_item = {"item table": len(inp.items),
                "text vectors": None if inp.vectors is None else len(inp.vectors),
                "base-model vectors": None if inp.base_vectors is None else len(inp.base_vectors)}
    per_order = {"order revenues": None if inp.order_revenue is None else len(inp.order_revenue),
                 "order customers": None if inp.customers is None else len(inp.customers)}
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


def build_bundles(inp: BundleInputs, params: BundleParams | None = None, *,
                  progress: Progress | None = None) -> BundleResult:
    """Choose ``params.top`` bundles from ``inp`` (see the module docstring)."""
    t0 = time.perf_counter()
    p = params or BundleParams()
    check_aligned(inp)
    inp = replace(inp, notes=list(inp.notes))  # notes of this build only; inputs stay as given
    b = inp.baskets
    min_orders = p.resolved_min_orders(b.n_orders)
    use_rules = p.strategy in ("rules", "hybrid")
    use_text = p.strategy in ("similarity", "hybrid") and inp.vectors is not None
    if p.strategy == "similarity" and inp.vectors is None:
        raise BundleLabError("the similarity strategy needs item text vectors (run embed first)")
    c = build_candidates(inp, min_orders=min_orders, max_size=p.max_size,
                         text_neighbours=p.text_neighbours, cold_max_orders=p.cold_max_orders,
                         pool_size=p.pool_size, variant_similarity=p.variant_similarity,
                         use_text=use_text, use_rules=use_rules,
                         use_rec=p.strategy == "hybrid" and p.w_rec > 0,
                         progress=sub_progress(progress, 0.0, 0.7))
    keep = _filters(c, inp, p, min_orders)
    flagged_idx = np.flatnonzero(c.variant & (c.orders >= min_orders))
    c_all, c = c, c.subset(keep)
    score, eligible = strategy_scores(c, p.strategy, strength=p.strength, w_rules=p.w_rules,
                                      w_text=p.w_text, w_rec=p.w_rec)
    report(progress, 0.75, "choosing bundles for coverage")
    weight = None
    if p.objective == "revenue" and inp.order_revenue is not None:
        weight = np.asarray(inp.order_revenue, dtype=float)
    cover = coverage_matrix(b.matrix.tocsc(), c.sets) if p.strategy != "similarity" else None
    picks, gains = greedy_select(c, score, eligible, n=p.top, max_per_item=p.max_per_item,
                                 cover=cover, order_weight=weight)
    cold_joins = {}
    if p.strategy == "hybrid" and p.cold_share > 0 and inp.vectors is not None:
        cold_items = b.item_counts() <= p.cold_max_orders
        cold_items &= ~_named_items(inp, p.exclude)
        cold_joins = attach_cold([c.sets[i] for i in picks], inp.vectors, cold_items,
                                 max_items=max(1, math.ceil(p.cold_share * p.top)),
                                 max_size=p.max_size, min_similarity=p.cold_min_similarity)
    report(progress, 0.9, "pricing and naming")
    table = _describe(inp, c, picks, gains, score, p, b.n_orders if weight is None else weight.sum(),
                      cold_joins)
    coverage = pd.DataFrame({"bundles": np.arange(1, len(table) + 1),
                             "covered": table["cumulative_coverage"].to_numpy()})
    flagged = _flagged(inp, c_all, flagged_idx)
    if len(table) < p.top:
        inp.notes.append(
            f"only {len(table)} of {p.top} bundles: too few item groups pass the thresholds "
            f"(bought together in at least {min_orders} orders, confidence >= "
            f"{p.min_confidence:.0%}, lift >= {p.min_lift:g}); lower the minimum orders or "
            "confidence for more")
    report(progress, 1.0, f"{len(table)} bundles")
    return BundleResult(table, coverage, flagged, len(c), list(inp.notes),
                        {**asdict(p), "min_orders_used": min_orders},
                        round(time.perf_counter() - t0, 3))


def _describe(inp: BundleInputs, c: Candidates, picks: list[int], gains: list[float],
              score: np.ndarray, p: BundleParams, total_weight: float,
              cold_joins: dict[int, tuple[int, float, int]]) -> pd.DataFrame:
    items = inp.items.reset_index(drop=True)
    ids = items["item_id"].astype(str).to_numpy()
    names = items["item_name"].astype(str).to_numpy()
    price = pd.to_numeric(items.get("price"), errors="coerce").to_numpy(dtype=float)
    cost = pd.to_numeric(items.get("cost"), errors="coerce").to_numpy(dtype=float) \
        if "cost" in items else np.full(len(ids), np.nan)
    counts = inp.baskets.item_counts()
    sets = [c.sets[i] + ((cold_joins[k][0],) if k in cold_joins else ())
            for k, i in enumerate(picks)]
    targets = _target_customers(inp, sets, p.n_customers)
    rows = []
    cum = 0.0
    for rank, (i, gain, s, tgt) in enumerate(zip(picks, gains, sets, targets), start=1):
        join = cold_joins.get(rank - 1)
        s = sorted(s, key=lambda x: -counts[x])
        nm = [names[x] for x in s]
        prov = [k for k, f in (("rules", c.from_rules), ("text", c.from_text),
                               ("recommender", c.from_rec)) if f[i]]
        if join and "text" not in prov:
            prov.append("text")
        lp = float(np.nansum(price[s])) if not np.isnan(price[s]).all() else float("nan")
        cost_sum = float(np.sum(cost[s])) if not np.isnan(cost[s]).any() else None
        bp, note = bundle_price(lp, discount=p.discount, cost=cost_sum, min_margin=p.min_margin)
        cold_items = [x for x in s if counts[x] <= p.cold_max_orders]
        cold_name = names[cold_items[0]] if cold_items else None
        proven = [join[2]] if join else [x for x in s if x not in cold_items]
        sim = float(c.similarity[i]) if not join else join[1]
        cum += gain
        rows.append({
            "bundle_id": f"B{rank:03d}", "name": short_name(nm),
            "items": [ids[x] for x in s], "item_names": nm, "size": len(s),
            "orders_together": int(c.orders[i]), "confidence": float(c.confidence[i]),
            "lift": float(c.lift[i]), "similarity": sim,
            "affinity": float(c.affinity[i]), "score": float(score[i]),
            "provenance": "+".join(prov) or "rules",
            "explanation": explanation(
                orders_together=int(c.orders[i]), lift=float(c.lift[i]),
                confidence=float(c.confidence[i]), anchor=names[s[-1]],
                similarity=sim, shared_words=shared_topic_words(nm),
                provenance=prov, cold_item=cold_name,
                proven_item=names[proven[0]] if proven and cold_name else None),
            "list_price": round(lp, 2) if math.isfinite(lp) else None,
            "bundle_price": bp if math.isfinite(bp) else None, "price_note": note,
            "margin": round(bp - cost_sum, 2) if cost_sum is not None and math.isfinite(bp) else None,
            "target_customers": tgt, "cold_start": bool(cold_items), "variant": bool(c.variant[i]),
            "coverage_gain": gain / total_weight if total_weight else 0.0,
            "cumulative_coverage": cum / total_weight if total_weight else 0.0,
        })
    seen: dict[str, int] = {}
    for row in rows:  # the same short name twice: say what differs
        seen[row["name"]] = seen.get(row["name"], 0) + 1
    for row in rows:
        if seen[row["name"]] > 1:
            row["name"] = f"{row['name']}: {distinct_words(row['item_names'])}"
    cols = ["bundle_id", "name", "items", "item_names", "size", "orders_together", "confidence",
            "lift", "similarity", "affinity", "score", "provenance", "explanation", "list_price",
            "bundle_price", "price_note", "margin", "target_customers", "cold_start", "variant",
            "coverage_gain", "cumulative_coverage"]
    return pd.DataFrame(rows, columns=cols)


def _flagged(inp: BundleInputs, c: Candidates, idx: np.ndarray, limit: int = 50) -> pd.DataFrame:
    names = inp.items["item_name"].astype(str).to_numpy()
    ids = inp.items["item_id"].astype(str).to_numpy()
    idx = idx[np.argsort(-c.orders[idx], kind="stable")][:limit]
    return pd.DataFrame({"items": [[ids[x] for x in c.sets[i]] for i in idx],
                         "item_names": [[names[x] for x in c.sets[i]] for i in idx],
                         "orders_together": c.orders[idx].astype(int),
                         "lift": c.lift[idx], "similarity": c.similarity[idx]})


def with_params(params: BundleParams, **changes: Any) -> BundleParams:
    """A copy of ``params`` with ``changes`` (lists become tuples, so params stay hashable)."""
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()
             if v is not None}
    return replace(params, **fixed)
