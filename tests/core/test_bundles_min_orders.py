"""The automatic minimum "bought together in at least N orders" follows the shop, and steps down
(never below 5, with a note) when it leaves almost no list (fewer than 5 bundles); a list that is
merely short keeps its strong bundles; a minimum the user set is kept."""

from __future__ import annotations

import pandas as pd

from core.baskets import build_baskets
from core.bundles.build import MIN_EVIDENCE_ORDERS, build_bundles
from core.bundles.candidates import BundleInputs
from core.bundles.params import BundleParams


def shop(pairs: list[tuple[str, int]], n_orders: int = 5000) -> BundleInputs:
    """``n_orders`` orders: each named pair bought together in its number of orders, the rest
    single items that never repeat (the automatic minimum for 5,000 orders is 15)."""
    rows, oid = [], 0
    for name, times in pairs:
        for _ in range(times):
            oid += 1
            rows += [(oid, f"{name}a"), (oid, f"{name}b")]
    while oid < n_orders:
        oid += 1
        rows.append((oid, f"S{oid}"))
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"]).astype({"order_id": str})
    b = build_baskets(lines)
    items = pd.DataFrame({"item_id": list(b.item_ids), "item_name": list(b.item_ids),
                          "category": None, "price": float("nan"), "cost": float("nan")})
    return BundleInputs(b, items)


def sparse_shop() -> BundleInputs:
    """4 pairs each bought together in 6 orders and nothing else repeating: the superstore's
    shape."""
    return shop([(f"P{p}", 6) for p in range(4)])


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
    (lowering would let the weak pairs, 6 orders each, in above them)."""
    inp = shop([(f"P{p}", 20) for p in range(6)] + [(f"W{p}", 6) for p in range(6)])
    r = build_bundles(inp, BundleParams(top=20, text=False))
    assert r.params["min_orders_used"] == 15 and len(r.bundles) == 6
    assert not any("automatic minimum" in n for n in r.notes)
