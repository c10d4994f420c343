"""Bounded memory on large shops (issue 18) without other results: the recommender's inputs are
encoded in parts and joined into the same arrays, a few items are scored without scoring the
whole catalog, and the user batch size follows the catalog's size."""

from __future__ import annotations

import numpy as np
import pytest

from core.recommend import build_history, make_recommender, net
from core.recommend.runtime import score_rows
from tests.core.test_recommender import TINY_NEURAL, checkerboard_lines, text_vectors


@pytest.fixture(scope="module")
def history():
    return build_history(checkerboard_lines(n_customers=40, n_orders=6))


@pytest.fixture(scope="module")
def neural(history):
    return make_recommender("neural", **TINY_NEURAL).fit(
        history, item_text_vectors=text_vectors(history.item_ids))


@pytest.mark.parametrize("max_baskets,max_history", [(16, 100), (2, 3)])
def test_encoding_in_parts_gives_the_same_arrays(history, monkeypatch, max_baskets, max_history):
    batch, _, _ = net.training_examples(history)
    whole = net._encode(batch, max_baskets=max_baskets, max_history=max_history)
    monkeypatch.setattr(net, "ENCODE_CHUNK_NNZ", 40)  # many parts, some of one user
    parts = net.encode(batch, max_baskets=max_baskets, max_history=max_history)
    for name in whole.__dataclass_fields__:
        a, b = getattr(whole, name), getattr(parts, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_scoring_a_few_items_equals_the_full_scores(neural, history):
    batch = history.batch(history.customer_ids[:25])
    cols = np.array([3, 0, 11, 7])
    full = neural.score(batch)
    # the same numbers up to the last bit of a float32 (a matrix product over fewer columns may
    # round differently)
    np.testing.assert_allclose(neural.score_items(batch, cols), full[:, cols], rtol=1e-6,
                               atol=1e-6)
    assert np.array_equal(neural.score_items(batch, None), full)
    base = make_recommender("gp_topfreq").fit(history)  # the base class's fallback
    assert np.array_equal(base.score_items(batch, cols), base.score(batch)[:, cols])


def test_recommend_is_the_same_in_smaller_batches(neural, history):
    users = list(history.customer_ids[:30])
    ids, scores = neural.recommend(users, 5)
    ids7, scores7 = neural.recommend(users, 5, batch_size=7)
    assert np.array_equal(ids, ids7)  # scores up to float32 rounding of other matrix shapes
    np.testing.assert_allclose(scores, scores7, rtol=1e-6, atol=1e-6)


def test_score_rows_bound_the_scores_of_a_large_catalog():
    assert score_rows(4_000) == 512  # a small shop keeps its step
    assert score_rows(90_000) * 90_000 <= 16 * 2**20 and score_rows(90_000) >= 32
    assert score_rows(10_000_000) == 32


def test_training_examples_fit_their_budget_and_keep_validation(history):
    """Few customers with long histories (a grocery export: 2,500 households, ~120 baskets each)
    gave 97 M history entries and 10 GB: above the budget the training examples are sampled,
    every validation example stays; below it nothing changes."""
    full, target, val = net.training_examples(history, max_history=100)
    entries = int(np.diff(full.orders.indptr).sum())
    same, t2, v2 = net.training_examples(history, max_history=100, budget=entries)
    assert np.array_equal(target, t2) and np.array_equal(same.ptr, full.ptr)
    small, t3, v3 = net.training_examples(history, max_history=100, budget=entries // 4, seed=1)
    kept = int(np.diff(small.orders.indptr).sum())
    assert kept <= entries // 4 * 1.3 and len(t3) < len(target)
    assert set(target[val]) <= set(t3) and v3.sum() == val.sum()  # validation examples all kept
    again, t4, _ = net.training_examples(history, max_history=100, budget=entries // 4, seed=1)
    assert np.array_equal(t3, t4)  # the same sample for the same seed
    short, _, _ = net.training_examples(history, max_history=2)
    assert np.diff(short.ptr).max() <= 2
