"""The helpers every stage shares: top-k selection and the training lines before a cut."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.baskets import lines_before
from core.topk import top_k


def test_top_k_rows_ties_and_bounds():
    s = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 1.0, 2.0, 0.0]])
    assert top_k(s, 2).tolist() == [[1, 3], [0, 2]]
    assert top_k(s, 10).tolist() == [[1, 3, 2, 0], [0, 2, 1, 3]]
    assert top_k(s, 0).shape == (2, 0)
    assert top_k(np.array([1.0, 5.0, 3.0]), 2).tolist() == [1, 2]
    rng = np.random.default_rng(0)
    big = rng.random((5, 50))
    assert (top_k(big, 7) == np.argsort(-big, axis=1, kind="stable")[:, :7]).all()


def test_lines_before():
    lines = pd.DataFrame({"order_id": ["1", "1", "2", "3"],
                          "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01",
                                                       "2024-01-05", "2024-01-09"])})
    assert lines_before(lines, None) is lines
    assert lines_before(lines, "") is lines
    assert lines_before(lines, "2024-01-05")["order_id"].tolist() == ["1", "1"]


def test_top_k_ties_at_the_kth_place_go_to_the_lower_index():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        s = rng.integers(0, 4, size=(3, n)).astype(float)
        s[rng.random(s.shape) < 0.1] = np.nan
        k = int(rng.integers(0, n + 2))
        ref = np.argsort(-np.where(np.isnan(s), -np.inf, s), axis=1, kind="stable")[:, :k]
        assert (top_k(s, k) == ref).all()
    assert top_k(np.array([1, 2, 2, 2, 0]), 2).tolist() == [1, 2]
