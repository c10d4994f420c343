"""Rule options (item filters, consequent length, pruning, significance, limits) and the
itemset guard rail."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from core.baskets import Baskets
from core.errors import BundleLabError, TooManyItemsets
from core.rules.itemsets import frequent_itemsets
from core.rules.association import RuleParams, _p_adjust, association_rules
from tests.core.rules_data import random_baskets

ALL = RuleParams(min_confidence=0.0, min_lift=0.0)


@pytest.fixture(scope="module")
def mined():
    return frequent_itemsets(random_baskets(11), min_support=0.04, max_len=4)


def _full(mined):
    return association_rules(mined, ALL)


def test_item_filters(mined):
    full = _full(mined)
    item = full["antecedents"].iloc[0][0]
    has = lambda col: full[col].map(lambda t: item in t)
    anyside = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, items=(item,)))
    assert len(anyside) == (has("antecedents") | has("consequents")).sum() > 0
    ante = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, items=(item,),
                                               item_side="antecedent"))
    cons = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, items=(item,),
                                               item_side="consequent"))
    assert len(ante) == has("antecedents").sum() and len(cons) == has("consequents").sum()
    assert ante["antecedents"].map(lambda t: item in t).all()
    assert cons["consequents"].map(lambda t: item in t).all()
    none = association_rules(mined, RuleParams(items=("no-such-item",)))
    assert none.empty and list(none.columns) == list(full.columns)


def test_thresholds_and_consequent_length(mined):
    full = _full(mined)
    some = association_rules(mined, RuleParams(min_confidence=0.3, min_lift=1.5))
    assert len(some) == ((full["confidence"] >= 0.3) & (full["lift"] >= 1.5)).sum() > 0
    single = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, max_consequent_len=1))
    assert len(single) == (full["consequents"].map(len) == 1).sum()
    assert list(some["lift"]) == sorted(some["lift"], reverse=True)
    by_conf = association_rules(mined, RuleParams(min_confidence=0.3, sort_by="confidence"))
    assert list(by_conf["confidence"]) == sorted(by_conf["confidence"], reverse=True)


def test_redundancy_pruning_matches_definition(mined):
    full = _full(mined)
    conf = {(frozenset(a), frozenset(c)): x for a, c, x in
            zip(full["antecedents"], full["consequents"], full["confidence"])}
    cnt = {(frozenset(a), frozenset(c)): (t, s) for a, c, t, s in
           zip(full["antecedents"], full["consequents"], full["orders_together"],
               full["antecedent support"])}

    def redundant(a, c):
        a, c = frozenset(a), frozenset(c)
        t, s = cnt[(a, c)]
        for size in range(1, len(a)):
            for sub in combinations(sorted(a), size):
                t2, s2 = cnt[(frozenset(sub), c)]
                if t2 * s >= t * s2 - 1e-15:  # confidence(sub -> c) >= confidence(a -> c)
                    return True
        return False

    expected = {k for k in conf if not redundant(*k)}
    pruned = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, prune_redundant=True))
    got = set(zip(map(frozenset, pruned["antecedents"]), map(frozenset, pruned["consequents"])))
    assert got == expected and len(got) < len(full)
    assert pruned["antecedents"].map(len).max() >= 1


def test_significance_filter(mined):
    n = mined.n_orders
    full = _full(mined)
    sig = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, significance=0.05,
                                              correction="bonferroni"))
    assert 0 < len(sig) < len(full)
    row = sig.iloc[len(sig) // 2]
    a, c = round(row["antecedent support"] * n), round(row["consequent support"] * n)
    t = int(row["orders_together"])
    _, p = stats.fisher_exact([[t, a - t], [c - t, n - a - c + t]], alternative="greater")
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    assert row["p_adjusted"] == pytest.approx(min(1.0, p * len(full)), rel=1e-9)
    assert (sig["p_adjusted"] <= 0.05).all()
    holm = association_rules(mined, RuleParams(min_confidence=0, min_lift=0, significance=0.05))
    assert len(holm) >= len(sig)  # Holm is never stricter than Bonferroni


def test_p_adjust_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(_p_adjust(p, "bonferroni"), [0.04, 0.16, 0.12, 1.0])
    np.testing.assert_allclose(_p_adjust(p, "holm"), [0.04, 0.09, 0.09, 0.5])
    np.testing.assert_allclose(_p_adjust(p, "fdr_bh"), [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    np.testing.assert_allclose(_p_adjust(p, "none"), p)


def test_conviction_inf_and_zero_denominators():
    # every order holds "a"; "b" only with "a": confidence(b -> a) = 1, support(a) = 1
    M = np.array([[1, 1], [1, 1], [1, 0], [1, 0]], dtype=bool)
    b = Baskets(sp.csr_matrix(M), np.array(["1", "2", "3", "4"], dtype=object),
                np.array(["a", "b"], dtype=object))
    rules = association_rules(frequent_itemsets(b, min_support=1), ALL).set_index("consequents")
    b_to_a = rules.loc[[("a",)]].iloc[0]
    assert b_to_a["confidence"] == 1.0 and np.isinf(b_to_a["conviction"])
    assert b_to_a["certainty"] == 0.0            # 1 - sC == 0 -> 0
    a_to_b = rules.loc[[("b",)]].iloc[0]
    assert a_to_b["zhangs_metric"] == 0.0        # sA = 1 and leverage 0 -> denominator 0 -> 0
    assert (rules["representativity"] == 1.0).all()


def test_max_rules_limit(mined):
    with pytest.raises(TooManyItemsets, match="min_confidence"):
        association_rules(mined, RuleParams(min_confidence=0, min_lift=0, max_rules=10))


def test_bad_settings_say_how_to_fix():
    b = random_baskets(0)
    with pytest.raises(BundleLabError, match="whole number"):
        frequent_itemsets(b, min_support=2.5)
    with pytest.raises(BundleLabError, match="above 0"):
        frequent_itemsets(b, min_support=0)
    with pytest.raises(BundleLabError, match="max_len"):
        frequent_itemsets(b, min_support=0.1, max_len=-1)
    mined = frequent_itemsets(b, min_support=0.1)
    with pytest.raises(BundleLabError, match="between 0 and 1"):
        association_rules(mined, RuleParams(min_confidence=1.5))
    with pytest.raises(BundleLabError, match="item_side"):
        association_rules(mined, RuleParams(item_side="left"))


def _clique(n_items: int, n_orders: int) -> Baskets:
    """Every order holds every item: all 2^n_items - 1 itemsets are frequent."""
    M = np.ones((n_orders, n_items), dtype=bool)
    return Baskets(sp.csr_matrix(M), np.arange(n_orders).astype(str).astype(object),
                   np.array([f"i{j:02d}" for j in range(n_items)], dtype=object))


def test_guard_estimates_before_counting_and_says_millions():
    # C(26, k): 971,711 itemsets up to length 7, then 1.56 million of length 8 alone: stopped on
    # the estimate, before length 8 is counted
    with pytest.raises(TooManyItemsets) as err:
        frequent_itemsets(_clique(26, 30), min_support=0.5, max_len=0, max_itemsets=1_000_000)
    msg = str(err.value)
    assert "millions" in msg and "estimated before counting" in msg
    assert "Raise min_support" in msg and "set max_len to 7 (971,711 itemsets)" in msg
    assert "e.g. to 0.75" in msg


def test_guard_hard_stop_while_counting():
    with pytest.raises(TooManyItemsets, match="counting passed the limit"):
        frequent_itemsets(_clique(12, 5), min_support=1, max_len=3, max_itemsets=150)
    with pytest.raises(TooManyItemsets, match="counting passed the limit"):  # pairs alone
        frequent_itemsets(_clique(12, 5), min_support=1, max_len=2, max_itemsets=40)
    ok = frequent_itemsets(_clique(12, 5), min_support=1, max_len=3, max_itemsets=298)
    assert ok.lengths() == {1: 12, 2: 66, 3: 220}


def test_large_baskets_and_edge_cases():
    # one wholesale order with every item, the rest small: exact and fast
    rng = np.random.default_rng(5)
    M = rng.random((400, 150)) < 0.01
    M[:3] = True
    b = Baskets(sp.csr_matrix(M), np.arange(400).astype(str).astype(object),
                np.array([f"i{j:03d}" for j in range(150)], dtype=object))
    got = frequent_itemsets(b, min_support=3, max_len=3)
    assert got.lengths() == {1: 150, 2: 150 * 149 // 2, 3: 150 * 149 * 148 // 6}
    ranks = np.sort(got.rank_of(["i000", "i001", "i002"]))[None, :]
    assert got.lookup(3, ranks)[0] == 3 + int(M[3:, :3].all(axis=1).sum())
    empty = frequent_itemsets(b, min_support=0.9)
    assert len(empty) == 0 and association_rules(empty, ALL).empty
    assert frequent_itemsets(b, min_support=3, max_len=1).lengths() == {1: 150}
