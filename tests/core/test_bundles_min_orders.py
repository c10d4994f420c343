"""The automatic minimum "bought together in at least N orders" follows the shop, and steps down
(never below 5, with a note) when it leaves almost no list (fewer than 5 bundles); a list that is
merely short keeps its strong bundles; a minimum the user set is kept."""

from __future__ import annotations

import pandas as pd

from core.baskets import build_baskets
from core.bundles.build import MIN_EVIDENCE_ORDERS, build_bundles
from core.bundles.candidates import BundleInputs
from core.bundles.params import BundleParams


def sparse_shop() -> BundleInputs:
    """5,000 orders (automatic minimum: 15), in which 4 pairs are each bought together in 6
    orders and nothing else repeats: the superstore's shape."""
    rows, oid = [], 0
    for p in range(4):
        for _ in range(6):
            oid += 1
            rows += [(oid, f"P{p}a"), (oid, f"P{p}b")]
    while oid < 5000:
        oid += 1
        rows.append((oid, f"S{oid}"))
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"]).astype({"order_id": str})
    b = build_baskets(lines)
    items = pd.DataFrame({"item_id": list(b.item_ids), "item_name": list(b.item_ids),
                          "category": None, "price": float("nan"), "cost": float("nan")})
    return BundleInputs(b, items)


def test_automatic_minimum_steps_down_with_a_note():
    inp = sparse_shop()
    r = build_bundles(inp, BundleParams(top=10, text=False))
    assert r.params["min_orders_used"] == MIN_EVIDENCE_ORDERS
    assert len(r.bundles) == 4
    assert any("automatic minimum of 15" in n for n in r.notes)


def test_a_minimum_the_user_set_is_kept():
    r = build_bundles(sparse_shop(), BundleParams(top=10, text=False, min_orders=10))
    assert r.params["min_orders_used"] == 10 and len(r.bundles) == 0
    assert not any("automatic minimum" in n for n in r.notes)


def test_a_short_list_of_strong_bundles_is_kept():
    """6 pairs bought together in 20 orders each: 6 bundles at the automatic 15, not lowered
    (lowering would let weaker pairs in above them)."""
    rows, oid = [], 0
    for p in range(6):
        for _ in range(20):
            oid += 1
            rows += [(oid, f"P{p}a"), (oid, f"P{p}b")]
    for p in range(6):  # weak pairs: 6 orders each
        for _ in range(6):
            oid += 1
            rows += [(oid, f"W{p}a"), (oid, f"W{p}b")]
    while oid < 5000:
        oid += 1
        rows.append((oid, f"S{oid}"))
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"]).astype({"order_id": str})
    b = build_baskets(lines)
    items = pd.DataFrame({"item_id": list(b.item_ids), "item_name": list(b.item_ids),
                          "category": None, "price": float("nan"), "cost": float("nan")})
    r = build_bundles(BundleInputs(b, items), BundleParams(top=20, text=False))
    assert r.params["min_orders_used"] == 15 and len(r.bundles) == 6
    assert not any("automatic minimum" in n for n in r.notes)
