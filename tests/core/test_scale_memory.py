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
