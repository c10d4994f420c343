"""Bundles: one behavioural contract over every strategy on synthetic data with a known answer,
plus the metric functions on hand-computed cases, pricing, names, variants and filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.baskets import build_baskets
from core.bundles.candidates import BundleInputs
from core.bundles.naming import short_name
from core.bundles.build import build_bundles
from core.bundles.params import BundleParams
from core.bundles.pricing import bundle_price
from core.errors import BundleLabError
from core.evaluate.bundles import bundle_metrics
from core.text.variants import is_variant_pair, variant_key

ITEMS = ["A", "B", "C", "D", "E", "F", "G", "H", "R1", "R2"]
NAMES = ["TEA POT", "TEA CUP", "PAINT BRUSH", "PAINT SET", "DOG LEASH", "DOG BOWL",
         "TEA COSY", "PLAIN BOX", "LUNCH BAG RED", "LUNCH BAG BLUE"]
PLANTED = [{"A", "B"}, {"C", "D"}, {"E", "F"}]


def synthetic(seed: int = 0) -> BundleInputs:
    """Three planted complement pairs bought together; H bought alone; the variants R1/R2
    (same bag, other colour) bought together too; G is new (no sales) and its text is next to
    the tea items."""
    rng = np.random.default_rng(seed)
    rows = []
    oid = 0
    for pair, n in ((("A", "B"), 60), (("C", "D"), 45), (("E", "F"), 30), (("R1", "R2"), 50)):
        for _ in range(n):
            oid += 1
            rows += [(oid, pair[0]), (oid, pair[1])]
            if rng.random() < 0.3:
                rows.append((oid, "H"))
    for _ in range(40):
        oid += 1
        rows.append((oid, "H"))
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"])
    lines["order_id"] = lines["order_id"].astype(str)
    b = build_baskets(lines, item_ids=ITEMS)
    vec = np.zeros((len(ITEMS), 6))
    topic = {"A": 0, "B": 0, "G": 0, "C": 1, "D": 1, "E": 2, "F": 2, "H": 3, "R1": 4, "R2": 4}
    for i, item in enumerate(ITEMS):
        vec[i, topic[item]] = 1.0
        vec[i, 5] = 0.2 * (i % 2)
    vec[ITEMS.index("G"), 5] = 0.6  # close to the tea items, not closer than teapot-cup    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    base = np.eye(len(ITEMS))  # base model: every product distinct ...
    base[ITEMS.index("R2")] = base[ITEMS.index("R1")]  # ... but the two lunch bags identical
    items = pd.DataFrame({"item_id": ITEMS, "item_name": NAMES,
                          "category": ["tea", "tea", "art", "art", "pets", "pets", "tea", "misc",
                                       "bags", "bags"],
                          "price": [10.0, 4.0, 3.0, 12.0, 8.0, 6.0, 5.0, 1.0, 2.0, 2.0],
                          "cost": [5.0, 1.0, 1.0, 11.0, 3.0, 2.0, 2.0, 0.5, 1.0, 1.0]})
    return BundleInputs(b, items, vectors=vec, base_vectors=base,
                        customers=np.array([f"c{int(o) % 7}" for o in b.order_ids], dtype=object))


@pytest.mark.parametrize("strategy", ["rules", "similarity", "hybrid"])
def test_contract_every_strategy_finds_the_planted_pairs(strategy):
    inp = synthetic()
    res = build_bundles(inp, BundleParams(strategy=strategy, top=3, min_orders=10,
                                          cold_share=0.0, max_per_item=1))
    got = [set(x) for x in res.bundles["items"]]
    assert len(got) == 3
    assert sorted(map(sorted, got)) == sorted(map(sorted, PLANTED))
    for row in res.bundles.itertuples():
        assert 2 <= row.size <= 4 and len(set(row.items)) == row.size
        assert row.explanation.endswith(".") and row.name
    # variants (the same lunch bag in red and blue) are flagged, not bundled
    assert {"R1", "R2"} not in got
    assert any(set(x) == {"R1", "R2"} for x in res.flagged["items"]) or strategy == "similarity"


def test_rules_order_by_coverage_and_columns():
    res = build_bundles(synthetic(), BundleParams(strategy="rules", top=3, min_orders=10,
                                                  strength="orders"))
    t = res.bundles
    assert set(t.iloc[0]["items"]) == {"A", "B"}  # ranked by orders: the most orders first
    assert t.iloc[0]["orders_together"] == 60 and t.iloc[0]["confidence"] == 1.0
    assert t["cumulative_coverage"].is_monotonic_increasing
    for col in ("bundle_id", "name", "items", "item_names", "size", "orders_together",
                "confidence", "lift", "similarity", "score", "provenance", "explanation",
                "list_price", "bundle_price", "target_customers"):
        assert col in t.columns
    assert t.iloc[0]["list_price"] == 14.0 and t.iloc[0]["bundle_price"] == 12.59
    assert "Bought together in 60 orders" in t.iloc[0]["explanation"]
    assert len(t.iloc[0]["target_customers"]) == 0  # every customer already bought both


def test_hybrid_bundles_a_new_item_through_its_text():
    res = build_bundles(synthetic(), BundleParams(strategy="hybrid", top=4, min_orders=10,
                                                  cold_share=0.25))
    cold = res.bundles[res.bundles["cold_start"]]
    assert len(cold) == 1
    row = cold.iloc[0]
    assert "G" in row["items"] and set(row["items"]) & {"A", "B"}
    assert "text" in row["provenance"] and "no sales history yet" in row["explanation"]
    rules_only = build_bundles(synthetic(), BundleParams(strategy="rules", top=4, min_orders=10))
    assert not any("G" in x for x in rules_only.bundles["items"])


def test_per_item_cap_include_exclude_and_allow_variants():
    inp = synthetic()
    res = build_bundles(inp, BundleParams(strategy="rules", top=10, min_orders=5,
                                          max_per_item=1, max_size=3))
    flat = [i for x in res.bundles["items"] for i in x]
    assert len(flat) == len(set(flat))
    res = build_bundles(inp, BundleParams(strategy="rules", top=5, min_orders=10,
                                          exclude=("A", "art")))
    assert all(not ({"A", "C", "D"} & set(x)) for x in res.bundles["items"])
    res = build_bundles(inp, BundleParams(strategy="rules", top=5, min_orders=10,
                                          include=("pets",)))
    assert [set(x) for x in res.bundles["items"]] == [{"E", "F"}]
    res = build_bundles(inp, BundleParams(strategy="rules", top=5, min_orders=10,
                                          allow_variants=True))
    assert any(set(x) == {"R1", "R2"} for x in res.bundles["items"])


def test_min_orders_threshold_changes_the_list():
    inp = synthetic()
    loose = build_bundles(inp, BundleParams(strategy="rules", top=10, min_orders=10))
    strict = build_bundles(inp, BundleParams(strategy="rules", top=10, min_orders=40))
    assert len(strict.bundles) < len(loose.bundles)
    assert all(n >= 40 for n in strict.bundles["orders_together"])


def test_params_are_checked():
    with pytest.raises(BundleLabError, match="strategy must be one of"):
        BundleParams(strategy="magic")
    with pytest.raises(BundleLabError, match="discount"):
        BundleParams(discount=1.5)


# ------------------------------------------------------------------------------ metrics
def test_metrics_perfect_nothing_and_hand_computed():
    orders = [{"a", "b"}, {"a", "b", "x"}, {"c", "d"}]
    perfect = bundle_metrics(orders, [["a", "b"], ["c", "d"]])
    assert perfect["hit_rate"] == 1.0 and perfect["attach_rate"] == 1.0
    assert perfect["coverage_orders"] == 1.0
    nothing = bundle_metrics(orders, [["y", "z"]])
    assert nothing["hit_rate"] == 0.0 and nothing["attach_rate"] == 0.0
    assert nothing["coverage_orders"] == 0.0 and nothing["coverage_items"] == 0.0
    # hand-computed: orders with >= 2 items: all 5 below except {"a"} and {"q"}
    orders = [{"a"}, {"a", "b"}, {"a", "c"}, {"b", "c", "d"}, {"d", "e"}, {"q"}, {"n", "a", "e"}]
    m = bundle_metrics(orders, [["a", "b"], ["d", "e"]], cold_items={"e"},
                       revenue=[1, 2, 3, 4, 5, 6, 7])
    assert m["hit_rate"] == pytest.approx(2 / 5)  # {"a","b"} and {"d","e"}
    # bundle ab: touched by 5 orders ({a},{a,b},{a,c},{b,c,d},{n,a,e}), attached 1 -> 0.2
    # bundle de: touched by 3 ({b,c,d},{d,e},{n,a,e}), attached 1 -> 1/3
    assert m["attach_rate"] == pytest.approx((0.2 + 1 / 3) / 2)
    assert m["coverage_orders"] == pytest.approx(6 / 7)
    assert m["coverage_revenue"] == pytest.approx((28 - 6) / 28)
    assert m["coverage_items"] == pytest.approx(4 / 7)  # a b d e of a b c d e q n
    # cold item e is in orders {d,e} (d is in its bundle: hit) and {n,a,e} (no d: miss)
    assert m["cold_hit_rate"] == pytest.approx(0.5) and m["cold_orders"] == 2


# ------------------------------------------------------------------------------ words
def test_names_variants_and_prices():
    # the shared product, then what tells the items apart (tests/core/test_bundle_names.py)
    assert short_name(["JUMBO BAG RED RETROSPOT", "JUMBO BAG PINK POLKADOT"]) == \
        "Jumbo Bag: Red Retrospot + Pink Polkadot"
    assert short_name(["TEA POT", "SUGAR BOWL"]) == "Tea Pot + Sugar Bowl"
    assert variant_key("LUNCH BAG RED RETROSPOT") == variant_key("LUNCH BAG PINK POLKADOT")
    assert is_variant_pair("LUNCH BAG RED", "LUNCH BAG BLUE", 0.1)
    assert not is_variant_pair("TEA POT", "TEA CUP", 0.5)
    assert is_variant_pair("TEA POT", "TEAPOT", 0.95)
    assert is_variant_pair("ROSES REGENCY TEACUP AND SAUCER", "GREEN REGENCY TEACUP AND SAUCER", 0.8)
    assert is_variant_pair("LUNCH BAG RED RETROSPOT", "LUNCH BAG BLACK SKULL", 0.5)
    assert not is_variant_pair("SET/6 RED SPOTTY PAPER PLATES", "SET/6 RED SPOTTY PAPER CUPS", 0.82)
    assert not is_variant_pair("SET OF 3 CAKE TINS PANTRY DESIGN", "SET OF 6 SPICE TINS PANTRY DESIGN",
                               0.78)
    assert bundle_price(20.0, discount=0.1) == (17.99, "10% off the list price")
    price, note = bundle_price(20.0, discount=0.5, cost=15.0, min_margin=0.1)
    assert price == 16.5 and "price floor" in note
    assert np.isnan(bundle_price(float("nan"), discount=0.1)[0])


@pytest.mark.parametrize("strategy", ["rules", "hybrid"])
def test_list_ends_when_nothing_new_is_covered(strategy):
    """Asking for more bundles than the orders support gives a shorter list with a note, never
    bundles nobody bought (and never a hang)."""
    res = build_bundles(synthetic(), BundleParams(strategy=strategy, top=40, min_orders=10))
    assert 3 <= len(res.bundles) < 40
    assert (res.bundles["coverage_gain"] > 0).all()
    assert any(n.startswith(f"only {len(res.bundles)} of 40 bundles") for n in res.notes)


def test_target_customers_follow_the_recommender_scores():
    inp = synthetic()
    customers = np.array(["c0", "c1", "c2", "zz"], dtype=object)

    def scores(cols):  # "zz" (a customer without these items) loves item A; c1 the least
        s = np.ones((4, len(cols)), dtype=np.float32)
        s[3] = 5.0
        s[1] = 0.0
        return customers, s

    inp.customer_scores = scores
    res = build_bundles(inp, BundleParams(strategy="rules", top=1, min_orders=10,
                                          n_customers=2))
    # every synthetic customer bought A and B together, so only "zz" is left to show it to
    assert res.bundles.iloc[0]["target_customers"] == ["zz"]


def test_recommender_affinity_enters_the_hybrid_score():
    inp = synthetic()
    n = len(ITEMS)
    table = np.full((n, n), 0.1)
    table[ITEMS.index("E"), ITEMS.index("F")] = table[ITEMS.index("F"), ITEMS.index("E")] = 0.9
    calls = []

    def affinity(cols):
        calls.append(len(cols))
        return table[np.asarray(cols)]

    inp.affinity = affinity
    res = build_bundles(inp, BundleParams(strategy="hybrid", top=3, min_orders=10, w_rules=0.0,
                                          w_text=0.0, w_rec=1.0, cold_share=0.0))
    ef = res.bundles[res.bundles["items"].map(set) == {"E", "F"}].iloc[0]
    assert ef["affinity"] == pytest.approx(0.9) and "recommender" in ef["provenance"]
    assert max(calls) <= 256  # anchors are scored in chunks, each once
    off = build_bundles(inp, BundleParams(strategy="hybrid", top=3, min_orders=10))
    assert (off.bundles["affinity"] == 0).all()  # w_rec = 0: the recommender is not asked


# ------------------------------------------------------------------------------ absent signals
def _lists(res):
    return [tuple(x) for x in res.bundles["items"]], res.bundles["score"].round(12).tolist()


def test_text_weight_does_nothing_without_text_vectors():
    """The percentile rank of an absent signal (a constant) is 0.5, not 0: weighting it changed
    the list. Absent text gets weight 0 and a note, whatever w_text says."""
    from dataclasses import replace

    inp = replace(synthetic(), vectors=None, base_vectors=None)
    off = build_bundles(inp, BundleParams(top=10, min_orders=5, w_text=0.0))
    on = build_bundles(inp, BundleParams(top=10, min_orders=5, w_text=1.0))
    assert _lists(on) == _lists(off)
    assert any(n.startswith("text similarity not used") for n in on.notes)
    assert not any("text similarity" in n for n in off.notes)
    assert on.params["weights_used"] == {"rules": 1.0, "text": 0.0, "recommender": 0.0}
    # descriptions switched off in the settings: the vectors there are left unused, same list
    switched = build_bundles(synthetic(), BundleParams(top=10, min_orders=5, w_text=1.0,
                                                       text=False))
    assert _lists(switched) == _lists(off)
    assert any(n.startswith("text similarity not used") for n in switched.notes)


def test_recommender_weight_does_nothing_without_a_recommender():
    inp = synthetic()
    assert inp.affinity is None
    off = build_bundles(inp, BundleParams(top=10, min_orders=5, w_rec=0.0))
    on = build_bundles(inp, BundleParams(top=10, min_orders=5, w_rec=1.0))
    assert _lists(on) == _lists(off)
    assert any(n.startswith("recommender affinity not used") for n in on.notes)
    assert not any("recommender affinity not used" in n for n in off.notes)
    # the rules strategy has no weights to ignore: no note
    rules = build_bundles(inp, BundleParams(strategy="rules", top=10, min_orders=5, w_rec=1.0))
    assert not any("not used" in n for n in rules.notes)
