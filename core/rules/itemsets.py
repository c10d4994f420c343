"""Exact frequent itemsets from ``Baskets``: pair counts from a sparse product, longer itemsets
level by level, counted with bitsets inside each item's conditional database.

How it works (and why it is fast and memory-safe):

- Items below the support threshold are dropped; the rest get a *rank* in ascending frequency.
  An itemset is written in rank order, so its first item is its rarest one.
- Pairs: exact counts from ``X^T X`` over the frequent columns, computed in column blocks whose
  work is bounded (wholesale orders with hundreds of lines make ``X^T X`` denser, not bigger than
  ``n_frequent^2``), thresholded block by block.
- Length k >= 3 (apriori-style, level by level over all items): the frequent (k-1)-itemsets that
  start with item ``a`` and share their first k-2 items are joined pairwise; a candidate survives
  the pre-check when its two last items form a frequent pair (k = 3) or a frequent triple with
  ``a`` (k >= 4). Candidates are counted exactly as ``popcount(AND of bitsets)`` where the bitsets
  only span the orders that hold ``a`` (the rarest item), so they are short.
- Guard rail: before each level the number of new itemsets is estimated from its candidates and
  the survival rate of the previous level; a setting whose estimate exceeds ``max_itemsets`` stops
  with ``TooManyItemsets`` before that level is counted, and a hard stop while counting makes sure
  no more than ``max_itemsets`` itemsets are ever held (``core.rules.guard``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from core.baskets import Baskets
from core.errors import BundleLabError
from core.progress import Progress, report
from core.rules.counting import JOIN_CHUNK, BitsCache, LevelCounter, joins, pair_counts
from core.rules.guard import Guard

DEFAULT_MAX_ITEMSETS = 5_000_000


@dataclass(frozen=True)
class MiningParams:
    """Frequent-itemset settings (a cache key as well).

    - ``min_support``: below 1 a share of orders, a whole number >= 1 an order count;
    - ``max_len``: longest itemset (0 = no cap; the guard rail still applies);
    - ``max_itemsets``: stop with ``TooManyItemsets`` beyond this many itemsets.
    """

    min_support: float = 0.01
    max_len: int = 4
    max_itemsets: int = DEFAULT_MAX_ITEMSETS


def min_count_for(min_support: float, n_orders: int) -> int:
    """The order count a ``min_support`` means: a whole number >= 1 is a count; a share below 1
    gives the smallest count c with ``c / n_orders >= min_support`` (mlxtend's float test)."""
    try:
        value = float(min_support)
    except (TypeError, ValueError):
        raise BundleLabError(f"min_support {min_support!r} is not a number: use a share of orders "
                             "below 1 (e.g. 0.01) or a whole number of orders (e.g. 20)") from None
    if not math.isfinite(value) or value <= 0:
        raise BundleLabError(f"min_support must be above 0, got {min_support!r}: use a share of "
                             "orders below 1 (e.g. 0.01) or a whole number of orders (e.g. 20)")
    if value >= 1:
        if value != int(value):
            raise BundleLabError(f"min_support {min_support!r} is neither a share below 1 nor a whole "
                                 f"number of orders: use e.g. {int(value)} orders or 0.01 of orders")
        return int(value)
    n = max(int(n_orders), 1)
    c = max(1, math.ceil(value * n))
    while c > 1 and (c - 1) / n >= value:
        c -= 1
    while c / n < value:
        c += 1
    return c


def check_max_len(max_len: int | None) -> int:
    """``max_len`` as an int >= 0 (0 = no cap)."""
    if max_len is None:
        return 0
    if int(max_len) != max_len or max_len < 0:
        raise BundleLabError(f"max_len must be a whole number >= 0 (0 = no cap), got {max_len!r}")
    return int(max_len)


@dataclass
class Itemsets:
    """Frequent itemsets of a ``Baskets``.

    ``sets[k]`` is an int32 array (n_k, k) of item *ranks* (``columns[rank]`` is the Baskets
    column, ranks run in ascending frequency), each row ascending, rows in lexicographic order;
    ``counts[k]`` the number of orders holding each itemset. ``to_frame`` gives the table.
    """

    item_ids: np.ndarray
    n_orders: int
    min_count: int
    max_len: int
    columns: np.ndarray
    sets: dict[int, np.ndarray]
    counts: dict[int, np.ndarray]
    seconds: float = 0.0
    _keys: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def min_support(self) -> float:
        return self.min_count / max(self.n_orders, 1)

    def lengths(self) -> dict[int, int]:
        """{length: number of itemsets} for every non-empty length."""
        return {k: int(len(v)) for k, v in sorted(self.sets.items()) if len(v)}

    def __len__(self) -> int:
        return sum(self.lengths().values())

    def rank_of(self, item_ids) -> np.ndarray:
        """Ranks of the given item ids; -1 for ids that are not frequent items."""
        col_rank = np.full(len(self.item_ids), -1, dtype=np.int64)
        col_rank[self.columns] = np.arange(len(self.columns))
        index = pd.Index(self.item_ids)
        cols = index.get_indexer(list(item_ids))
        return np.where(cols >= 0, col_rank[np.maximum(cols, 0)], -1)

    def ids_of(self, ranks: np.ndarray) -> list[tuple]:
        """Each row of ranks as a tuple of item ids, in Baskets column order."""
        if ranks.shape[0] == 0:
            return []
        cols = np.sort(self.columns[ranks], axis=1)
        ids = self.item_ids[cols]
        return list(map(tuple, ids.tolist()))

    def key(self, k: int, rows: np.ndarray) -> np.ndarray:
        """Sortable keys of rank rows of length k (int64 when they fit, else bytes)."""
        base = len(self.columns)
        if base ** k < 2 ** 62:
            out = np.zeros(rows.shape[0], dtype=np.int64)
            for j in range(k):
                out = out * base + rows[:, j]
            return out
        be = np.ascontiguousarray(rows.astype(">u4"))
        return be.view(f"S{4 * k}").ravel()

    def lookup(self, k: int, rows: np.ndarray) -> np.ndarray:
        """Order counts of the given frequent itemsets (rank rows of length k, ascending)."""
        if k not in self._keys:
            self._keys[k] = self.key(k, self.sets[k])
        keys = self._keys[k]
        q = self.key(k, rows)
        pos = np.searchsorted(keys, q)
        pos = np.minimum(pos, len(keys) - 1)
        if len(q) and not np.array_equal(keys[pos], q):
            raise AssertionError("an itemset's subset is missing from the frequent itemsets")
        return self.counts[k][pos]

    def to_frame(self, names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Columns: support (share of orders), itemsets (tuple of item ids), length, orders
        (count), plus itemsets_names when ``names`` is given; by length, then support desc."""
        parts = []
        for k, rows in sorted(self.sets.items()):
            if not len(rows):
                continue
            cnt = self.counts[k]
            part = pd.DataFrame({"support": cnt / float(self.n_orders),
                                 "itemsets": self.ids_of(rows), "length": k,
                                 "orders": cnt.astype(np.int64)})
            parts.append(part.sort_values("support", ascending=False, kind="stable"))
        if not parts:
            df = pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": pd.Series(dtype=object),
                               "length": pd.Series(dtype=np.int64), "orders": pd.Series(dtype=np.int64)})
        else:
            df = pd.concat(parts, ignore_index=True)
        if names is not None:
            df["itemsets_names"] = [tuple(names.get(i, i) for i in s) for s in df["itemsets"]]
        return df


def _chunks(reps: np.ndarray, size: int):
    """[lo, hi) row ranges whose joins add up to about ``size`` (at least one row each)."""
    csum = np.cumsum(reps)
    lo, n = 0, len(reps)
    while lo < n:
        base = int(csum[lo - 1]) if lo else 0
        hi = min(max(int(np.searchsorted(csum, base + size, side="right")), lo + 1), n)
        yield lo, hi
        lo = hi


def frequent_itemsets(baskets: Baskets, *, min_support: float = 0.01, max_len: int = 4,
                      max_itemsets: int = DEFAULT_MAX_ITEMSETS,
                      progress: Progress | None = None) -> Itemsets:
    """All itemsets held by at least ``min_support`` of the orders (a share below 1, or a whole
    number of orders), up to ``max_len`` items (0 = no cap). Exact: the same itemsets and counts as
    mlxtend's apriori/fpgrowth. Raises ``TooManyItemsets`` (before the memory is spent) when the
    setting would give more than ``max_itemsets``; the message proposes a setting that fits."""
    t0 = time.perf_counter()
    max_len = check_max_len(max_len)
    n = baskets.n_orders
    min_count = min_count_for(min_support, n)
    guard = Guard(max_itemsets, float(min_support), min_count, n, max_len)
    report(progress, 0.0, "counting items")
    X = baskets.matrix
    counts1 = baskets.item_counts()
    freq = np.flatnonzero(counts1 >= min_count)
    columns = freq[np.argsort(counts1[freq], kind="stable")]
    R = len(columns)
    sets = {1: np.arange(R, dtype=np.int32)[:, None]}
    cnts = {1: counts1[columns].astype(np.int64)}
    guard.done[1] = R
    guard.check_count(1, 0)

    def result() -> Itemsets:
        report(progress, 1.0, f"{sum(len(v) for v in sets.values()):,} itemsets")
        return Itemsets(item_ids=baskets.item_ids, n_orders=n, min_count=min_count,
                        max_len=max_len, columns=columns, sets=sets, counts=cnts,
                        seconds=time.perf_counter() - t0)

    if R < 2 or max_len == 1:
        return result()
    Xf = X[:, columns].astype(np.int32).tocsr()
    Xf.sort_indices()
    pairs, pcounts = pair_counts(Xf, min_count, lambda found: guard.check_count(2, found), progress)
    sets[2], cnts[2] = pairs, pcounts
    guard.done[2] = len(pairs)
    guard.check_count(2, 0)
    if max_len == 2 or len(pairs) < 3:
        return result()

    Xc = X[:, columns].tocsc()
    Xc.sort_indices()
    cache = BitsCache()
    survival = None
    k = 3
    while (max_len == 0 or k <= max_len) and len(sets[k - 1]):
        prev = sets[k - 1]
        n_joins = joins(prev, R)
        if survival is not None:
            guard.check_estimate(k, n_joins * survival)
        level = LevelCounter(Xf, Xc, min_count, R, pairs, sets.get(3), cache)
        starts = np.searchsorted(prev[:, 0], np.arange(R + 1))
        new_sets, new_cnts = [], []
        found = 0
        span = max(max_len - 2, 1) if max_len else None
        frac0 = 0.2 + 0.8 * ((k - 3) / span if span else 1 - 0.6 ** (k - 3))
        frac1 = 0.2 + 0.8 * ((k - 2) / span if span else 1 - 0.6 ** (k - 2))
        last_report = time.perf_counter()
        for a in np.flatnonzero(np.diff(starts) >= (1 if k == 3 else 2)):
            cond = level.cond(a)
            if k == 3:
                parents = np.arange(len(cond), dtype=np.int64)[:, None]
            else:
                parents = np.searchsorted(cond, prev[starts[a]:starts[a + 1], 1:])
            reps = level.joins(a, parents, cond, k)
            for lo, hi in _chunks(reps, JOIN_CHUNK):
                i, j = level.candidates(a, parents, cond, k, reps, lo, hi)
                if not len(i):
                    continue
                c = level.count(a, parents, cond, i, j)
                ok = c >= min_count
                if ok.any():
                    ii, jj = i[ok], j[ok]
                    rows = np.empty((len(ii), k), dtype=np.int32)
                    rows[:, 0] = a
                    rows[:, 1:k - 1] = cond[parents[ii]]
                    rows[:, k - 1] = cond[parents[jj, -1]]
                    new_sets.append(rows)
                    new_cnts.append(c[ok])
                    found += len(ii)
                    guard.check_count(k, found)
                now = time.perf_counter()
                if now - last_report > 0.2:
                    last_report = now
                    report(progress, frac0 + (frac1 - frac0) * a / R,
                           f"counting {k}-itemsets ({found:,} frequent so far)")
        sets[k] = np.concatenate(new_sets) if new_sets else np.zeros((0, k), np.int32)
        cnts[k] = np.concatenate(new_cnts) if new_cnts else np.zeros(0, np.int64)
        guard.done[k] = len(sets[k])
        survival = len(sets[k]) / n_joins if n_joins else 0.0
        if not len(sets[k]):
            del sets[k], cnts[k]
            break
        k += 1
    return result()
