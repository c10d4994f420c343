"""mlxtend is the oracle: identical itemsets and bit-identical rule metrics on random and real
baskets."""

from __future__ import annotations

import numpy as np
import pytest

from core.rules.itemsets import frequent_itemsets, min_count_for
from core.rules.reference import as_frozensets, mlxtend_itemsets, mlxtend_metric_names, mlxtend_rules
from core.rules.association import METRICS, RuleParams, association_rules
from tests.conftest import shared_file
from tests.core.rules_data import clean_online_retail, groceries_baskets, random_baskets
from core.baskets import build_baskets


def assert_same_itemsets(ours, ref):
    df = ours.to_frame()
    mine = dict(zip(as_frozensets(df["itemsets"]), df["support"]))
    theirs = dict(zip(as_frozensets(ref["itemsets"]), ref["support"]))
    assert mine.keys() == theirs.keys(), (len(mine), len(theirs))
    assert all(mine[k] == theirs[k] for k in theirs)  # same count / n, bit for bit


def assert_same_rules(ours_rules, ref_rules):
    def table(df):
        keys = zip(as_frozensets(df["antecedents"]), as_frozensets(df["consequents"]))
        return dict(zip(keys, df[METRICS].to_numpy(dtype=float)))

    mine, theirs = table(ours_rules), table(ref_rules)
    assert mine.keys() == theirs.keys(), (len(mine), len(theirs))
    a = np.array([mine[k] for k in theirs])
    b = np.array([theirs[k] for k in theirs])
    np.testing.assert_array_equal(a, b)  # inf == inf; every metric bit-identical


def test_metric_columns_are_mlxtends():
    assert mlxtend_metric_names() == METRICS


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("min_support,max_len", [(0.03, 0), (0.06, 3), (0.1, 2), (12, 4)])
def test_random_baskets_match_mlxtend(seed, min_support, max_len):
    b = random_baskets(seed)
    ours = frequent_itemsets(b, min_support=min_support, max_len=max_len)
    share = ours.min_count / b.n_orders  # a count means count / n in mlxtend's terms
    ref = mlxtend_itemsets(b, min_support=share, max_len=max_len)
    assert_same_itemsets(ours, ref)
    if max_len != 2:
        assert max(ours.lengths()) >= 3  # the planted bundles make longer itemsets
    rules = association_rules(ours, RuleParams(min_confidence=0.0, min_lift=0.0))
    assert_same_rules(rules, mlxtend_rules(ref, n_orders=b.n_orders, min_confidence=0.0))


def test_apriori_agrees_too():
    b = random_baskets(7)
    ours = frequent_itemsets(b, min_support=0.05, max_len=0)
    assert_same_itemsets(ours, mlxtend_itemsets(b, min_support=0.05, algorithm="apriori"))


def test_confidence_threshold_matches_mlxtend():
    b = random_baskets(3)
    ours = frequent_itemsets(b, min_support=0.04, max_len=4)
    ref = mlxtend_itemsets(b, min_support=0.04, max_len=4)
    rules = association_rules(ours, RuleParams(min_confidence=0.6, min_lift=0.0))
    assert len(rules) and (rules["confidence"] >= 0.6).all()
    assert_same_rules(rules, mlxtend_rules(ref, n_orders=b.n_orders, min_confidence=0.6))


def test_min_support_share_uses_mlxtends_float_test():
    # 0.07 * 100 = 7.000000000000001 in floats: mlxtend keeps count c when c / 100 >= 0.07
    assert min_count_for(0.07, 100) == (7 if 7 / 100 >= 0.07 else 8)
    assert min_count_for(0.5, 10) == 5
    assert min_count_for(0.51, 10) == 6
    assert min_count_for(20, 10) == 20  # an order count, even above the number of orders
    assert min_count_for(1, 10) == 1


def test_online_retail_slice_matches_mlxtend(online_retail):
    lines = clean_online_retail(online_retail, nrows=40_000)
    b = build_baskets(lines)
    ours = frequent_itemsets(b, min_support=0.02, max_len=4)
    ref = mlxtend_itemsets(b, min_support=0.02, max_len=4, sparse=True)
    assert_same_itemsets(ours, ref)
    assert ours.lengths().get(3, 0) > 0
    rules = association_rules(ours, RuleParams(min_confidence=0.0, min_lift=0.0))
    assert_same_rules(rules, mlxtend_rules(ref, n_orders=b.n_orders, min_confidence=0.0))


def test_groceries_matches_mlxtend():
    b, _ = groceries_baskets(shared_file("groceries", "groceries_long.csv.gz"))
    ours = frequent_itemsets(b, min_support=0.005, max_len=0)
    ref = mlxtend_itemsets(b, min_support=0.005)
    assert_same_itemsets(ours, ref)
    rules = association_rules(ours, RuleParams(min_confidence=0.1, min_lift=0.0))
    assert_same_rules(rules, mlxtend_rules(ref, n_orders=b.n_orders, min_confidence=0.1))


def test_chunked_paths_give_the_same_itemsets(monkeypatch):
    """Tiny budgets force every bounded-memory path: blocked pair product, orders in chunks,
    candidates in chunks, joins in chunks, sparse bitset building, no bitset cache."""
    import core.rules.counting as ic
    import core.rules.itemsets as its

    b = random_baskets(4, n_orders=300)
    want = frequent_itemsets(b, min_support=0.03, max_len=0)
    monkeypatch.setattr(ic, "_PAIR_BLOCK_WORK", 50)
    monkeypatch.setattr(ic, "_BITS_BUDGET", 64)
    monkeypatch.setattr(ic, "_CHUNK_BYTES", 8)
    monkeypatch.setattr(ic, "_CACHE_BUDGET", 0)
    monkeypatch.setattr(ic, "_DENSE_CELLS", 0)
    monkeypatch.setattr(its, "JOIN_CHUNK", 3)
    got = frequent_itemsets(b, min_support=0.03, max_len=0)
    assert got.lengths() == want.lengths() and max(got.lengths()) >= 4
    assert_same_itemsets(got, mlxtend_itemsets(b, min_support=got.min_count / b.n_orders))
