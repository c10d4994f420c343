"""Bundle candidates and their evidence.

Candidates come from three sources, all measured on the same training baskets:
- ``rules``: frequent itemsets of 2..max_size items (exact counts, ``core.rules.itemsets``);
- ``text``: fine-tuned text-embedding neighbours (this is how items without sales get bundles);
- ``recommender``: items the recommender scores highest for a customer holding the anchor.

Each candidate gets: orders together, item counts, confidence (the best single-item rule
``i -> rest``: orders together / orders of the least frequent item), all-confidence (/ the most
frequent item), lift (of that rule: confidence / share of orders holding the rest), mean
pairwise text similarity, mean pairwise recommender affinity, and a variant flag (same product in
another colour/size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import Baskets
from core.errors import TooManyItemsets
from core.progress import Progress, report
from core.rules.copurchase import PairCounts
from core.text import is_variant_pair, item_texts, variant_flags  # noqa: F401 (the one rule)
from core.topk import top_k

# Best sellers whose text neighbours and recommender add-ons become candidates: enough to reach
# past the head of a 4,000-item shop, few enough that a 90,000-item catalog stays a few seconds
# (a neighbour search costs anchors x items; an affinity row costs a model pass per anchor).
TEXT_ANCHORS = 1500
REC_ANCHORS = 500
# affinity rows read at once: all 500 anchors of a 90,000-item catalog are 360 MB of float64 (and
# as much again inside the recommender), so they are read in chunks of ~8 M cells
REC_CELLS = 8 * 2**20

# The most itemsets the bundle miner counts before it lowers the bundle size (with a note). Lower
# than the Rules page's limit (``core.rules.itemsets.DEFAULT_MAX_ITEMSETS``): of each size only
# the ``pool_size`` most-bought and ``pool_size / 4`` most confident itemsets become candidates,
# and a list is rebuilt on every settings change of the Bundles page, so a setting that needs
# millions of itemsets is better served by smaller bundles at once than by minutes of counting.
MAX_MINED_ITEMSETS = 2_000_000


@dataclass
class BundleInputs:
    """Everything candidate generation needs, aligned to ``baskets.item_ids`` (all known items,
    sold or not). ``vectors``: fine-tuned text vectors (L2-normalised) or None; ``base_vectors``:
    base-model vectors for variant detection or None: an array (one row per item) or rows on
    demand (``core.text.LazyItemVectors``: ``len()`` items, ``rows(indices)`` encodes only the
    items asked for); ``affinity(cols) -> (n, n)`` recommender
    item-item affinity in [0, 1] or None; ``order_revenue``: revenue per basket row."""

    baskets: Baskets
    items: pd.DataFrame  # item_id, item_name, category, price, cost (aligned)
    vectors: np.ndarray | None = None
    base_vectors: np.ndarray | None = None
    affinity: Callable[[np.ndarray], np.ndarray] | None = None
    order_revenue: np.ndarray | None = None
    customers: np.ndarray | None = None  # customer id per basket row (None entries allowed)
    order_time: np.ndarray | None = None  # timestamp per basket row (datetime64; NaT allowed)
    # customer_scores(cols) -> (customer ids, (n_customers, len(cols)) scores): the trained
    # recommender's scores of the given items for every known customer
    customer_scores: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    # orders holding each pair, counted on Spark (``core.rules.copurchase``), or None; read only
    # for baskets with the same per-item order counts (the same orders)
    pair_counts: PairCounts | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Candidates:
    """Parallel arrays, one entry per candidate; ``sets`` are tuples of column indices."""

    sets: list[tuple[int, ...]]
    orders: np.ndarray
    confidence: np.ndarray
    all_confidence: np.ndarray
    lift: np.ndarray
    similarity: np.ndarray
    affinity: np.ndarray
    from_rules: np.ndarray
    from_text: np.ndarray
    from_rec: np.ndarray
    variant: np.ndarray
    cold: np.ndarray  # holds an item without (enough) training sales

    def __len__(self) -> int:
        return len(self.sets)

    def strength(self, name: str) -> np.ndarray:
        return {"confidence": self.confidence, "all_confidence": self.all_confidence,
                "lift": self.lift, "orders": self.orders.astype(float)}[name]

    def subset(self, mask: np.ndarray) -> "Candidates":
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask, int)
        return Candidates([self.sets[i] for i in idx], *(getattr(self, f)[idx] for f in ARRAYS))

    def then(self, other: "Candidates") -> "Candidates":
        """These candidates followed by ``other``'s."""
        return Candidates(self.sets + other.sets, *(np.concatenate(
            [getattr(self, f), getattr(other, f)]) for f in ARRAYS))


ARRAYS = ("orders", "confidence", "all_confidence", "lift", "similarity", "affinity", "from_rules",
          "from_text", "from_rec", "variant", "cold")


def mine_itemsets(baskets: Baskets, *, min_orders: int, max_size: int, pool_size: int,
                  progress: Progress | None = None, below: int = 0
                  ) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray, str | None]:
    """Per size 2..max_size, the ``pool_size`` most-bought frequent itemsets and the
    ``pool_size / 4`` most confident ones (rule least-frequent item -> rest), as column tuples,
    with their order counts and the order counts of the rest (for the rule's lift); ``below``:
    only among those bought together in fewer orders than this (a fill's pool). When the
    setting would produce more than ``MAX_MINED_ITEMSETS`` itemsets, the size is lowered and a
    note says so."""
    from core.rules.itemsets import frequent_itemsets

    note = None
    for size in range(max_size, 1, -1):
        try:
            fi = frequent_itemsets(baskets, min_support=min_orders, max_len=size,
                                   max_itemsets=MAX_MINED_ITEMSETS, progress=progress)
            break
        except TooManyItemsets:
            note = (f"too many frequent itemsets of up to {size} items at {min_orders} orders: "
                    f"bundles of up to {size - 1} items were mined instead")
    else:  # pragma: no cover - pairs always fit under the limit at a sane support
        return [], np.zeros(0, np.int64), np.zeros(0, np.int64), note
    item_counts = baskets.item_counts()
    parts = []
    for k, rows in fi.sets.items():
        if k < 2 or not len(rows):
            continue
        # ranks ascend with frequency: column 0 is the least frequent item (the anchor)
        cnt = fi.counts[k]
        if below:
            rows, cnt = rows[cnt < below], cnt[cnt < below]
            if not len(rows):
                continue
        anchor = item_counts[fi.columns[rows[:, 0]]]
        rest = fi.lookup(k - 1, np.ascontiguousarray(rows[:, 1:])) if k > 2 else \
            item_counts[fi.columns[rows[:, 1]]]
        parts.append((k, rows, cnt, cnt / anchor, rest))
    if not parts:
        return [], np.zeros(0, np.int64), np.zeros(0, np.int64), note
    sets, counts, rests = [], [], []
    for k, rows, cnt, conf, rest in parts:
        # per size: the most-bought itemsets (coverage) and the most confident ones (attach)
        sel = np.union1d(top_k(cnt, pool_size), top_k(conf, pool_size // 4))
        cols = np.sort(fi.columns[rows[sel]], axis=1)
        sets.extend(map(tuple, cols.tolist()))
        counts.append(cnt[sel])
        rests.append(rest[sel])
    return sets, np.concatenate(counts), np.concatenate(rests), note


def top_neighbours(vectors: np.ndarray, anchors: np.ndarray, k: int,
                   allowed: np.ndarray | None = None, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` cosine neighbours of each anchor row (itself excluded), optionally only among
    ``allowed`` columns (bool mask). Chunked, so 90,000-item catalogs fit in memory."""
    out_idx = np.zeros((len(anchors), k), dtype=np.int64)
    out_sim = np.zeros((len(anchors), k), dtype=np.float32)
    for start in range(0, len(anchors), chunk):
        a = anchors[start:start + chunk]
        sims = vectors[a] @ vectors.T
        sims[np.arange(len(a)), a] = -np.inf
        if allowed is not None:
            sims[:, ~allowed] = -np.inf
        best = top_k(sims, min(k, sims.shape[1] - 1))  # self is -inf: never among them
        out_idx[start:start + len(a), :best.shape[1]] = best
        out_sim[start:start + len(a), :best.shape[1]] = np.take_along_axis(sims, best, axis=1)
    return out_idx, out_sim


def _rows_with_at_least(csc: sp.csc_matrix, cols: tuple[int, ...], m: int) -> np.ndarray:
    rows = np.concatenate([csc.indices[csc.indptr[c]:csc.indptr[c + 1]] for c in cols])
    if m <= 1:
        return np.unique(rows)
    uniq, cnt = np.unique(rows, return_counts=True)
    return uniq[cnt >= m]


def co_counts(csc: sp.csc_matrix, sets: list[tuple[int, ...]],
              pairs: PairCounts | None = None) -> np.ndarray:
    """Orders holding all items of each set; a pair's count read from ``pairs`` when they were
    counted on exactly these orders (``csc``'s per-item counts), else counted here."""
    out = np.zeros(len(sets), dtype=np.int64)
    if pairs is not None and not pairs.fits(np.diff(csc.indptr)):
        pairs = None  # other orders (an earlier part of the period): count them here
    two = np.array([len(s) == 2 for s in sets], dtype=bool)
    if pairs is not None and two.any():
        ab = np.array([s for s, t in zip(sets, two) if t], dtype=np.int64)
        out[two] = np.asarray(pairs.matrix[ab[:, 0], ab[:, 1]]).ravel()
    for i in np.flatnonzero(~two if pairs is not None else np.ones(len(sets), dtype=bool)):
        out[i] = len(_rows_with_at_least(csc, sets[i], len(sets[i])))
    return out


def coverage_matrix(csc: sp.csc_matrix, sets: list[tuple[int, ...]]) -> sp.csc_matrix:
    """(orders x candidates) bool: the order holds at least two items of the candidate."""
    indptr = [0]
    indices = []
    for s in sets:
        rows = _rows_with_at_least(csc, s, 2)
        indices.append(rows)
        indptr.append(indptr[-1] + len(rows))
    idx = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
    return sp.csc_matrix((np.ones(len(idx), dtype=np.float32), idx, np.asarray(indptr)),
                         shape=(csc.shape[0], len(sets)))


def _mean_pairwise(mat_fn: Callable[[np.ndarray], np.ndarray] | None, sets) -> np.ndarray:
    if mat_fn is None:
        return np.zeros(len(sets), dtype=float)
    out = np.zeros(len(sets), dtype=float)
    for i, s in enumerate(sets):
        m = mat_fn(np.asarray(s))
        k = len(s)
        out[i] = (m.sum() - np.trace(m)) / (k * (k - 1))
    return out


def _pairwise_affinity(affinity: Callable[[np.ndarray], np.ndarray], sets,
                       chunk: int = 256) -> np.ndarray:
    """Mean pairwise recommender affinity of each set, scoring each anchor item once (in chunks:
    one anchor's row spans the whole catalog)."""
    pairs: dict[int, set[int]] = {}
    for s in sets:
        for x in s:
            pairs.setdefault(x, set()).update(y for y in s if y != x)
    value: dict[tuple[int, int], float] = {}
    anchors = sorted(pairs)
    for start in range(0, len(anchors), chunk):
        part = np.asarray(anchors[start:start + chunk])
        rows = affinity(part)
        for r, x in enumerate(part):
            for y in pairs[int(x)]:
                value[(int(x), y)] = float(rows[r, y])
    return np.array([np.mean([value[(x, y)] for x in s for y in s if x != y]) for s in sets])


def build_candidates(inp: BundleInputs, *, min_orders: int, max_size: int, text_neighbours: int,
                     cold_max_orders: int, pool_size: int, variant_similarity: float,
                     use_text: bool = True, use_rules: bool = True, use_rec: bool = True,
                     progress: Progress | None = None, rules_below: int = 0) -> Candidates:
    """All candidates with their evidence (see the module docstring)."""
    b = inp.baskets
    csc = b.matrix.tocsc()
    counts = b.item_counts()
    n = max(b.n_orders, 1)
    found: dict[tuple[int, ...], set[str]] = {}
    known_counts: dict[tuple[int, ...], int] = {}
    rest_counts: dict[tuple[int, ...], int] = {}
    if use_rules:
        report(progress, 0.0, "mining frequent itemsets")
        sets, cnts, rests, note = mine_itemsets(b, min_orders=min_orders, max_size=max_size,
                                                pool_size=pool_size, below=rules_below)
        if note:
            inp.notes.append(note)
        for s, c, r in zip(sets, cnts, rests):
            found.setdefault(s, set()).add("rules")
            known_counts[s] = int(c)
            rest_counts[s] = int(r)
    report(progress, 0.4, "finding text neighbours")
    cold_mask = counts <= cold_max_orders
    proven = counts >= min_orders
    if use_text and inp.vectors is not None and len(inp.vectors):
        # anchors: the best sellers (their neighbours are the likeliest complements) and every
        # cold item (text is all it has)
        top_sold = top_k(counts, min(TEXT_ANCHORS, int((counts > 0).sum())))
        anchors = np.unique(np.concatenate([top_sold, np.flatnonzero(cold_mask)]))
        idx, _ = top_neighbours(inp.vectors, anchors, text_neighbours)
        for a, row in zip(anchors, idx):
            for j in row:
                found.setdefault(tuple(sorted((int(a), int(j)))), set()).add("text")
        cold = np.flatnonzero(cold_mask)
        if len(cold) and proven.any():  # cold items next to proven sellers
            idx, _ = top_neighbours(inp.vectors, cold, text_neighbours, allowed=proven)
            for a, row in zip(cold, idx):
                for j in row:
                    found.setdefault(tuple(sorted((int(a), int(j)))), set()).add("text")
    if use_rec and inp.affinity is not None:
        report(progress, 0.6, "reading recommender affinities")
        top_sold = top_k(counts, min(REC_ANCHORS, int((counts > 0).sum())))
        step = max(1, REC_CELLS // max(b.n_items, 1))  # anchors x items per chunk
        for start in range(0, len(top_sold), step):
            part = top_sold[start:start + step]
            aff = inp.affinity(part)  # (len(part), n_items)
            aff[np.arange(len(part)), part] = -np.inf
            best = top_k(aff, text_neighbours)
            for a, row in zip(part, best):
                for j in row:
                    found.setdefault(tuple(sorted((int(a), int(j)))), set()).add("recommender")
    report(progress, 0.7, f"scoring {len(found):,} candidates")
    sets = [s for s in found if len(set(s)) == len(s)]
    missing = [s for s in sets if s not in known_counts]
    for s, c in zip(missing, co_counts(csc, missing, inp.pair_counts)):
        known_counts[s] = int(c)
    together = np.array([known_counts[s] for s in sets], dtype=np.int64)
    mins = np.array([counts[list(s)].min() for s in sets], dtype=float)
    maxs = np.array([counts[list(s)].max() for s in sets], dtype=float)
    # lift of the rule "least frequent item -> the rest" (mlxtend's rule lift; for pairs the
    # usual lift). The rest's count is known for mined itemsets; other candidates are pairs.
    rest = np.array([rest_counts.get(s, counts[list(s)].max() if len(s) == 2 else 0)
                     for s in sets], dtype=float)
    missing_rest = [i for i, s in enumerate(sets) if len(s) > 2 and s not in rest_counts]
    if missing_rest:
        rest_sets = [tuple(sorted(sets[i], key=lambda x: counts[x])[1:]) for i in missing_rest]
        rest[missing_rest] = co_counts(csc, rest_sets, inp.pair_counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = np.where(mins > 0, together / mins, 0.0)
        allc = np.where(maxs > 0, together / maxs, 0.0)
        lift = np.where(rest > 0, conf / (rest / n), 0.0)
    vec = inp.vectors
    sim = _mean_pairwise((lambda c: vec[c] @ vec[c].T) if vec is not None else None, sets)
    rec_chunk = max(1, min(256, REC_CELLS // max(b.n_items, 1)))  # 256 up to ~32,000 items
    aff = _pairwise_affinity(inp.affinity, sets, chunk=rec_chunk) \
        if use_rec and inp.affinity is not None else np.zeros(len(sets))
    # Variant flags: word rules first; base-model similarity only for the pairs they leave open,
    # their rows read at once (lazy base vectors encode just those items). With co-purchase
    # rules in use a candidate bought together in fewer than min_orders orders is dropped as
    # weak and never flagged, so the word rules alone judge it (the flag is never read).
    names = item_texts(inp.items, with_category=False).to_numpy()
    variant = variant_flags(sets, names, inp.base_vectors, variant_similarity,
                            needed=together >= min_orders if use_rules else None)
    prov = [found[s] for s in sets]
    report(progress, 1.0, f"{len(sets):,} candidates")
    return Candidates(
        sets=sets, orders=together, confidence=conf, all_confidence=allc, lift=lift,
        similarity=sim, affinity=aff,
        from_rules=np.array(["rules" in p for p in prov], dtype=bool),
        from_text=np.array(["text" in p for p in prov], dtype=bool),
        from_rec=np.array(["recommender" in p for p in prov], dtype=bool),
        variant=variant,
        cold=np.array([bool(cold_mask[list(s)].any()) for s in sets], dtype=bool))
