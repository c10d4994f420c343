"""Recommenders: one behavioural contract over every method (baselines and neural) on synthetic
data whose answer is known (implicit's checkerboard: two disjoint item groups, customers buy within
one group), a repeat buyer, the evaluation protocol's metrics on hand-computed cases, save/load,
determinism."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from core.errors import BundleLabError, ModelNotTrained
from core.evaluate.recommender import first_test_orders, score_ranking
from core.recommend import build_history, load_recommender, make_recommender
from core.recommend.registry import DEFAULT_METHODS as METHODS  # als: tests/core/test_als.py

TINY_NEURAL = {"dim": 8, "epochs": 8, "patience": 3, "batch_size": 16, "max_seconds": 20.0,
               "seed": 0}
GROUP_A = [f"A{i}" for i in range(8)]
GROUP_B = [f"B{i}" for i in range(8)]


def checkerboard_lines(n_customers: int = 24, n_orders: int = 5, seed: int = 0) -> pd.DataFrame:
    """Customers c0.. buy 3 random items of group A (even customers) or B (odd) per order; the
    repeat buyer "R" (group A) buys A7 in every order plus one random other A item; group A is
    the more popular group overall (more orders per customer)."""
    rnd = random.Random(seed)
    rows, order = [], 0
    t0 = pd.Timestamp("2024-01-01")
    for c in range(n_customers):
        group = GROUP_A if c % 2 == 0 else GROUP_B
        for o in range(n_orders + (2 if c % 2 == 0 else 0)):
            order += 1
            for item in rnd.sample(group, 3):
                rows.append((f"o{order}", item, f"c{c}", t0 + pd.Timedelta(days=7 * o + c % 5)))
    for o in range(6):
        order += 1
        for item in {"A7", rnd.choice(GROUP_A[:7])}:
            rows.append((f"o{order}", item, "R", t0 + pd.Timedelta(days=10 * o)))
    return pd.DataFrame(rows, columns=["order_id", "item_id", "customer_id", "timestamp"])


def text_vectors(items) -> np.ndarray:
    """Group A items share one direction, group B another (plus a little noise)."""
    rng = np.random.default_rng(0)
    base = {"A": np.eye(6)[0], "B": np.eye(6)[1]}
    return np.stack([base[i[0]] + 0.1 * rng.standard_normal(6) for i in items]).astype(np.float32)


@pytest.fixture(scope="module")
def history():
    return build_history(checkerboard_lines())


@pytest.fixture(scope="module")
def fitted(history):
    """Every method fitted once on the checkerboard (the neural model with text vectors)."""
    models = {}
    for name in METHODS:
        params = TINY_NEURAL if name == "neural" else {}
        models[name] = make_recommender(name, **params).fit(
            history, item_text_vectors=text_vectors(history.item_ids))
    return models


@pytest.mark.parametrize("name", METHODS)
def test_recommender_contract(name, fitted, history):
    model = fitted[name]
    assert model.name == name
    assert all(k.endswith("_") for k in vars(model) if not k.startswith("_")
               and k not in model.get_params())
    customers = [f"c{c}" for c in range(12)]
    ids, scores = model.recommend(customers, k=5)
    assert ids.shape == scores.shape == (12, 5)
    assert set(ids.ravel()) <= set(history.item_ids)
    assert np.all(np.diff(scores, axis=1) <= 1e-9), "best first"
    for row in ids:
        assert len(set(row)) == 5, "no item twice"

    if name == "popularity":
        # the same list for everyone: the most ordered items, which are group A's
        assert all((row == ids[0]).all() for row in ids)
        assert set(ids[0]) <= set(GROUP_A)
    else:
        # checkerboard: a customer's recommendations come from their own group
        for c, row in zip(range(12), ids):
            own = GROUP_A if c % 2 == 0 else GROUP_B
            assert set(row) <= set(own), (name, c, row)

    if name in ("gp_topfreq", "tifu_knn", "neural"):
        top, _ = model.recommend(["R"], k=3)
        assert top[0][0] == "A7", f"{name} must rank the repeat buyer's staple first: {top}"

    # ad-hoc histories (lists of baskets) and exclusions
    ids2, _ = model.recommend([[["B0", "B1"]]], k=4, exclude=[["B0", "B1"]])
    assert not {"B0", "B1"} & set(ids2[0])
    if name not in ("popularity", "gp_topfreq"):   # these fill with globally popular items
        assert ids2[0][0] in GROUP_B and sum(i in GROUP_B for i in ids2[0]) >= 3, ids2

    with pytest.raises(BundleLabError, match="no orders in the training data"):
        model.recommend(["nobody"], k=3)


def test_unfitted_model_says_how_to_train():
    with pytest.raises(ModelNotTrained, match="not trained yet"):
        make_recommender("gp_topfreq").recommend(["c0"], 3)
    with pytest.raises(BundleLabError, match="unknown recommender 'magic'"):
        make_recommender("magic")
    with pytest.raises(BundleLabError, match="bad setting for the ease"):
        make_recommender("ease", lam=3)


def test_gp_topfreq_ties_by_recency_then_popularity():
    t = pd.Timestamp("2024-01-01")
    lines = pd.DataFrame([
        ("o1", "X", "u", t), ("o1", "Y", "u", t),                       # X, Y once, early
        ("o2", "Z", "u", t + pd.Timedelta(days=3)),                     # Z once, latest
        ("o3", "Y", "v", t), ("o4", "Y", "w", t), ("o5", "Q", "w", t),  # Y popular
    ], columns=["order_id", "item_id", "customer_id", "timestamp"])
    h = build_history(lines)
    ids, _ = make_recommender("gp_topfreq").fit(h).recommend(["u"], 4)
    assert ids[0].tolist() == ["Z", "Y", "X", "Q"]   # recency, then popularity, then filler
    ids, _ = make_recommender("gp_topfreq", tie_break="recency_id").fit(h).recommend(["u"], 3)
    assert ids[0].tolist() == ["Z", "X", "Y"]
    ids, _ = make_recommender("gp_topfreq", tie_break="popularity").fit(h).recommend(["u"], 3)
    assert ids[0].tolist() == ["Y", "X", "Z"]        # Y is in 3 orders, X and Z in one each
    with pytest.raises(BundleLabError, match="tie_break must be one of"):
        make_recommender("gp_topfreq", tie_break="random")


def test_ease_keeps_only_the_most_frequent_items(history):
    model = make_recommender("ease", max_items=5, l2=10.0).fit(history)
    assert len(model.columns_) == 5 and model.weights_.shape == (5, 5)
    ids, _ = model.recommend(["c0"], 5)
    assert set(ids[0]) == set(history.item_ids[model.columns_])


# ---------------------------------------------------------------------------- metrics
def test_score_ranking_hand_computed():
    perfect = score_ranking([["a", "b"]], [["a", "b"]], [set()])
    assert perfect["recall@10"] == perfect["ndcg@10"] == perfect["hit@10"] == 1.0
    nothing = score_ranking([["x", "y"]], [["a", "b"]], [set()])
    assert nothing["recall@10"] == nothing["ndcg@10"] == nothing["hit@10"] == 0.0
    m = score_ranking([["a", "x", "b"]], [["a", "b", "c"]], [{"a", "z"}])
    assert m["recall@10"] == round(2 / 3, 4)
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@10"] == round(dcg / idcg, 4)
    assert m["hit@10"] == 1.0 and m["repeat_hits"] == 1 and m["explore_hits"] == 1
    # only the top k count; the mean is over users
    two = score_ranking([["x"] * 0 + [f"n{i}" for i in range(10)] + ["a"], ["a"]],
                        [["a"], ["a"]], [set(), set()])
    assert two["recall@10"] == 0.5 and two["hit@10"] == 0.5


def test_first_test_orders_protocol():
    t = pd.Timestamp("2024-01-01")
    train = pd.DataFrame([("o1", "A", "u", t), ("o2", "B", "v", t)],
                         columns=["order_id", "item_id", "customer_id", "timestamp"])
    test = pd.DataFrame([
        ("o4", "C", "u", t + pd.Timedelta(days=9)),      # u's second test order
        ("o3", "A", "u", t + pd.Timedelta(days=5)),      # u's first test order ...
        ("o3", "NEW", "u", t + pd.Timedelta(days=5)),    # ... with an item never sold before
        ("o5", "A", "stranger", t + pd.Timedelta(days=5)),  # no train order: not scored
        ("o6", "B", None, t + pd.Timedelta(days=5)),
    ], columns=["order_id", "item_id", "customer_id", "timestamp"])
    cases = first_test_orders(build_history(train), test)
    assert cases["customer_id"].tolist() == ["u"]
    assert cases["order_id"].tolist() == ["o3"]
    assert cases["targets"].tolist() == [["A", "NEW"]]


# ---------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("name", METHODS)
def test_save_load_round_trip(name, fitted, tmp_path):
    model = fitted[name]
    model.save(tmp_path / name)
    files = sorted(p.name for p in (tmp_path / name).iterdir())
    assert all(f.endswith((".json", ".safetensors")) for f in files), files   # nothing pickled
    loaded = load_recommender(tmp_path / name)
    assert loaded.get_params() == model.get_params()
    users = ["c0", "c1", "R"]
    a, sa = model.recommend(users, 6)
    b, sb = loaded.recommend(users, 6)
    assert (a == b).all()
    np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-6)


def test_neural_weights_load_with_weights_only(fitted, tmp_path):
    """The state dict is plain tensors: torch.load(weights_only=True) accepts it."""
    import torch

    state = fitted["neural"].net_.state_dict()
    torch.save(state, tmp_path / "w.pt")
    again = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(again) == set(state)


def test_load_without_a_model_says_how_to_train(tmp_path):
    with pytest.raises(ModelNotTrained, match="python -m core recommend"):
        load_recommender(tmp_path)


def test_neural_is_deterministic_for_a_seed(history):
    users = ["c0", "c3", "R"]
    runs = [make_recommender("neural", **{**TINY_NEURAL, "epochs": 2}).fit(history)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].score(history.batch(users)),
                                  runs[1].score(history.batch(users)))
    other = make_recommender("neural", **{**TINY_NEURAL, "epochs": 2, "seed": 1}).fit(history)
    assert not np.allclose(other.score(history.batch(users)), runs[0].score(history.batch(users)))


def test_neural_scores_a_new_item_through_its_text(history):
    """An item with no orders (in the index, known by text) gets a score from its text part:
    one whose text matches group A outranks one whose text matches nothing."""
    items = list(history.item_ids) + ["A_NEW", "Z_NEW"]
    lines = checkerboard_lines()
    h = build_history(lines, item_ids=items)
    vec = text_vectors([i if i != "Z_NEW" else "B" for i in items])
    vec[-1] = 0.0
    model = make_recommender("neural", **TINY_NEURAL).fit(h, item_text_vectors=vec)
    s = model.score(h.batch(["c0"]))[0]
    assert np.isfinite(s[-2]) and s[-2] != s[-1]
    with pytest.raises(BundleLabError, match="align the vectors"):
        make_recommender("neural", **TINY_NEURAL).fit(h, item_text_vectors=vec[:3])


def test_neural_needs_repeat_customers():
    t = pd.Timestamp("2024-01-01")
    lines = pd.DataFrame([("o1", "A", "u", t), ("o2", "B", "v", t)],
                         columns=["order_id", "item_id", "customer_id", "timestamp"])
    with pytest.raises(BundleLabError, match="no customer has two or more orders"):
        make_recommender("neural", **TINY_NEURAL).fit(build_history(lines))


def test_neural_refit_on_all_orders(history):
    """refit=True trains again on every order (validation ones included) with the chosen epochs
    and mixing weights; the result still ranks the repeat buyer's staple first."""
    model = make_recommender("neural", **{**TINY_NEURAL, "refit": True}).fit(history)
    assert len(model.mix_) == 3
    top, _ = model.recommend(["R"], 3)
    assert top[0][0] == "A7"


def test_principal_text_of_a_large_catalog_matches_the_svd_up_to_sign(monkeypatch):
    """Above SVD_ITEMS the text directions come from the covariance in chunks (bounded memory):
    the same projection as the full SVD, each component up to its sign; rows without text 0."""
    from core.recommend import net

    rng = np.random.default_rng(1)
    x = (rng.normal(size=(3000, 12)) @ rng.normal(size=(12, 12))).astype(np.float32)
    x[::9] = 0.0
    exact = net.principal_text(x, 5)
    monkeypatch.setattr(net, "SVD_ITEMS", 100)
    lean = net.principal_text(x, 5, chunk=256)
    assert lean.shape == exact.shape == (3000, 5) and lean.dtype == np.float32
    sign = np.sign((lean * exact).sum(axis=0))
    assert np.abs(lean * sign - exact).max() < 1e-3
    assert not lean[::9].any()
