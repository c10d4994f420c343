"""What a bundle is worth (``core.bundles.value``): the expected value and its parts by hand on a
tiny shop, and the columns in a built list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.baskets import build_baskets
from core.bundles.value import VALUE_COLUMNS, bundle_value, recent_rows

A, B, C, N = "10001", "10002", "10003", "10009"
PRICES = {A: 10.0, B: 5.0, C: 4.0, N: 3.0}
COSTS = {A: 6.0, B: 2.0, C: 1.0, N: 1.0}


def tiny_orders() -> tuple[list[list[str]], np.ndarray]:
    """50 orders, 5 a day over 10 days. The recent orders (the last 20%) are orders 40..49, days
    9 and 10 (2 days = 2/7 week): every one holds A; 4 hold A, B, C; 3 hold A, B; 3 hold A only.
    The earlier orders 0..39 all hold A, B and C: were they counted, every rate would differ.
    N is a new item: never sold."""
    orders = [[A, B, C]] * 40 + [[A, B, C]] * 4 + [[A, B]] * 3 + [[A]] * 3
    times = np.array([np.datetime64("2024-01-01T10:00") + np.timedelta64(o // 5, "D")
                      for o in range(50)])
    return orders, times


def value(uplift: float = 0.2, *, costs: bool = False, dated: bool = True) -> pd.DataFrame:
    orders, times = tiny_orders()
    lines = pd.DataFrame([{"order_id": str(o), "item_id": it} for o, its in enumerate(orders)
                          for it in its])
    ids = [A, B, C, N]
    b = build_baskets(lines, item_ids=ids)
    items = pd.DataFrame({"item_id": ids, "price": [PRICES[x] for x in ids],
                          "cost": [COSTS[x] if costs else np.nan for x in ids]})
    bundles = pd.DataFrame({"bundle_id": ["B001", "B002", "B003", "B004"],
                            "items": [[A, B, C], [A, B], [A, N], [A, B]],
                            "bundle_price": [17.0, 14.0, 12.0, None]})
    return bundle_value(b, items, bundles, order_time=times if dated else None, uplift=uplift)


def test_recent_rows():
    _, times = tiny_orders()
    rows, weeks = recent_rows(times, 50)
    assert rows.tolist() == list(range(40, 50)) and weeks == pytest.approx(2 / 7)
    rows, weeks = recent_rows(None, 50)
    assert rows.tolist() == list(range(40, 50)) and weeks is None


def test_expected_value_by_hand_revenue():
    t = value().set_index("bundle_id")
    assert all(c in t for c in VALUE_COLUMNS)
    # B001 {A, B, C}, list price 19, bundle price 17: 10 recent anchor orders in 2/7 week = 35 a
    # week; p1 = 4/10; p2 = 0.4 * 1.2 = 0.48; extra bundles 35 * 0.08 = 2.8 a week.
    # discount cost: 35 * 0.4 * (19 - 17) = 28.
    # a converted order pays 17 instead of what it held: A+B orders 17 - 15 = 2, A-only orders
    # 17 - 10 = 7; mean over the 6 = 4.5; extra 2.8 * 4.5 = 12.6; value 12.6 - 28 = -15.4
    r = t.loc["B001"]
    assert r["ev_anchor_orders"] == pytest.approx(35.0)
    assert r["ev_take_rate"] == pytest.approx(0.4)
    assert r["ev_extra_bundles"] == pytest.approx(2.8)
    assert r["ev_discount_cost"] == pytest.approx(28.0)
    assert r["ev_extra"] == pytest.approx(12.6)
    assert r["expected_value"] == pytest.approx(-15.4)
    assert r["ev_basis"] == "revenue" and r["ev_per"] == "week"
    # B002 {A, B}, list 15, bundle 14: p1 = 7/10, p2 = 0.84, extra bundles 35 * 0.14 = 4.9;
    # discount cost 35 * 0.7 * 1 = 24.5; the 3 A-only orders gain 14 - 10 = 4: extra 19.6;
    # value 19.6 - 24.5 = -4.9
    r = t.loc["B002"]
    assert (r["ev_take_rate"], r["ev_extra_bundles"]) == (pytest.approx(0.7), pytest.approx(4.9))
    assert (r["ev_discount_cost"], r["ev_extra"]) == (pytest.approx(24.5), pytest.approx(19.6))
    assert r["expected_value"] == pytest.approx(-4.9)
    # B003 holds a never-sold item: no order took it, no evidence, no value (not a loss)
    # no recent order took it: no evidence, so no value (empty, sorted last), not 0
    assert t.loc["B003", "ev_take_rate"] == 0 and pd.isna(t.loc["B003", "expected_value"])
    assert t.loc["B003", "ev_basis"] == "no evidence"
    # B004: no bundle price, no value
    assert np.isnan(t.loc["B004", "expected_value"]) and t.loc["B004", "ev_basis"] == "no prices"


def test_expected_value_by_hand_margin_and_uplift():
    # with costs for every item: margin. B001: the bundle's margin is 17 - 9 = 8; an A+B order
    # held margin 4 + 3 = 7 (gain 1), an A-only order 4 (gain 4): mean 2.5; extra 2.8 * 2.5 = 7;
    # the discount cost is the same money (28): value 7 - 28 = -21
    r = value(costs=True).set_index("bundle_id").loc["B001"]
    assert r["ev_basis"] == "margin"
    assert (r["ev_extra"], r["expected_value"]) == (pytest.approx(7.0), pytest.approx(-21.0))
    # doubling the take rate (uplift 1): p2 = 0.8, extra bundles 35 * 0.4 = 14, revenue extra
    # 14 * 4.5 = 63: value 63 - 28 = +35. B002: p2 = min(1, 1.4) = 1, extra 35 * 0.3 * 4 = 42,
    # value 42 - 24.5 = 17.5: the list sorts B001 above B002 by value
    t = value(uplift=1.0).set_index("bundle_id")
    assert t.loc["B001", "expected_value"] == pytest.approx(35.0)
    assert t.loc["B002", "ev_extra_bundles"] == pytest.approx(10.5)
    assert t.loc["B002", "expected_value"] == pytest.approx(17.5)


def test_undated_orders_are_per_1000_orders():
    # the last 20% of the rows, the same 10 orders: 10 anchor orders per 10 recent orders is
    # 1,000 per 1,000 orders; B002's value -4.9 a week becomes -4.9 * 1000 / 35 = -140
    t = value(dated=False).set_index("bundle_id")
    assert (t["ev_per"] == "1,000 orders").all()
    assert t.loc["B002", "ev_anchor_orders"] == pytest.approx(1000.0)
    assert t.loc["B002", "expected_value"] == pytest.approx(-140.0)


def test_built_lists_carry_the_value(ws, tmp_path):
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset
    from core.ingest.load import ingest
    from tests.core.test_bundles_cli import shop_csv

    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    r = build_for_dataset(ws, "shop", BundleParams(text=False, top=6, min_orders=5,
                                                   allow_variants=True), save=False, record=False)
    t = r.bundles
    assert all(c in t for c in VALUE_COLUMNS) and (t["ev_per"] == "week").all()
    assert t["expected_value"].notna().all() and (t["ev_basis"] == "revenue").all()
    # value = extra - discount cost, for every bundle
    assert np.allclose(t["expected_value"], t["ev_extra"] - t["ev_discount_cost"], atol=0.011)
    by_value = t.sort_values("expected_value", ascending=False)
    assert by_value["expected_value"].is_monotonic_decreasing
