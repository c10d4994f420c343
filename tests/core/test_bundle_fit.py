"""Weights fitted per shop (core.bundles.fit), the incremental-value objective and metric, the
long-tail hit rate and recency weights: synthetic shops with a known answer, metrics by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.baskets import build_baskets
from core.bundles.build import build_bundles
from core.bundles.select import recency_weights
from core.bundles.candidates import BundleInputs
from core.bundles.fit import MIN_VALIDATION_ORDERS, describe, fit_weights, order_hits
from core.bundles.params import BundleParams
from core.bundles.select import independent_attach, two_or_more
from core.evaluate.bundles import bundle_metrics

WORDS = ["anchor", "bucket", "candle", "doily", "easel", "funnel", "goblet", "hammock", "inkpot",
         "jigsaw", "kettle", "lantern", "mitten", "napkin", "oven", "parasol", "quilt", "radio",
         "saucer", "teapot", "umbrella", "vase", "wallet", "xylophone"]
PAIRS = 12  # pairs 0..5 are "text-similar", 6..11 are not


def pair_shop(text_predicts: bool, seed: int = 0) -> tuple[BundleInputs, list[set]]:
    """12 item pairs. Pairs 6..11 are bought together in 20 training orders and never apart;
    pairs 0..5 in 18, and each of their items alone in 12 more orders: every rule measure
    (orders, confidence, lift) prefers pairs 6..11. Text vectors put the two items of pairs
    0..5 next to each other and pairs 6..11 apart. In the validation orders only the
    text-similar pairs are bought together again (``text_predicts``), or only the others."""
    rng = np.random.default_rng(seed)
    items = [f"i{k}" for k in range(2 * PAIRS)]
    rows, oid = [], 0
    for p in range(PAIRS):
        for _ in range(18 if p < PAIRS // 2 else 20):
            oid += 1
            rows += [(str(oid), items[2 * p]), (str(oid), items[2 * p + 1])]
        for _ in range(12 if p < PAIRS // 2 else 0):
            for item in items[2 * p:2 * p + 2]:
                oid += 1
                rows.append((str(oid), item))
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"])
    b = build_baskets(lines, item_ids=items)
    vec = rng.normal(size=(2 * PAIRS, 16))
    for p in range(PAIRS // 2):
        vec[2 * p + 1] = vec[2 * p] + 0.1 * rng.normal(size=16)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    table = pd.DataFrame({"item_id": items, "item_name": WORDS[:2 * PAIRS],
                          "category": None, "price": 5.0, "cost": None})
    continuing = range(PAIRS // 2) if text_predicts else range(PAIRS // 2, PAIRS)
    validation = []
    for r in range(240):
        p = list(continuing)[r % (PAIRS // 2)]
        validation.append({items[2 * p], items[2 * p + 1]})
    return BundleInputs(b, table, vectors=vec), validation


FIT_BASE = BundleParams(top=6, max_per_item=1, min_orders=10, cold_share=0.0)


def test_text_that_predicts_co_purchase_gets_a_positive_weight():
    inp, val = pair_shop(text_predicts=True)
    f = fit_weights(inp, val, FIT_BASE)
    assert f.fitted and f.params["w_text"] > 0
    assert f.validation_hit_rate["fitted"] > f.validation_hit_rate["rules"] + 0.5  # all 240 vs none
    text = describe(f)
    assert "text similarity weight" in text and "points" in text


def test_text_that_does_not_predict_gets_no_weight():
    inp, val = pair_shop(text_predicts=False)
    f = fit_weights(inp, val, FIT_BASE)
    assert f.params["w_text"] == 0.0 and not f.fitted
    assert f.validation_hit_rate["fitted"] == f.validation_hit_rate["default"] == pytest.approx(1.0)
    assert "default weights are used" in f.reason


def test_too_few_validation_orders_fall_back_to_the_defaults():
    inp, val = pair_shop(text_predicts=True)
    f = fit_weights(inp, val[:MIN_VALIDATION_ORDERS - 1], FIT_BASE)
    assert not f.fitted and f.params == {"strength": "lift", "w_text": 0.0, "w_rec": 0.0,
                                         "cold_share": 0.0, "cold_max_orders": 0,
                                         "fill_min_orders": 0}
    assert f"only {MIN_VALIDATION_ORDERS - 1}" in f.reason and f.tried == 0


def test_recency_finds_recent_pairs_and_is_not_fitted():
    """Pairs 0..5 bought together in 20 old orders, pairs 6..11 in 18 recent ones (300 days
    later, and their items alone in 12 more); only the recent ones go on. Every rule measure
    prefers the old pairs: only recency finds the recent ones. The fit leaves recency alone (a
    validation window right after the fit orders rewards what sold last; see fit.GRID): it is
    the user's setting."""
    items = [f"i{k}" for k in range(2 * PAIRS)]
    rows, times, oid = [], {}, 0
    day = pd.Timestamp("2024-01-01")
    for p in range(PAIRS):
        for _ in range(20 if p < PAIRS // 2 else 18):
            oid += 1
            rows += [(str(oid), items[2 * p]), (str(oid), items[2 * p + 1])]
            times[str(oid)] = day + pd.Timedelta(days=0 if p < PAIRS // 2 else 300)
        for _ in range(0 if p < PAIRS // 2 else 12):  # recent items also sold alone: lower
            for item in items[2 * p:2 * p + 2]:      # confidence and lift as well
                oid += 1
                rows.append((str(oid), item))
                times[str(oid)] = day + pd.Timedelta(days=300)
    b = build_baskets(pd.DataFrame(rows, columns=["order_id", "item_id"]), item_ids=items)
    table = pd.DataFrame({"item_id": items, "item_name": WORDS[:2 * PAIRS], "category": None,
                          "price": 5.0, "cost": None})
    inp = BundleInputs(b, table, order_time=np.array([times[o] for o in b.order_ids],
                                                     dtype="datetime64[ns]"))
    val = [{items[2 * p], items[2 * p + 1]} for p in range(6, 12)] * 40
    base = BundleParams(top=6, max_per_item=1, min_orders=10, cold_share=0.0, strength="orders")
    f = fit_weights(inp, val, base)
    assert not f.fitted
    res = build_bundles(inp, base)
    assert {frozenset(s) for s in res.bundles["items"]} == {
        frozenset({items[2 * p], items[2 * p + 1]}) for p in range(6)}
    res = build_bundles(inp, BundleParams(**{**base.__dict__, "recency_days": 30.0}))
    assert {frozenset(s) for s in res.bundles["items"]} == {
        frozenset({items[2 * p], items[2 * p + 1]}) for p in range(6, 12)}
    # the table's coverage stays a share of real orders, not of recency-weighted ones
    assert res.bundles["coverage_gain"].sum() == pytest.approx(6 * 18 / b.n_orders)


def test_recency_weights_halve_every_half_life():
    t = np.array(["2024-01-31", "2024-01-21", "2024-01-11", "NaT"], dtype="datetime64[ns]")
    w = recency_weights(t, 10)
    assert w[:3] == pytest.approx([1.0, 0.5, 0.25]) and w[3] == pytest.approx(0.5)
    assert recency_weights(t, 0) is None and recency_weights(None, 10) is None


def test_order_hits_needs_two_items_of_one_bundle():
    import scipy.sparse as sp

    val = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]], dtype=np.float32))
    assert order_hits(val, [(0, 1), (2, 3)]).tolist() == [True, False, True]
    assert order_hits(val, []).tolist() == [False, False, False]


def test_independence_by_hand():
    assert two_or_more(np.array([0.5, 0.5])) == pytest.approx(0.25)
    assert two_or_more(np.array([0.5, 0.5, 0.5])) == pytest.approx(0.5)  # 3/8 + 1/8
    assert two_or_more(np.array([1.0, 0.2])) == pytest.approx(0.2)  # no division by q = 0
    assert independent_attach([0.5, 0.5]) == pytest.approx(0.25 / 0.75)
    assert independent_attach([0.0, 0.0]) == 0.0 and independent_attach([]) == 0.0


def test_uplift_and_tail_hit_rate_by_hand():
    orders = [{"a", "b"}, {"a", "b"}, {"a"}, {"c", "d"}, {"c", "x"}, {"x", "y"}, {"t", "c"},
              {"t", "z"}]
    m = bundle_metrics(orders, [["a", "b"], ["c", "d"], ["t", "c"]], tail_items={"t"})
    # shares among 8 orders: a 3/8, b 2/8, c 3/8, d 1/8, t 2/8
    attach = {"ab": 2 / 3, "cd": 1 / 3, "tc": 1 / 4}
    assert m["attach_rate"] == pytest.approx(np.mean(list(attach.values())))

    def indep(p, q):
        return p * q / (1 - (1 - p) * (1 - q))
    chance = [indep(3 / 8, 2 / 8), indep(3 / 8, 1 / 8), indep(2 / 8, 3 / 8)]
    assert m["independent_attach_rate"] == pytest.approx(np.mean(chance))
    assert m["attach_uplift"] == pytest.approx(np.mean(
        [attach["ab"] / chance[0], attach["cd"] / chance[1], attach["tc"] / chance[2]]))
    # a bundle no test order touches is left out of the uplift (0 / 0)
    m2 = bundle_metrics(orders, [["a", "b"], ["q", "r"]])
    assert m2["attach_uplift"] == pytest.approx(attach["ab"] / chance[0])
    # orders holding the tail item t: {t, c} (c is in t's bundle: a hit) and {t, z} (a miss)
    assert m["tail_orders"] == 2 and m["tail_hit_rate"] == pytest.approx(0.5)
    assert m["tail_items_bundled"] == 1


def test_incremental_objective_prefers_pairs_above_chance():
    """Two best sellers X, Y are each in 60% of orders and meet in 36% (chance); P, Q are in 20%
    and always together. Coverage picks X+Y first; the incremental objective picks P+Q."""
    rows, n = [], 100
    for o in range(n):
        basket = []
        if o % 5 < 3:
            basket.append("X")
        if (o // 5) % 5 < 3:
            basket.append("Y")
        if o % 5 == 4 and (o // 5) % 5 == 4 or o >= 96:  # 4 + 16 = 20 orders with both
            basket += ["P", "Q"]
        elif (o // 5) % 5 == 4 and o % 5 == 3 or (o % 25 == 23):
            basket.append("F")
        rows += [(str(o), i) for i in basket or ["F"]]
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"])
    items = ["X", "Y", "P", "Q", "F"]
    b = build_baskets(lines, item_ids=items)
    table = pd.DataFrame({"item_id": items, "item_name": ["kettle", "lantern", "quilt", "radio",
                                                         "saucer"],
                          "category": None, "price": 1.0, "cost": None})
    inp = BundleInputs(b, table)
    p = BundleParams(strategy="rules", top=1, min_orders=5, min_lift=0.0, strength="orders",
                     cold_share=0.0)
    first = build_bundles(inp, p).bundles["items"].iloc[0]
    assert set(first) == {"X", "Y"}
    first = build_bundles(inp, BundleParams(**{**p.__dict__, "incremental": True})
                          ).bundles["items"].iloc[0]
    assert set(first) == {"P", "Q"}


def test_rarely_sold_items_join_bundles_by_text_when_that_pays():
    """Ten pairs A_i + B_i bought together in 20 orders each; ten tail items T_i sold alone in 2
    orders each, their text next to A_i. Later orders buy T_i with A_i: only a bundle that the
    tail item joined by text holds both. The fit lets items with <= 2 orders join."""
    rng = np.random.default_rng(3)
    n = 10
    items = [f"a{i}" for i in range(n)] + [f"b{i}" for i in range(n)] + [f"t{i}" for i in range(n)]
    rows, oid = [], 0
    for i in range(n):
        for _ in range(20):
            oid += 1
            rows += [(str(oid), f"a{i}"), (str(oid), f"b{i}")]
        for _ in range(2):
            oid += 1
            rows.append((str(oid), f"t{i}"))
    b = build_baskets(pd.DataFrame(rows, columns=["order_id", "item_id"]), item_ids=items)
    vec = rng.normal(size=(3 * n, 32))
    vec[2 * n:] = vec[:n] + 0.2 * rng.normal(size=(n, 32))
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    names = [f"{w} {k}" for k, w in enumerate(WORDS + WORDS[:6])]
    table = pd.DataFrame({"item_id": items, "item_name": names, "category": None, "price": 5.0,
                          "cost": None})
    inp = BundleInputs(b, table, vectors=vec)
    val = [{f"t{i}", f"a{i}"} for i in range(n)] * 24
    base = BundleParams(top=10, max_per_item=1, min_orders=10)
    f = fit_weights(inp, val, base)
    assert f.fitted and f.params["cold_max_orders"] >= 2 and f.params["cold_share"] > 0
    assert f.validation_hit_rate["fitted"] > f.validation_hit_rate["rules"] == 0.0
    assert "items sold in at most" in describe(f)
    # the fitted setting does the same in a real build: tail items join by their text
    res = build_bundles(inp, BundleParams(**{**base.__dict__, **f.params}))
    assert res.bundles["cold_start"].sum() >= 1
