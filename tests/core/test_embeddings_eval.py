"""The embeddings evaluation protocol (DESIGN §6): a hand-computed case, and the vectorised
implementation against a per-query loop over core.evaluate.metrics on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.baskets import build_baskets
from core.evaluate.embeddings import (cooccurrence_positions, embedding_positions,
                                  neighbour_metrics)
from core.evaluate.metrics import capped_recall_at_k, reciprocal_rank


def _baskets(orders, n_items):
    lines = pd.DataFrame([(f"o{i}", str(x)) for i, o in enumerate(orders) for x in o],
                         columns=["order_id", "item_id"])
    return build_baskets(lines, item_ids=[str(i) for i in range(n_items)])


def test_hand_computed_case():
    # 2-D unit vectors at angles: item 0 at 0 deg; neighbours of 0 by cosine: 3 (10), 1 (20),
    # 4 (100), 2 (170)
    angles = np.deg2rad([0, 20, 170, 10, 100])
    v = np.column_stack([np.cos(angles), np.sin(angles)]).astype(np.float32)
    test = _baskets([[0, 1, 2], [3, 4], [0]], 5)  # the 1-item order makes no query
    cold = np.array([False, False, False, False, True])
    got = neighbour_metrics(test, embedding_positions(v), cold=cold, k=2)
    # queries and (recall@2, rr):
    # (0,o1) rel {1,2}: top2 [3,1] -> 1/2, rank 2 -> 1/2
    # (1,o1) rel {0,2}: order by angle distance 3(10),0(20),4(80),2(150) -> top2 [3,0]: 1/2, 1/2
    # (2,o1) rel {0,1}: 4(70),1(150),3(160),0(170) -> top2 [4,1]: 1/2, 1/2
    # (3,o2) rel {4}:   0(10),1(10),4(90),2(160) -> tie 0/1 by index -> top2 [0,1]: 0, 1/3
    # (4,o2) rel {3}:   2(70),1(80),3(90),0(100) -> top2 [2,1]: 0, rank 3 -> 1/3
    assert got["queries"] == 5 and got["cold_queries"] == 1
    assert got["recall@2"] == pytest.approx((0.5 + 0.5 + 0.5 + 0 + 0) / 5)
    assert got["mrr"] == pytest.approx((0.5 + 0.5 + 0.5 + 1 / 3 + 1 / 3) / 5)
    assert got["cold_recall@2"] == 0.0


def test_perfect_and_nothing():
    test = _baskets([[0, 1], [2, 3]], 6)
    # perfect: each item's partner is its nearest neighbour
    v = np.eye(6, dtype=np.float32)
    v[1] = v[0] * 0.9 + v[5] * 0.1
    v[3] = v[2] * 0.9 + v[4] * 0.1
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert neighbour_metrics(test, embedding_positions(v), k=1)["recall@1"] == 1.0
    # co-occurrence trained on orders that never pair these items: nothing is ranked
    train = _baskets([[0, 5], [2, 4]], 6)
    got = neighbour_metrics(test, cooccurrence_positions(train))
    assert got["recall@10"] == 0.0 and got["mrr"] == 0.0
    assert got["cold_recall@10"] is None  # no cold flags given -> no cold queries


def _brute(test_orders, ranked_lists, cold, k):
    rec, rr, crec = [], [], []
    for order in test_orders:
        items = sorted(set(order))
        if len(items) < 2:
            continue
        for q in items:
            rel = set(items) - {q}
            rec.append(capped_recall_at_k(ranked_lists[q], rel, k))
            rr.append(reciprocal_rank(ranked_lists[q], rel))
            if cold[q]:
                crec.append(rec[-1])
    return np.mean(rec), np.mean(rr), (np.mean(crec) if crec else None), len(rec)


@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_equals_per_query_loop(seed):
    rng = np.random.default_rng(seed)
    n = 40
    orders = [rng.choice(n, size=rng.integers(1, 8), replace=False).tolist() for _ in range(60)]
    train_orders = [rng.choice(n - 5, size=rng.integers(1, 6), replace=False).tolist()
                    for _ in range(80)]
    test, train = _baskets(orders, n), _baskets(train_orders, n)
    cold = train.item_counts() == 0
    # embeddings with ties (rounded coordinates)
    v = np.round(rng.normal(size=(n, 3)), 1).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sims = v @ v.T
    ranked = [[j for j in sorted(range(n), key=lambda j: (-sims[q, j], j)) if j != q]
              for q in range(n)]
    exp = _brute(orders, ranked, cold, 10)
    got = neighbour_metrics(test, embedding_positions(v), cold=cold)
    assert got["queries"] == exp[3]
    assert got["recall@10"] == pytest.approx(exp[0]) and got["mrr"] == pytest.approx(exp[1])
    assert got["cold_recall@10"] == pytest.approx(exp[2])
    # co-occurrence: only co-purchased items, by count, then train popularity, then index
    x = train.matrix.astype(int).toarray()
    co, pop = x.T @ x, x.sum(axis=0)
    ranked = [[j for j in sorted(range(n), key=lambda j: (-co[q, j], -pop[j], j))
               if j != q and co[q, j] > 0] for q in range(n)]
    exp = _brute(orders, ranked, cold, 10)
    got = neighbour_metrics(test, cooccurrence_positions(train), cold=cold)
    assert got["recall@10"] == pytest.approx(exp[0]) and got["mrr"] == pytest.approx(exp[1])
    assert got["cold_recall@10"] == exp[2]
    if exp[2] is not None:  # cold items were never bought in training: nothing to rank
        assert exp[2] == 0.0
