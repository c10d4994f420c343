"""Too little (or unusable) data gets a clear ``BundleLabError`` (CLI: ``error: ...``, exit 2),
never a traceback: dates outside years 1..9999, dates at 9999-12-31, a file whose every row is
dropped, and datasets of one order, two orders, three one-item orders or a single item."""

from __future__ import annotations

import pandas as pd
import pytest

from core.baskets import default_cut, temporal_split
from core.cli.main import main
from core.errors import BundleLabError, InputError
from core.ingest.load import IngestOptions, ingest

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"


def write(path, rows):
    """Order lines (order, item, quantity, date, price[, customer]) as a UCI-style CSV."""
    lines = []
    for r in rows:
        order, item, qty, date, price, *cust = r
        lines.append(f"{order},{item},ITEM {item},{qty},{date},{price},{cust[0] if cust else 'c1'}")
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


# ---------------------------------------------------------------------------- 1. years 1..9999
BAD_YEARS = [(1, "A", 1, "0000-01-01", 2.5), (2, "B", 1, "10000-01-01 10:00", 2.5),
             (3, "C", 1, "-0044-03-15", 2.5), (4, "C", 1, "2024-01-01", 2.5),
             (5, "D", 1, "0001-01-01", 2.5), (6, "D", 1, "9999-12-31", 2.5)]


def test_years_outside_1_to_9999_are_unreadable_dates(ws, tmp_path):
    f = write(tmp_path / "years.csv", BAD_YEARS)
    s = ingest(ws, f, dataset="drop")
    assert s["dropped"] == {"unparseable_timestamp": 3}
    assert s["rows_kept"] == 3
    assert (s["date_min"], s["date_max"]) == ("0001-01-01 00:00:00", "9999-12-31 00:00:00")
    keep = ingest(ws, f, dataset="keep", options=IngestOptions(bad_dates="keep"))
    assert keep["rows_kept"] == 6 and keep["dropped"] == {}
    assert any("3 rows have a timestamp that could not be read" in w for w in keep["warnings"])
    ts = ws.lines("keep")["timestamp"]
    assert ts.isna().sum() == 3 and ts.dropna().dt.year.tolist() == [2024, 1, 9999]


def test_out_of_range_years_do_not_pick_the_format(ws, tmp_path):
    # only out-of-range values parse with %Y-%m-%d: no format fits, every date is unreadable
    f = write(tmp_path / "old.csv", [(1, "A", 1, "0000-01-01", 2.5), (2, "B", 1, "0000-02-01", 2.5),
                                     (3, "B", 1, "15/01/2024", 2.5)])
    s = ingest(ws, f, options=IngestOptions(bad_dates="keep"))
    assert s["timestamp_format"] == "%d/%m/%Y"
    assert ws.lines()["timestamp"].notna().sum() == 1


def test_cli_ingest_year_zero(ws, tmp_path, capsys):
    code, err = run_cli(capsys, "ingest", write(tmp_path / "y.csv", BAD_YEARS),
                        "--workspace", ws.root, "--json")
    assert code == 0, err


# ---------------------------------------------------------------------------- 2. 9999-12-31
@pytest.fixture
def fake_blocks(monkeypatch):
    """Evaluation blocks that only count the split (no models): evaluate's own code paths."""
    import core.evaluate.run as ev

    monkeypatch.setattr(ev, "BLOCKS", [("count", "tests.core.test_too_little_data:count_block"),
                                       ("fail", "tests.core.test_too_little_data:fail_block")])


def count_block(ctx, progress=None) -> dict:
    return {"train": int(ctx.split.train["order_id"].nunique()),
            "test": int(ctx.split.test["order_id"].nunique())}


def fail_block(ctx, progress=None) -> dict:
    raise BundleLabError("no customer ids")


def test_evaluate_at_9999_12_31(ws, tmp_path, fake_blocks, capsys):
    from core.evaluate.run import evaluate

    all_max = [(i, "AB"[i % 2], 1, "9999-12-31 10:00", 2.5) for i in range(10)]
    ingest(ws, write(tmp_path / "max.csv", all_max), dataset="max")
    with pytest.raises(BundleLabError, match="dated orders on at least two different days, but "
                       "here all 10 dated orders fall on one day, 9999-12-31"):
        evaluate(ws, "max", blocks=["count"])
    code, err = run_cli(capsys, "evaluate", "--workspace", ws.root, "--dataset", "max")
    assert code == 2 and err.startswith("error: a held-out later period needs dated orders")
    with pytest.raises(BundleLabError, match="cut date 9999-12-31 leaves no training orders"):
        evaluate(ws, "max", cut="9999-12-31", blocks=["count"])

    mixed = [(i, "AB"[i % 2], 1, f"2024-01-{1 + i:02d}" if i < 6 else "9999-12-31 23:59:59", 2.5)
             for i in range(10)]
    ingest(ws, write(tmp_path / "mixed.csv", mixed), dataset="mixed")
    out = evaluate(ws, "mixed", blocks=["count"])
    assert out["cut"] == "9999-12-31" and out["count"] == {"train": 6, "test": 4}
    code, err = run_cli(capsys, "evaluate", "--workspace", ws.root, "--dataset", "mixed",
                        "--only", "count", "--json")
    assert code == 0, err


def test_default_cut_when_no_day_splits_the_orders():
    one_day = pd.DataFrame({"order_id": ["1", "2", "3"], "item_id": ["a", "b", "c"],
                            "timestamp": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00",
                                                         "2024-03-01 12:00"])})
    assert default_cut(one_day) is None
    with pytest.raises(BundleLabError, match="all 3 dated orders fall on one day, 2024-03-01"):
        temporal_split(one_day)
    one = one_day.head(1)
    with pytest.raises(BundleLabError, match="only 1 order has a date"):
        temporal_split(one)


# ---------------------------------------------------------------------------- 3. all dropped
GOOD = "order,item,qty\n1,a,1\n1,b,2\n2,a,1\n"


@pytest.fixture
def loaded(ws, tmp_path):
    """A workspace that already holds dataset 'shop' (it must survive the refusal)."""
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    ingest(ws, tmp_path / "good.csv", dataset="shop")
    return ws


def unchanged(ws):
    assert ws.datasets()["name"].tolist() == ["shop"]
    assert len(ws.lines("shop")) == 3
    assert ws.info("shop")["version"] == 1
    assert sorted(p.name for p in ws.uploads_dir.iterdir()) == ["shop"]


def test_every_row_dropped_is_refused(loaded, tmp_path, capsys):
    rows = ([(i, "A", -1, "2024-01-01", 2.5) for i in range(100)] +
            [(200 + i, "B", 2, "2024-01-02", 0) for i in range(20)])
    f = write(tmp_path / "returns.csv", rows)
    with pytest.raises(InputError) as err:
        ingest(loaded, f, dataset="shop")
    msg = str(err.value)
    assert msg.startswith("returns.csv: all 120 rows were dropped: 100 quantity zero or negative "
                          "(returns, corrections), 20 unit price zero or negative.")
    assert "the workspace is unchanged" in msg and "--map unit_price=COLUMN" in msg
    unchanged(loaded)
    code, err_text = run_cli(capsys, "ingest", f, "--workspace", loaded.root, "--dataset", "shop")
    assert code == 2 and err_text.startswith("error: returns.csv: all 120 rows were dropped")
    unchanged(loaded)


def test_every_date_unreadable_is_refused_with_keep_hint(loaded, tmp_path):
    f = write(tmp_path / "dates.csv", [(1, "A", 1, "0000-01-01", 2.5), (2, "B", 1, "soon", 2.5)])
    with pytest.raises(InputError, match=r"all 2 rows were dropped: 2 date could not be read\. "
                       r".*--bad-dates keep"):
        ingest(loaded, f, dataset="shop")
    unchanged(loaded)


# ---------------------------------------------------------------------------- 4. tiny datasets
TINY = {
    "one_order": [(1, "A", 1, "2024-01-01 10:00", 2.5), (1, "B", 1, "2024-01-01 10:00", 2.5)],
    "two_orders": [(1, "A", 1, "2024-01-01 10:00", 2.5), (1, "B", 1, "2024-01-01 10:00", 2.5),
                   (2, "A", 1, "2024-01-05 10:00", 2.5), (2, "B", 1, "2024-01-05 10:00", 2.5)],
    "three_single": [(1, "A", 1, "2024-01-01 10:00", 2.5, "c1"),
                     (2, "B", 1, "2024-01-03 10:00", 2.5, "c2"),
                     (3, "C", 1, "2024-01-05 10:00", 2.5, "c1")],
    "one_item": [(i, "A", 1, f"2024-01-{1 + i:02d} 10:00", 2.5, f"c{i % 2}") for i in range(10)],
}


@pytest.fixture
def tiny(ws, tmp_path):
    for name, rows in TINY.items():
        ingest(ws, write(tmp_path / f"{name}.csv", rows), dataset=name)
    return ws


@pytest.mark.parametrize("dataset, message", [
    ("one_order", "mining rules needs at least 2 orders; dataset one_order has 1 order"),
    ("three_single", "mining rules needs orders holding at least 2 different items; dataset "
     "three_single has 3 orders of one item each (3 distinct items)"),
    ("one_item", "dataset one_item has only one distinct item (A)"),
])
def test_mine_refuses_too_little_data(tiny, capsys, dataset, message):
    code, err = run_cli(capsys, "mine", "--workspace", tiny.root, "--dataset", dataset)
    assert code == 2 and err.startswith("error: ") and message in err, err


def test_mine_two_orders_still_works(tiny, capsys):
    code, err = run_cli(capsys, "mine", "--workspace", tiny.root, "--dataset", "two_orders")
    assert code == 0, err


@pytest.mark.parametrize("dataset, n", [("one_order", "1 order"), ("two_orders", "2 orders"),
                                        ("three_single", "3 orders")])
def test_evaluate_refuses_too_few_orders(tiny, capsys, dataset, n):
    code, err = run_cli(capsys, "evaluate", "--workspace", tiny.root, "--dataset", dataset)
    assert code == 2, err
    assert err.startswith("error: evaluate needs at least 2 orders before and 2 after the cut "
                          f"(4 in all); dataset {dataset} has {n}")


def test_evaluate_split_too_small_on_each_side(ws, tmp_path, fake_blocks):
    from core.evaluate.run import evaluate

    # no dates: the last 20% of 4 orders in file order leave 1 test order
    f = tmp_path / "nodates.csv"
    f.write_text("order,item\n1,a\n1,b\n2,a\n3,b\n4,a\n", encoding="utf-8")
    ingest(ws, f, dataset="nodates")
    with pytest.raises(BundleLabError, match="dataset nodates has no dates, so the last 20% of "
                       "orders in file order are held out: 3 before and 1 after"):
        evaluate(ws, "nodates", blocks=["count"])
    ingest(ws, write(tmp_path / "few.csv", [(i, "A", 1, f"2024-01-{1 + i:02d}", 2.5)
                                            for i in range(5)]), dataset="few")
    with pytest.raises(BundleLabError, match="with the cut at 2024-01-02 dataset few has 1 before "
                       "and 4 from it on .5 orders in all.: pick another --cut"):
        evaluate(ws, "few", cut="2024-01-02", blocks=["count"])
    assert evaluate(ws, "few", cut="2024-01-03", blocks=["count"])["count"] == {"train": 2,
                                                                                "test": 3}


def test_evaluate_names_the_block_that_failed(tiny, fake_blocks):
    from core.evaluate.run import evaluate

    with pytest.raises(BundleLabError) as err:
        evaluate(tiny, "one_item", blocks=["count", "fail"])
    assert str(err.value) == ("evaluate stopped in the fail block: no customer ids (the other "
                              "blocks run without it: --only count)")


def test_rules_of_no_orders_do_not_divide_by_zero():
    from core.baskets import build_baskets
    from core.rules.itemsets import frequent_itemsets
    from core.rules.mining import check_minable
    from core.rules.association import RuleParams, association_rules

    empty = build_baskets(pd.DataFrame({"order_id": [], "item_id": []}))
    with pytest.raises(BundleLabError, match="dataset x has no order lines"):
        check_minable(empty, "x")
    assert association_rules(frequent_itemsets(empty), RuleParams()).empty


@pytest.mark.parametrize("cmd", ["embed", "recommend"])
def test_embed_and_recommend_one_order(tiny, capsys, cmd):
    code, err = run_cli(capsys, cmd, "--workspace", tiny.root, "--dataset", "one_order")
    assert code == 2 and err.startswith("error: "), err


def test_bundles_one_order_is_no_traceback(tiny, capsys):
    code, err = run_cli(capsys, "bundles", "--workspace", tiny.root, "--dataset", "one_order",
                        "--no-text")
    assert code in (0, 2), err
