"""Choosing N bundles: scores per strategy and greedy marginal-coverage selection.

Strategies (docs/ARCHITECTURE.md §6 compares them at the same list size):
- ``rules``: rule evidence only (the chosen strength measure), candidates from frequent itemsets;
- ``similarity``: fine-tuned text similarity only, candidates from text neighbours;
- ``hybrid``: a weighted sum of rule strength, text similarity and recommender affinity, each as
  a percentile rank within the candidate pool, over all candidates (a signal that is absent gets
  weight 0, see ``hybrid_weights``: the rank of a constant is 0.5, not 0); then items that have no
  sales history yet (cold start) join the chosen bundle whose items their text is closest to
  (``attach_cold``), so they get bundles without costing the list a slot.

Selection: greedy. At each step the candidate with the largest ``gain / (k - 1) * (EPS + score)``
is taken, where ``gain`` is the weight (orders, or revenue) of training orders that hold at least
two of its k items and are not yet covered by a chosen bundle; each item appears in at most
``max_per_item`` bundles, and a bundle that is a subset or superset of a chosen one is skipped.
The list ends early when no candidate covers a new order (it is not padded with bundles nobody
bought). ``similarity`` ranks by score alone (it must not read co-purchase data).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.bundles.candidates import Candidates
from core.bundles.params import BundleParams

# The score's floor in the greedy value ``gain / (k - 1) * (EPS + score)``. With score in [0, 1]
# the score scales a candidate's value by at most (1 + EPS) / EPS = 21: a candidate with the
# lowest score (rank 0, or no rule evidence) is still taken when it covers 21 times the new orders
# of a top-scored one, so the ranking steers the list without vetoing coverage. At 0 such a
# candidate would be worth nothing however many orders it covers; much larger, and coverage alone
# decides.
EPS = 0.05


def percentile(x: np.ndarray) -> np.ndarray:
    """Rank-percentile in (0, 1]; ties share the mean rank; empty stays empty."""
    if len(x) == 0:
        return x.astype(float)
    # pandas' average rank equals scipy.stats.rankdata(method="average") and spares importing
    # scipy.stats (about 1 s) on the first list
    return pd.Series(np.asarray(x)).rank(method="average").to_numpy(dtype=float) / len(x)


def hybrid_weights(w_rules: float, w_text: float, w_rec: float, *, has_text: bool,
                   has_rec: bool) -> tuple[dict[str, float], list[str]]:
    """The weights the hybrid score uses, and a note for each signal that is weighted but absent.

    A signal that is absent (no item text vectors, no trained recommender) is a constant over
    the candidates, and the percentile rank of a constant is 0.5, not 0: weighting it would
    shrink the share of rule evidence in ``EPS + score`` and so change the list while adding no
    information. It gets weight 0 instead, whatever the setting says."""
    weights = {"rules": float(w_rules), "text": float(w_text) if has_text else 0.0,
               "recommender": float(w_rec) if has_rec else 0.0}
    notes = []
    if w_text > 0 and not has_text:
        notes.append(f"text similarity not used (weight {w_text:g} ignored): no item text vectors "
                     "(product descriptions switched off, or no text model)")
    if w_rec > 0 and not has_rec:
        notes.append(f"recommender affinity not used (weight {w_rec:g} ignored): no recommender "
                     "trained for these orders")
    return weights, notes


def strategy_scores(c: Candidates, strategy: str, *, strength: str, w_rules: float, w_text: float,
                    w_rec: float) -> tuple[np.ndarray, np.ndarray]:
    """(score in [0, 1], eligible mask) of every candidate under ``strategy``. The hybrid
    weights are taken as given: zero the absent signals first (``hybrid_weights``)."""
    if strategy == "rules":
        eligible = c.from_rules.copy()
        score = np.zeros(len(c))
        score[eligible] = percentile(c.strength(strength)[eligible])
        return score, eligible
    if strategy == "similarity":
        eligible = c.from_text.copy()
        return np.clip(c.similarity, 0, 1), eligible
    if strategy != "hybrid":
        raise ValueError(f"unknown strategy {strategy!r}")
    total = max(w_rules + w_text + w_rec, 1e-9)
    score = w_rules * percentile(c.strength(strength)) * (c.orders > 0)
    if w_text:
        score = score + w_text * percentile(c.similarity)
    if w_rec:
        score = score + w_rec * percentile(c.affinity)
    return score / total, np.ones(len(c), dtype=bool)


def greedy_select(c: Candidates, score: np.ndarray, eligible: np.ndarray, *, n: int,
                  max_per_item: int, cover: sp.csc_matrix | None,
                  order_weight: np.ndarray | None,
                  value_factor: np.ndarray | None = None,
                  taken: Sequence[tuple[int, ...]] = ()) -> tuple[list[int], list[float]]:
    """Indices of the chosen candidates (in pick order) and the weight each newly covered.
    ``value_factor``: per candidate, a multiplier of its greedy value (the ``incremental``
    objective's share of covered orders above chance). ``taken``: bundles already in the list
    (chosen from another pool): they count against ``max_per_item`` and no pick may contain or
    be contained in one; the orders they cover should have weight 0 in ``order_weight``."""
    # a k-item bundle covers an order through any of its k(k-1)/2 pairs: compare per item pair
    # added, so a big bundle must earn its size (keeps bundles coherent)
    size_norm = np.array([len(s) - 1 for s in c.sets], dtype=float)
    if value_factor is not None:
        size_norm = size_norm / np.maximum(value_factor, 1e-9)
    per_item: dict[int, int] = {}
    for t in taken:
        for x in t:
            per_item[x] = per_item.get(x, 0) + 1
    chosen: list[int] = []
    gains_out: list[float] = []
    chosen_sets: list[frozenset] = [frozenset(t) for t in taken]
    alive = eligible.copy()
    u = None
    if cover is not None:
        u = np.ones(cover.shape[0]) if order_weight is None else order_weight.astype(float).copy()

    def ok(i: int) -> bool:
        s = frozenset(c.sets[i])
        if any(per_item.get(x, 0) >= max_per_item for x in s):
            return False
        return not any(s <= t or t <= s for t in chosen_sets)

    def take(i: int, gain: float) -> None:
        chosen.append(i)
        gains_out.append(gain)
        chosen_sets.append(frozenset(c.sets[i]))
        for x in c.sets[i]:
            per_item[x] = per_item.get(x, 0) + 1
        alive[i] = False

    while len(chosen) < n and alive.any():
        if u is not None:
            gains = cover.T @ u
            value = np.where(alive & (gains > 0), gains / size_norm * (EPS + score), -1.0)
        else:
            gains = np.zeros(len(c))
            value = np.where(alive, score, -1.0)
        if value.max() < 0:  # nothing eligible covers a new order: the list ends here
            break
        for i in np.argsort(-value, kind="stable"):
            if value[i] < 0:
                break
            if ok(i):
                take(int(i), float(gains[i]))
                if u is not None:
                    rows = cover.indices[cover.indptr[i]:cover.indptr[i + 1]]
                    u[rows] = 0.0
                break
            alive[i] = False
        else:
            break
    return chosen, gains_out


def join_cold(sets: list[tuple[int, ...]], n_own: int, vectors: np.ndarray, cold: np.ndarray,
              *, max_items: int, max_size: int, min_similarity: float
              ) -> dict[int, tuple[int, float, int]]:
    """``attach_cold`` on a list whose first ``n_own`` bundles are its own and the rest a fill
    (``core.bundles.build.fill_list``): the own bundles take new items first, the fill gets
    what is left of ``max_items`` and of the new items, so a fill never changes the own
    bundles."""
    joins = attach_cold(sets[:n_own], vectors, cold, max_items=max_items, max_size=max_size,
                        min_similarity=min_similarity)
    left = max_items - len(joins)
    if n_own < len(sets) and left > 0:
        free = cold.copy()
        free[[j[0] for j in joins.values()]] = False
        more = attach_cold(sets[n_own:], vectors, free, max_items=left, max_size=max_size,
                           min_similarity=min_similarity)
        joins.update({n_own + k: v for k, v in more.items()})
    return joins


def attach_cold(sets: list[tuple[int, ...]], vectors: np.ndarray, cold: np.ndarray, *,
                max_items: int, max_size: int, min_similarity: float
                ) -> dict[int, tuple[int, float, int]]:
    """Cold-start items joining chosen bundles: for each bundle (position in ``sets``) at most
    one cold item, each cold item in at most one bundle, at most ``max_items`` in all, best
    similarity first. Similarity = cosine of the cold item to the bundle's closest item, at
    least ``min_similarity``. Returns {position: (cold item, similarity, closest item)}."""
    if not len(sets) or not cold.any() or max_items <= 0:
        return {}
    cold_idx = np.flatnonzero(cold)
    offers = []
    for pos, s in enumerate(sets):
        if len(s) >= max_size:
            continue
        sims = vectors[cold_idx] @ vectors[list(s)].T  # (n_cold, |s|)
        best = sims.argmax(axis=1)
        for ci, b, sim in zip(cold_idx, best, sims[np.arange(len(cold_idx)), best]):
            if sim >= min_similarity and ci not in s:
                offers.append((float(sim), pos, int(ci), int(s[b])))
    out: dict[int, tuple[int, float, int]] = {}
    used: set[int] = set()
    for sim, pos, ci, near in sorted(offers, key=lambda o: (-o[0], o[1], o[2])):
        if len(out) >= max_items:
            break
        if pos in out or ci in used:
            continue
        out[pos] = (ci, sim, near)
        used.add(ci)
    return out


def two_or_more(p: np.ndarray) -> np.ndarray:
    """P(at least two of a bundle's items are in an order) when each item is bought
    independently with probability ``p`` (``(..., k)``: the last axis holds a bundle's items)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    q = 1.0 - p
    none = q.prod(axis=-1)
    # exactly one: sum_i p_i * prod_{j != i} q_j, without dividing by a q that may be 0
    one = np.zeros(none.shape)
    for i in range(p.shape[-1]):
        one = one + p[..., i] * np.delete(q, i, axis=-1).prod(axis=-1)
    return np.clip(1.0 - none - one, 0.0, 1.0)


def independent_attach(p) -> float:
    """The attach rate P(>= 2 items | >= 1 item) of a bundle whose items (order shares ``p``) are
    bought independently of each other: what popularity alone gives."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return 0.0
    any_item = 1.0 - np.prod(1.0 - np.clip(p, 0.0, 1.0))
    return float(two_or_more(p) / any_item) if any_item > 0 else 0.0


def excess_share(c: Candidates, item_share: np.ndarray, covered_share: np.ndarray) -> np.ndarray:
    """Per candidate, the share of its covered orders (orders holding >= 2 of its items; their
    share of all orders is ``covered_share``) that independent purchases would not explain:
    ``max(0, 1 - expected / covered)``, ``expected`` being P(>= 2 items) when each item is bought
    independently with its order share ``item_share``. The weight of the ``incremental``
    objective: two best sellers that meet by chance are worth about 0."""
    out = np.zeros(len(c))
    by_size: dict[int, list[int]] = {}
    for i, s in enumerate(c.sets):
        by_size.setdefault(len(s), []).append(i)
    for idx in by_size.values():
        expected = two_or_more(item_share[np.asarray([c.sets[i] for i in idx], dtype=np.int64)])
        got = covered_share[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[idx] = np.where(got > 0, np.clip(1.0 - expected / got, 0.0, 1.0), 0.0)
    return out


def recency_weights(order_time: np.ndarray | None, days: float) -> np.ndarray | None:
    """Per training order, ``0.5 ** (age / days)`` with ``age`` the days before the last order
    (undated orders get the median weight); None when off (``days`` 0) or without dates."""
    if not days or order_time is None:
        return None
    t = pd.to_datetime(pd.Series(order_time))
    if t.isna().all():
        return None
    age = (t.max() - t).dt.total_seconds().to_numpy() / 86400.0
    w = 0.5 ** (age / float(days))
    return np.where(np.isnan(w), np.nanmedian(w), w)


def select(c: Candidates, score: np.ndarray, eligible: np.ndarray, p: BundleParams, cover,
           weight: np.ndarray | None, item_counts: np.ndarray, n_orders: int,
           order_time: np.ndarray | None,
           taken: list[tuple[int, ...]] = ()) -> tuple[list[int], list[float]]:
    """Greedy selection with the settings' order weights (``weight``: revenue or None, times
    recency) and value factor (``incremental``). The gains returned are in ``weight`` (orders,
    or revenue) without recency, so the list's coverage stays a share of real orders."""
    recency = recency_weights(order_time, p.recency_days) if cover is not None else None
    sel_weight = weight if recency is None else recency * (1.0 if weight is None else weight)
    factor = None
    if p.incremental and cover is not None:
        n = max(n_orders, 1)
        covered = np.asarray(cover.sum(axis=0)).ravel() / n
        factor = excess_share(c, np.asarray(item_counts, dtype=float) / n, covered)
    picks, gains = greedy_select(c, score, eligible, n=p.top, max_per_item=p.max_per_item,
                                 cover=cover, order_weight=sel_weight, value_factor=factor,
                                 taken=taken)
    if recency is not None:
        gains = plain_gains(cover, picks, weight)
    return picks, gains


def plain_gains(cover, picks: list[int], weight: np.ndarray | None) -> list[float]:
    """The weight (orders, or ``weight``) each pick newly covers, in pick order."""
    u = np.ones(cover.shape[0]) if weight is None else np.asarray(weight, dtype=float).copy()
    out = []
    for i in picks:
        rows = cover.indices[cover.indptr[i]:cover.indptr[i + 1]]
        out.append(float(u[rows].sum()))
        u[rows] = 0.0
    return out
