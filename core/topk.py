"""The k best entries of score arrays, best first: one helper for the recommenders, the item
neighbour tables and the bundle candidates."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores along the last axis, best first; ties go to the lower
    index. Works on a 1-D vector or row by row on a 2-D array; ``k`` larger than the axis gives
    every index. O(n) selection (argpartition) before sorting only the ``k`` chosen."""
    scores = np.asarray(scores)
    one_d = scores.ndim == 1
    s = scores[None, :] if one_d else scores
    n = s.shape[1]
    k = max(0, min(int(k), n))
    if k == 0:
        out = np.zeros((s.shape[0], 0), dtype=np.int64)
    else:
        if k < n:
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(n), (s.shape[0], 1))
        vals = np.take_along_axis(s, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)
        out = np.take_along_axis(part, order, axis=1)
    return out[0] if one_d else out
