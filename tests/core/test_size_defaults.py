"""Size-aware defaults (issue 18): the rules step's support follows the shop's size and sparsity
(``core.rules.defaults``), and so does the bundles' automatic minimum orders in a huge catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.baskets import build_baskets
from core.bundles.params import MAX_BUNDLE_ITEMS, BundleParams
from core.rules.association import RuleParams, association_rules
from core.rules.defaults import (
    MAX_FREQUENT_ITEMS,
    MIN_ORDERS,
    RULES_MAX_ITEMSETS,
    raised,
    rules_support,
)
from core.rules.itemsets import frequent_itemsets, min_count_for


def sparse_shop(n_orders: int = 50_000, n_items: int = 20_000, n_pairs: int = 300,
                together: int = 40, seed: int = 0):
    """A large sparse shop: 1-8 items per order from a long-tail popularity over ``n_items``,
    plus ``n_pairs`` planted pairs of mid-popular items, each bought together in ``together``
    orders. Returns (baskets, the planted pairs as sets of item ids)."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    sizes = rng.poisson(3, n_orders) + 1
    orders = np.repeat(np.arange(n_orders), sizes)
    items = rng.choice(n_items, size=len(orders), p=pop)
    planted = rng.choice(np.arange(2000, n_items), size=(n_pairs, 2), replace=False)
    hosts = rng.choice(n_orders, size=(n_pairs, together))  # orders that also hold the pair
    extra_o = np.concatenate([hosts.ravel(), hosts.ravel()])
    extra_i = np.concatenate([np.repeat(planted[:, 0], together),
                              np.repeat(planted[:, 1], together)])
    lines = pd.DataFrame({"order_id": np.concatenate([orders, extra_o]),
                          "item_id": [f"I{i:05d}" for i in np.concatenate([items, extra_i])]})
    pairs = {frozenset((f"I{a:05d}", f"I{b:05d}")) for a, b in planted}
    return build_baskets(lines), pairs


def _rules(baskets, min_support):
    fi = frequent_itemsets(baskets, min_support=min_support, max_len=3,
                           max_itemsets=RULES_MAX_ITEMSETS)
    return fi, association_rules(fi, RuleParams())


def test_large_sparse_shop_finds_rules_where_one_percent_finds_almost_none():
    baskets, planted = sparse_shop()
    _, at_1pct = _rules(baskets, 0.01)
    choice = rules_support(baskets.item_counts(), baskets.n_orders)
    fi, rules = _rules(baskets, choice.min_count)
    assert len(at_1pct) <= 10
    assert choice.min_count >= MIN_ORDERS and choice.min_support < 0.01
    assert choice.frequent_items == len(fi.sets[1]) <= MAX_FREQUENT_ITEMS
    assert len(rules) >= 300
    found = {frozenset(a + c) for a, c in zip(rules["antecedents"], rules["consequents"])}
    assert len(planted & found) >= 0.9 * len(planted)  # the real pairs, not chance
    assert "orders" in choice.why and choice.as_dict()["min_count"] == choice.min_count


def test_small_shop_keeps_one_percent():
    """Below 2,000 orders a 1% share is at most 20 orders: the former default stays."""
    for n in (60, 500, 1_500):
        counts = np.linspace(n // 2, 1, 200).astype(int)
        choice = rules_support(counts, n)
        assert choice.min_count == min_count_for(0.01, n)
        assert "1% of orders" in choice.why


def test_mid_shop_asks_twenty_orders_and_bounds_frequent_items():
    choice = rules_support(np.linspace(900, 1, 1000).astype(int), 10_000)
    assert choice.min_count == MIN_ORDERS  # 1% would ask 100 orders
    assert "at least 20 orders" in choice.why
    many = np.arange(1, 4000)[::-1]  # 3,920 items in 80+ orders (1 in 5,000 of 400,000)
    choice = rules_support(many, 400_000)
    assert choice.min_count == 2000  # the 2,001st item's 1,999 orders fall below
    assert choice.frequent_items == MAX_FREQUENT_ITEMS and "at most 2,000 items" in choice.why


def test_dense_baskets_raise_the_count_up_to_one_percent():
    counts = np.full(500, 5_000)
    choice = rules_support(counts, 20_000)
    nxt = raised(choice, counts, RULES_MAX_ITEMSETS)
    assert nxt.min_count == int(np.ceil(choice.min_count * 1.5))
    assert "dense baskets" in nxt.why
    at_cap = rules_support(counts[:5], 1_000)  # small shop: already at 1%
    assert raised(at_cap, counts, RULES_MAX_ITEMSETS) is None


def test_bundle_minimum_follows_shop_size_and_bounds_items():
    p = BundleParams()
    assert p.min_orders_choice(5_000)[0] == 15
    assert p.min_orders_choice(300_000, np.arange(1, 4000))[0] == 50
    huge = np.arange(1, 30_000)[::-1]  # 29,950 items in 50+ orders
    n, why = p.min_orders_choice(3_000_000, huge)
    assert n > 50 and int((huge >= n).sum()) <= MAX_BUNDLE_ITEMS and "raised" in why
    assert BundleParams(min_orders=7).min_orders_choice(3_000_000, huge) == (7, "set")


def test_run_summary_says_what_was_chosen_and_why(tmp_path, capsys):
    """``python -m core run --json`` on a small shop without customers: the rules step keeps 1%
    and the summary names both defaults."""
    import json

    from core.cli.main import main

    f = tmp_path / "baskets.csv"
    f.write_text("".join("tea pot,tea cup\n" if i % 2 else "cake tin,candle holder,gift wrap\n"
                         for i in range(300)))
    code = main(["run", str(f), "--workspace", str(tmp_path / "ws"), "--no-text", "--json",
                 "--allow-variants"])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    support = summary["defaults"]["rules_support"]
    assert support["min_count"] == min_count_for(0.01, 300) and "1% of orders" in support["why"]
    assert summary["rules"] > 0
    chosen = summary["defaults"]["bundles_min_orders"]
    assert chosen["min_orders"] >= 5 and chosen["why"]
