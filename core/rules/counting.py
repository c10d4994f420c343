"""Counting machinery for ``core.rules.itemsets``: pair counts from a blocked sparse product, and per
level the candidate joins and their exact counts with bitsets over each item's conditional
database (the orders holding the candidate's rarest item).

Items are addressed by *rank* (ascending frequency); ``Xr``/``Xc`` are the orders x frequent-items
matrix in CSR/CSC with columns in rank order.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from core.progress import Progress, report

_PAIR_BLOCK_WORK = 40_000_000     # multiply-adds per block of the pair product
_BITS_BUDGET = 64 * 2**20         # bytes for one item's bitsets before orders are chunked
_CHUNK_BYTES = 16 * 2**20         # bytes of candidate bitsets handled at once
_CACHE_BUDGET = 256 * 2**20       # bytes of bitsets kept between levels
JOIN_CHUNK = 2_000_000            # joins generated at once for one item
_DENSE_CELLS = 1 << 25            # bitsets built through a dense bool matrix up to this size


def bitsets(Xr: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """uint64 bitsets (len(cols), ceil(len(rows)/64)): bit r of row c is set when order
    ``rows[r]`` holds item ``cols[c]`` (``cols`` ascending). Reads only the given orders."""
    W = max(1, (len(rows) + 63) // 64)
    lengths = Xr.indptr[rows + 1] - Xr.indptr[rows]
    tot = int(lengths.sum())
    offsets = np.repeat(Xr.indptr[rows] - np.cumsum(lengths) + lengths, lengths) + np.arange(tot)
    lookup = np.full(Xr.shape[1], -1, dtype=np.int64)
    lookup[cols] = np.arange(len(cols))
    lc = lookup[Xr.indices[offsets]]
    hit = lc >= 0
    lr = np.repeat(np.arange(len(rows)), lengths)[hit]
    lc = lc[hit]
    if len(cols) * W * 64 <= _DENSE_CELLS:  # small: a dense bool matrix packed into bytes
        dense = np.zeros((len(cols), W * 64), dtype=bool)
        dense[lc, lr] = True
        return np.packbits(dense, axis=1, bitorder="little").view(np.uint64)
    out = np.zeros(len(cols) * W, dtype=np.uint64)
    np.bitwise_or.at(out, lc * W + (lr >> 6), np.left_shift(np.uint64(1), (lr & 63).astype(np.uint64)))
    return out.reshape(len(cols), W)


def popcount_rows(bits: np.ndarray) -> np.ndarray:
    return np.bitwise_count(bits).sum(axis=1, dtype=np.int64)


def pair_counts(Xf: sp.csr_matrix, min_count: int, check: Callable[[int], None],
                progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    """Frequent pairs (rank i < rank j) as (rows (n, 2) int32, counts), lexicographic, from
    ``Xf^T Xf`` in column blocks of bounded work; ``check(found)`` runs after each block."""
    R = Xf.shape[1]
    Xc = Xf.tocsc()
    lens = np.diff(Xf.indptr).astype(np.float64)
    col_work = np.asarray(Xc.T @ lens).ravel() if R else np.zeros(0)
    bounds = [0]
    acc = 0.0
    for j in range(R):
        acc += col_work[j]
        if acc > _PAIR_BLOCK_WORK and j + 1 > bounds[-1]:
            bounds.append(j + 1)
            acc = 0.0
    if bounds[-1] != R:
        bounds.append(R)
    Xt = Xf.T.tocsr()
    ii, jj, cc = [], [], []
    found = 0
    for b in range(len(bounds) - 1):
        lo, hi = bounds[b], bounds[b + 1]
        block = (Xt[:hi] @ Xc[:, lo:hi]).tocoo()  # rows i < hi, columns lo..hi
        r, c, v = block.row, block.col + lo, block.data
        keep = (r < c) & (v >= min_count)
        ii.append(r[keep]); jj.append(c[keep]); cc.append(v[keep])
        found += int(keep.sum())
        check(found)
        report(progress, 0.05 + 0.15 * hi / max(R, 1), f"counting pairs ({found:,} frequent)")
    if not ii:
        return np.zeros((0, 2), np.int32), np.zeros(0, np.int64)
    i, j, c = np.concatenate(ii), np.concatenate(jj), np.concatenate(cc).astype(np.int64)
    order = np.lexsort((j, i))
    return np.stack([i[order], j[order]], axis=1).astype(np.int32), c[order]


class LevelCounter:
    """Candidate generation and counting of one level (k >= 3) for every first item."""

    def __init__(self, Xr, Xc, min_count, R, pairs, triples, bits_cache):
        self.Xr, self.Xc, self.min_count, self.R = Xr, Xc, min_count, R
        self.pairs, self.triples = pairs, triples
        self.pair_start = np.searchsorted(pairs[:, 0], np.arange(R + 1))
        if triples is not None:
            self.tri_start = np.searchsorted(triples[:, 0], np.arange(R + 1))
        self.cache = bits_cache

    def cond(self, a: int) -> np.ndarray:
        return self.pairs[self.pair_start[a]:self.pair_start[a + 1], 1]

    def bits(self, a: int, cond: np.ndarray, rows: np.ndarray) -> np.ndarray:
        hit = self.cache.get(a)
        if hit is not None:
            return hit
        B = bitsets(self.Xr, rows, cond)
        if self.cache.bytes + B.nbytes <= _CACHE_BUDGET:
            self.cache.put(a, B)
        return B

    def joins(self, a: int, parents: np.ndarray, cond: np.ndarray, k: int) -> np.ndarray:
        """Per parent row, how many joins it starts (before the pre-check); used to cut the
        candidates of one item into bounded chunks."""
        n = parents.shape[0]
        if k == 3:
            return (self.pair_start[cond + 1] - self.pair_start[cond]).astype(np.int64)
        pre = parents[:, :-1]
        newg = np.ones(n, dtype=bool)
        newg[1:] = (pre[1:] != pre[:-1]).any(axis=1)
        starts = np.flatnonzero(newg)
        ends = np.append(starts[1:], n)[np.cumsum(newg) - 1]
        return (ends - np.arange(n) - 1).astype(np.int64)

    def candidates(self, a: int, parents: np.ndarray, cond: np.ndarray, k: int,
                   reps: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate joins (i, j), i in [lo, hi), of the parent rows (local indices of
        ``cond``, shape (n, k-2), lexicographic) that share their first k-3 items and pass the
        pre-check; ``reps`` from ``joins``. Both arrays ascending in i."""
        r = reps[lo:hi]
        tot = int(r.sum())
        if tot == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        i = np.repeat(np.arange(lo, hi), r)
        off = np.arange(tot) - np.repeat(np.cumsum(r) - r, r)
        if k == 3:
            # triangles: y in cond and (x, y) a frequent pair
            y = self.pairs[np.repeat(self.pair_start[cond[lo:hi]], r) + off, 1]
            j = np.searchsorted(cond, y)
            ok = (j < len(cond)) & (cond[np.minimum(j, len(cond) - 1)] == y)
            return i[ok], j[ok]
        j = i + 1 + off
        # pre-check: {a, last_i, last_j} must be a frequent triple
        tri = self.triples[self.tri_start[a]:self.tri_start[a + 1]]
        if not len(tri):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        m = len(cond)
        tkeys = np.searchsorted(cond, tri[:, 1]).astype(np.int64) * m + np.searchsorted(cond, tri[:, 2])
        q = parents[i, -1].astype(np.int64) * m + parents[j, -1]
        pos = np.minimum(np.searchsorted(tkeys, q), len(tkeys) - 1)
        ok = tkeys[pos] == q
        return i[ok], j[ok]

    def count(self, a: int, parents: np.ndarray, cond: np.ndarray, i: np.ndarray,
              j: np.ndarray) -> np.ndarray:
        """Exact order counts of the candidates parents[i] + last of parents[j] (with ``a``);
        ``i`` ascending. Memory stays bounded: orders are taken in chunks when the item's
        bitsets would be large, candidates in chunks of a few tens of MB."""
        rows = self.Xc.indices[self.Xc.indptr[a]:self.Xc.indptr[a + 1]]
        counts = np.zeros(len(i), dtype=np.int64)
        m = len(cond)
        row_chunk = max(64, (_BITS_BUDGET * 8 // max(m, 1)) // 64 * 64)
        last = parents[j, -1]
        for r0 in range(0, len(rows), row_chunk):
            rs = rows[r0:r0 + row_chunk]
            B = self.bits(a, cond, rs) if len(rs) == len(rows) else bitsets(self.Xr, rs, cond)
            step = max(1024, _CHUNK_BYTES // (8 * B.shape[1]))
            for s in range(0, len(i), step):
                ic = i[s:s + step]
                newp = np.ones(len(ic), dtype=bool)
                newp[1:] = ic[1:] != ic[:-1]
                u = ic[newp]
                pb = B[parents[u, 0]]
                for c in range(1, parents.shape[1]):
                    pb &= B[parents[u, c]]
                counts[s:s + step] += popcount_rows(pb[np.cumsum(newp) - 1] & B[last[s:s + step]])
        return counts


def joins(prev: np.ndarray, R: int) -> int:
    """How many joins would make candidates of the next level from the lexicographic rows
    ``prev`` (before any pre-check): pairs of rows that share all but their last item. Cheap;
    with the previous level's survival rate it estimates the next level's size."""
    n = prev.shape[0]
    if n < 2:
        return 0
    pre = prev[:, :-1]
    newg = np.ones(n, dtype=bool)
    newg[1:] = (pre[1:] != pre[:-1]).any(axis=1)
    g = np.diff(np.append(np.flatnonzero(newg), n)).astype(np.int64)
    return int((g * (g - 1) // 2).sum())


class BitsCache:
    """Bitsets of the items' conditional databases, kept between levels up to a byte budget."""

    def __init__(self):
        self.data: dict[int, np.ndarray] = {}
        self.bytes = 0

    def get(self, a):
        return self.data.get(a)

    def put(self, a, B):
        self.data[a] = B
        self.bytes += B.nbytes
