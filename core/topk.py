"""The k best entries of score arrays, best first: one helper for the recommenders, the item
neighbour tables and the bundle candidates."""

from __future__ import annotations

import numpy as np

# Rows are processed in chunks of about this many scores, so the tie masks below stay small
# (a batch of 512 customers x 90,000 items would otherwise need ~370 MB of int64 counts).
CHUNK_SCORES = 4_000_000


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores along the last axis, best first; equal scores go to
    the lower index, also when they tie at the k-th place (the result equals a stable
    ``argsort(-scores)[:k]``; NaN counts as the lowest score). Works on a 1-D vector or row by
    row on a 2-D array; ``k`` larger than the axis gives every index. O(n) selection
    (argpartition) before sorting only the ``k`` chosen."""
    scores = np.asarray(scores)
    one_d = scores.ndim == 1
    s = scores[None, :] if one_d else scores
    n_rows, n = s.shape
    k = max(0, min(int(k), n))
    out = np.zeros((n_rows, k), dtype=np.int64)
    if k:
        step = max(1, CHUNK_SCORES // max(n, 1))
        for a in range(0, n_rows, step):
            out[a:a + step] = _top_k_rows(s[a:a + step], k)
    return out[0] if one_d else out


def _top_k_rows(s: np.ndarray, k: int) -> np.ndarray:
    if np.issubdtype(s.dtype, np.floating) and np.isnan(s).any():
        s = np.where(np.isnan(s), -np.inf, s)
    n = s.shape[1]
    if k < n:
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(s, part, axis=1).min(axis=1, keepdims=True)
        above = s > kth
        tied = s == kth
        room = k - above.sum(axis=1, keepdims=True)  # places left for scores tied at the k-th
        keep = above | (tied & (np.cumsum(tied, axis=1, dtype=np.int32) <= room))
        part = np.nonzero(keep)[1].reshape(s.shape[0], k)  # row-major: by row, then index
    else:
        part = np.tile(np.arange(n), (s.shape[0], 1))
    vals = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    return np.take_along_axis(part, order, axis=1)
