"""TIFU-KNN (``core.recommend.tifu``, issue 14 item 4): the customer vectors and the prediction
on a 3-customer history worked out by hand, the decays, the neighbour part, the popularity fill;
a candidate of the recommender's choice; saved, reloaded and used from a workspace like the
other methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import BundleLabError
from core.recommend import build_history, load_recommender, make_recommender
from core.recommend.tifu import user_vectors

COLUMNS = ["order_id", "item_id", "customer_id", "timestamp"]
# m = 2 baskets per group, r_b = r_g = 0.5, alpha = 0.5, k = 1: every number is a binary fraction
HAND = {"neighbours": 1, "alpha": 0.5, "group_size": 2, "within_decay": 0.5, "group_decay": 0.5}


def hand_lines() -> pd.DataFrame:
    """u1: {A}, {A, B}, {A} (a repeat buyer of A); u2: {B, C}, {C}; u3: {A, D}."""
    t, day = pd.Timestamp("2024-01-01"), pd.Timedelta(days=1)
    return pd.DataFrame([
        ("o1", "A", "u1", t), ("o2", "A", "u1", t + day), ("o2", "B", "u1", t + day),
        ("o3", "A", "u1", t + 2 * day),
        ("o4", "B", "u2", t), ("o4", "C", "u2", t), ("o5", "C", "u2", t + day),
        ("o6", "A", "u3", t), ("o6", "D", "u3", t),
    ], columns=COLUMNS)


@pytest.fixture(scope="module")
def hand():
    h = build_history(hand_lines())
    return h, make_recommender("tifu_knn", **HAND).fit(h)


def test_customer_vectors_by_hand(hand):
    # Items A, B, C, D (columns in this order). Groups of m = 2 counted back from the latest
    # basket; within a group basket weights r_b^(baskets after it in the group) / group size;
    # group g weighted r_g^(groups after it); the whole divided by the number of groups G.
    # u1 (3 baskets, G = 2): latest group {A,B} (o2), {A} (o3): o3 1/2, o2 0.5/2 = 1/4, times
    #   r_g^0 / G = 1/2 -> o3 1/4, o2 1/8; oldest group {A} (o1) alone: 1/1 * r_g^1 / 2 = 1/4.
    #   A = 1/4 + 1/8 + 1/4 = 0.625, B = 1/8 = 0.125.
    # u2 (2 baskets, G = 1): o5 {C} 1/2, o4 {B, C} 0.5/2 -> B = 0.25, C = 0.75.
    # u3 (1 basket): A = D = 1.
    h, model = hand
    assert h.item_ids.tolist() == ["A", "B", "C", "D"]
    assert h.customer_ids.tolist() == ["u1", "u2", "u3"]
    np.testing.assert_array_equal(model.vectors_.toarray(), [[0.625, 0.125, 0.0, 0.0],
                                                              [0.0, 0.25, 0.75, 0.0],
                                                              [1.0, 0.0, 0.0, 1.0]])


def test_prediction_by_hand(hand):
    # Cosines: |u1| = sqrt(0.40625) = 0.6374, |u2| = sqrt(0.625) = 0.7906, |u3| = sqrt(2):
    # cos(u1, u2) = 0.125 * 0.25 / (0.6374 * 0.7906) = 0.062, cos(u1, u3) = 0.625 / (0.6374 *
    # 1.4142) = 0.693, cos(u2, u3) = 0. With k = 1 (a customer is never their own neighbour):
    # u1 -> u3, u2 -> u1, u3 -> u1. Prediction = 0.5 * own + 0.5 * neighbour:
    # u1: A 0.3125 + 0.5 = 0.8125, B 0.0625, C 0, D 0.5 (D only from the neighbour u3)
    # u2: A 0.3125, B 0.125 + 0.0625 = 0.1875, C 0.375, D 0
    # u3: A 0.5 + 0.3125 = 0.8125, B 0.0625, C 0, D 0.5
    h, model = hand
    raw = model.raw_scores(h.batch(["u1", "u2", "u3"]))
    np.testing.assert_array_equal(raw, [[0.8125, 0.0625, 0.0, 0.5],
                                        [0.3125, 0.1875, 0.375, 0.0],
                                        [0.8125, 0.0625, 0.0, 0.5]])
    ids, scores = model.recommend(["u1", "u2", "u3"], 4)
    # the repeat buyer's A first; the neighbour's D before u1's own rarely bought B; items
    # scored 0 come last, by popularity, below every positive score
    assert ids.tolist() == [["A", "D", "B", "C"], ["C", "A", "B", "D"], ["A", "D", "B", "C"]]
    assert scores[0, 0] == pytest.approx(0.8125, rel=1e-8) and 0 <= scores[0, 3] < 0.0625 / 2


def test_an_ad_hoc_history_may_have_a_customer_with_the_same_vector_as_neighbour(hand):
    # not a known customer: u1, whose vector is the same (cosine 1), is its nearest neighbour,
    # so the prediction is u1's own vector
    h, model = hand
    raw = model.raw_scores(h.batch_from_baskets([[["A"], ["A", "B"], ["A"]]]))
    np.testing.assert_array_equal(raw, [[0.625, 0.125, 0.0, 0.0]])
    # alpha = 1: the customer's own vector only; a basket of unknown items: all 0, popularity
    own = make_recommender("tifu_knn", **{**HAND, "alpha": 1.0}).fit(h)
    np.testing.assert_array_equal(own.raw_scores(h.batch(["u2"])), [[0.0, 0.25, 0.75, 0.0]])
    ids, _ = model.recommend([[["nope"]]], 4)
    assert ids[0].tolist() == ["A", "B", "C", "D"]   # orders: A 3, B 2, C 2 (ties: index), D 1


def test_recent_baskets_weigh_more():
    h = build_history(hand_lines())
    batch = h.batch_from_baskets([[["B"], ["C"]],                       # one group of 2
                                  [["B"], ["C"], ["D"]]])               # groups {B} | {C, D}
    v = user_vectors(batch.orders, batch.ptr, group_size=2, within_decay=0.5,
                     group_decay=0.5).toarray()
    # first: C (latest) 1/2, B 0.5/2 = 1/4. second: G = 2; D 1/2/2 = 1/4, C 0.5/2/2 = 1/8,
    # B alone in the older group: 1 * 0.5 / 2 = 1/4 (the older group counts as a whole)
    np.testing.assert_array_equal(v, [[0.0, 0.25, 0.5, 0.0], [0.0, 0.25, 0.125, 0.25]])
    flat = user_vectors(batch.orders, batch.ptr, group_size=2, within_decay=1.0,
                        group_decay=1.0).toarray()
    # without decay a group is still a mean: the lone basket of the older group is half of u
    np.testing.assert_array_equal(flat, [[0.0, 0.5, 0.5, 0.0], [0.0, 0.5, 0.25, 0.25]])
    # groups as equal as possible: 4 baskets with m = 3 make 2 groups of 2 (not 3 + a lone 1),
    # so without decay every basket weighs 1/2 / 2 = 1/4
    four = h.batch_from_baskets([[["A"], ["B"], ["C"], ["D"]]])
    v = user_vectors(four.orders, four.ptr, group_size=3, within_decay=1.0, group_decay=1.0)
    np.testing.assert_array_equal(v.toarray(), [[0.25, 0.25, 0.25, 0.25]])
    # 5 baskets {A} {B} {B} {C} {D}, m = 2: G = 3 groups of 2, 2, 1 from the latest; r_b = 1,
    # r_g = 0.5: C, D 1/2 / 3 = 1/6 each; B twice 0.5 / 2 / 3 = 1/12 -> 1/6; A 0.25 / 1 / 3
    five = h.batch_from_baskets([[["A"], ["B"], ["B"], ["C"], ["D"]]])
    v = user_vectors(five.orders, five.ptr, group_size=2, within_decay=1.0, group_decay=0.5)
    np.testing.assert_allclose(v.toarray(), [[1 / 12, 1 / 6, 1 / 6, 1 / 6]], rtol=1e-12)


def test_chunked_neighbour_search_gives_the_same_scores(monkeypatch):
    from core.recommend import tifu
    from tests.core.test_recommender import checkerboard_lines

    h = build_history(checkerboard_lines())
    model = make_recommender("tifu_knn", neighbours=5).fit(h)
    batch = h.batch(list(h.customer_ids))
    whole = model.raw_scores(batch)
    monkeypatch.setattr(tifu, "SIM_CELLS", 3 * h.n_customers)   # 3 users per step
    np.testing.assert_allclose(model.raw_scores(batch), whole, rtol=1e-12)


def test_bad_settings_are_refused():
    for bad in ({"alpha": 1.5}, {"within_decay": -0.1}, {"neighbours": 0}, {"group_size": 0}):
        with pytest.raises(BundleLabError, match="tifu_knn"):
            make_recommender("tifu_knn", **bad)
    with pytest.raises(BundleLabError, match="bad setting for the tifu_knn"):
        make_recommender("tifu_knn", k=3)


def test_saved_and_reloaded(hand, tmp_path):
    h, model = hand
    model.save(tmp_path / "m")
    assert not (tmp_path / "m" / "weights.safetensors").exists()   # refitted from the history
    loaded = load_recommender(tmp_path / "m")
    assert loaded.name == "tifu_knn" and loaded.get_params() == HAND
    batch = h.batch(["u1", "u2", "u3"])
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))


def test_a_candidate_of_the_choice():
    from core.recommend.choose import CANDIDATES, COST, choose_recommender
    from tests.core.test_recommend_choose import repeat_shop

    assert "tifu_knn" in CANDIDATES and COST["item_knn"] < COST["tifu_knn"] < COST["ease"]
    choice = choose_recommender(repeat_shop(), candidates=("popularity", "gp_topfreq",
                                                           "tifu_knn"))
    val = choice.record["validation"]
    assert set(val) == {"popularity", "gp_topfreq", "tifu_knn"}
    # repeat purchases: TIFU-KNN's own vector finds them as gp_topfreq does
    assert val["tifu_knn"]["ndcg@10"] > val["popularity"]["ndcg@10"] + 0.3
    only = choose_recommender(repeat_shop(), candidates=("popularity", "tifu_knn"))
    assert only.method == "tifu_knn" and only.params == {}


def test_trained_in_a_workspace_and_used_for_affinity(ws, tmp_path):
    from core.ingest.load import ingest
    from core.recommend import (RecommenderParams, item_affinity, load_trained, recommend_for,
                                train_recommender)
    from tests.core.test_recommender_workspace import shop_csv

    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    out = train_recommender(ws, "shop", params=RecommenderParams(method="tifu_knn", text="none"))
    assert out["method"] == "tifu_knn" and out["choice"] is None and not out["reused"]
    tr = load_trained(ws, "shop")
    assert tr.model.name == "tifu_knn" and tr.text is None
    recs = recommend_for(ws, "shop", "c0", 3, trained=tr)
    assert recs["item_id"].iloc[0] == "T0"   # c0 re-buys the family's first item in every order
    ids = ["T0", "T1", "G0"]
    aff = item_affinity(ws, "shop", ids, trained=tr)(np.arange(3))
    assert aff.shape == (3, 3) and 0.0 <= aff.min() and aff.max() <= 1.0
    assert aff[0, 1] > aff[0, 2] and aff[2, 0] < aff[2, 2]   # within the family, not across
