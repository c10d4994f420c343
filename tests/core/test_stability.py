"""Bundle stability over time (``core.bundles.stability``, ``bundles --stability``): a synthetic
shop over two years with one bundle built for each label, the per-window counts by hand, and
data without dates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.bundles.stability import LABELS, StabilityRule, stability_table
from core.errors import BundleLabError

BUNDLES = {"seasonal": ["SE1", "SE2"], "steady": ["ST1", "ST2"], "rising": ["RI1", "RI2"],
           "fading": ["FA1", "FA2"], "new": ["NE1", "NE2"]}


def two_years() -> pd.DataFrame:
    """Jan 2022 - Dec 2023. Each month 200 orders of filler items, and: the seasonal pair bought
    together in 30 orders in Nov and Dec only (its items sold alone all year); the steady pair in
    20 orders every month; the rising pair in 2 + m orders in month m (0..23), the fading pair in
    25 - m; the new pair's items sold (together, 20 orders a month) from Oct 2023 only."""
    rng = np.random.default_rng(0)
    rows, order = [], 0

    def add(day, items):
        nonlocal order
        order += 1
        rows.extend((f"o{order}", it, day) for it in items)

    for m in range(24):
        start = pd.Timestamp("2022-01-01") + pd.DateOffset(months=m)
        day = start + pd.Timedelta(days=10)
        for _ in range(200):
            add(day, [f"F{k}" for k in rng.choice(40, size=2, replace=False)])
        for _ in range(5):
            add(day, ["SE1"])
            add(day, ["SE2"])
            add(day, ["RI1"])
            add(day, ["FA1"])
        if start.month in (11, 12):
            for _ in range(30):
                add(day, BUNDLES["seasonal"])
        for _ in range(20):
            add(day, BUNDLES["steady"])
        for _ in range(2 + m):
            add(day, BUNDLES["rising"])
        for _ in range(25 - m):
            add(day, BUNDLES["fading"])
        if m >= 21:
            for _ in range(20):
                add(day, BUNDLES["new"])
    return pd.DataFrame(rows, columns=["order_id", "item_id", "timestamp"])


def bundle_frame() -> pd.DataFrame:
    return pd.DataFrame({"bundle_id": [f"B{k}" for k in range(len(BUNDLES))],
                         "name": list(BUNDLES), "items": list(BUNDLES.values()),
                         "orders_together": [120, 480, 324, 324, 60]})


def test_each_bundle_gets_its_label():
    stab = stability_table(two_years(), bundle_frame(), "month", min_orders=50)
    got = dict(zip(bundle_frame()["name"], stab.table["stability"]))
    assert got == {k: k for k in BUNDLES}, stab.table
    t = stab.table.set_index("bundle_id")
    assert (t["windows"] == 24).all()
    assert t.loc["B0", "windows_held"] == 4 and t.loc["B0", "season"] == "Nov, Dec"
    assert t.loc["B0", "evidence"] == "repeats in 2 years (Nov, Dec)"
    assert t.loc["B1", "windows_held"] == 24
    assert t.loc["B2", "trend"] > 0.5 > -0.5 > t.loc["B3", "trend"]
    assert t.loc["B4", "first_held"] == "2023-10"
    assert len(stab.series) == 5 * 24
    s = stab.series[stab.series["bundle_id"] == "B2"]
    assert s["together"].tolist() == [2 + m for m in range(24)]
    assert (s["anchor_orders"] == s["together"] + 5).all()  # RI1 sold alone 5 times a month


def test_quarters_and_a_stricter_rule():
    lines = two_years()
    stab = stability_table(lines, bundle_frame(), "quarter", min_orders=50)
    assert (stab.table["windows"] == 8).all()
    assert stab.table.loc[0, "stability"] == "seasonal"  # Q4 of both years
    assert stab.table.loc[0, "season"] == "Q4"
    assert stab.table.loc[1, "stability"] == "steady"
    assert stab.series["window"].iloc[0] == "2022Q1"
    # the rule is a parameter: nothing holds when a window needs 1,000 orders together
    strict = stability_table(lines, bundle_frame(), "month", rule=StabilityRule(floor=1000))
    assert (strict.table["windows_held"] == 0).all()


def test_window_counts_by_hand():
    """Jan: o1 {a,b}, o2 {a}, o3 {a,b,c}, o4 {c}; Feb: o5 {a}, o6 {b}; Mar: o7 {a,b}; o8 {a,b}
    has no date. Bundle {a,b}: anchor a (the best seller); together 2/0/1, anchor orders 3/1/1,
    orders 4/2/1; the undated order is in no window."""
    orders = {"o1": ("ab", "2024-01-03"), "o2": ("a", "2024-01-09"), "o3": ("abc", "2024-01-20"),
              "o4": ("c", "2024-01-31"), "o5": ("a", "2024-02-02"), "o6": ("b", "2024-02-28"),
              "o7": ("ab", "2024-03-15"), "o8": ("ab", None)}
    lines = pd.DataFrame([(o, it, pd.Timestamp(d) if d else pd.NaT)
                          for o, (its, d) in orders.items() for it in its],
                         columns=["order_id", "item_id", "timestamp"])
    bundles = pd.DataFrame({"bundle_id": ["X"], "items": [["a", "b"]], "orders_together": [4]})
    stab = stability_table(lines, bundles, "month", min_orders=2,
                           rule=StabilityRule(floor=1, own_rate=0.0))
    s = stab.series
    assert s["window"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert s["orders"].tolist() == [4, 2, 1]
    assert s["together"].tolist() == [2, 0, 1]
    assert s["anchor_orders"].tolist() == [3, 1, 1]
    assert s["confidence"].round(4).tolist() == [0.6667, 0.0, 1.0]
    # overall confidence 3/5: a window holds with >= 1 order together and confidence >= 0.3
    assert s["held"].tolist() == [True, False, True]
    assert stab.table.loc[0, "anchor"] == "a" and stab.table.loc[0, "windows_held"] == 2


@pytest.mark.parametrize("lines", [
    pd.DataFrame({"order_id": ["1", "1"], "item_id": ["a", "b"]}),
    pd.DataFrame({"order_id": ["1", "1"], "item_id": ["a", "b"], "timestamp": [pd.NaT, pd.NaT]}),
])
def test_no_dates_is_a_clear_error(lines):
    bundles = pd.DataFrame({"bundle_id": ["X"], "items": [["a", "b"]]})
    with pytest.raises(BundleLabError, match="needs order dates"):
        stability_table(lines, bundles)
    with pytest.raises(BundleLabError, match="month, quarter"):
        stability_table(lines.assign(timestamp=pd.Timestamp("2024-01-01")), bundles, "week")


def test_fifty_bundles_on_a_large_shop():
    # speed is measured in bench/, not asserted here (about 0.3 s for 50 bundles on UCI)
    rng = np.random.default_rng(1)
    n = 300_000
    lines = pd.DataFrame({"order_id": rng.integers(0, 40_000, n).astype(str),
                          "item_id": rng.integers(0, 3000, n).astype(str)})
    lines["timestamp"] = pd.Timestamp("2022-01-01") + pd.to_timedelta(
        lines["order_id"].astype(int) % 400, unit="D")  # one date per order, 13 months
    bundles = pd.DataFrame({"bundle_id": [f"B{k}" for k in range(50)],
                            "items": [[str(k), str(k + 1), str(k + 2)][: 2 + k % 2]
                                      for k in range(50)]})
    stab = stability_table(lines, bundles, "month", min_orders=10)
    assert len(stab.table) == 50 and stab.table["stability"].isin(LABELS).all()
    assert len(stab.series) == 50 * 14


def test_cli_stability_columns_and_no_dates_error(ws, tmp_path, capsys):
    from core.cli.main import main
    from core.ingest.load import ingest

    lines = two_years()
    csv = tmp_path / "shop.csv"
    lines.rename(columns={"order_id": "InvoiceNo", "item_id": "StockCode",
                          "timestamp": "InvoiceDate"}).assign(Quantity=1, UnitPrice=2.0) \
        .to_csv(csv, index=False)
    ingest(ws, csv, dataset="shop")
    out = tmp_path / "b.csv"
    code = main(["bundles", "--workspace", str(ws.root), "--dataset", "shop", "--no-text",
                 "--min-orders", "50", "--stability", "month", "--out", str(out), "--json",
                 "--allow-variants"])  # the ids-only names look alike
    printed, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(printed.strip().splitlines()[-1])
    table = pd.read_csv(out)
    assert {"stability", "windows_held", "windows"} <= set(table.columns)
    assert (table["windows"] == 24).all()
    labels = {frozenset(i.split(" | ")): s for i, s in zip(table["items"], table["stability"])}
    assert labels == {frozenset(items): name for name, items in BUNDLES.items()}
    assert sum(summary["stability"].values()) == len(table)

    undated = tmp_path / "undated.csv"  # order lines without a date column
    undated.write_text("InvoiceNo,StockCode,Description\n" + "".join(
        f"{o},{it},ITEM {it}\n" for o in range(60) for it in ("A", "B")))
    ingest(ws, undated, dataset="undated")
    code = main(["bundles", "--workspace", str(ws.root), "--dataset", "undated", "--no-text",
                 "--min-orders", "5", "--stability", "quarter"])
    _, err = capsys.readouterr()
    assert code == 2 and "needs order dates" in err
    from core.bundles.lists import bundle_lists

    assert bundle_lists(ws, "undated").empty  # said before any list was built and saved


def test_a_launch_is_judged_from_its_launch_and_none_when_never_together():
    """Review of issue 16: months before a bundle's items were on sale read as 'not held' and
    made every launch look rising; a bundle never bought together was called steady."""
    rows, order = [], 0
    for month in range(1, 15):  # Jan 2022 - Feb 2023
        day = pd.Timestamp(2022, 1, 1) + pd.DateOffset(months=month - 1)
        for k in range(40):
            order += 1
            basket = ["f1", "f2"] if k < 6 else ["a"] if k < 20 else ["b"] if k < 30 else ["c"]
            if month >= 5 and k >= 30:  # x and y launch in May 2022, then sell evenly
                basket = ["x", "y"] if k < 36 else ["x"]
            rows += [{"order_id": f"o{order}", "item_id": i, "timestamp": day} for i in basket]
    lines = pd.DataFrame(rows)
    bundles = pd.DataFrame({"bundle_id": ["launch", "never", "steady"],
                            "items": [["x", "y"], ["a", "b"], ["f1", "f2"]]})
    table = stability_table(lines, bundles, "month", min_orders=5).table.set_index("bundle_id")
    assert table.loc["launch", "stability"] == "steady"
    assert "since its items were all on sale (window 5 of 14)" in table.loc["launch", "evidence"]
    assert table.loc["never", "stability"] == "none" and table.loc["never", "windows_held"] == 0
    assert table.loc["steady", "stability"] == "steady"
