"""Parquet uploads (a file, or a Spark/Hive folder of part files) load like the same table as CSV."""

from __future__ import annotations

import datetime as dt
import decimal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import InputError
from core.ingest.check import check
from core.ingest.load import default_name, ingest
from core.ingest.preview import preview
from core.ingest.rawread import ROW_KEY, WIDE_COLUMNS, configure, read_raw
from core.ingest.sniff import sniff

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
          "CustomerID", "Country"]
ROWS = [  # the UCI layout: a cancellation, a postage line, a duplicate, zero quantity and price
    ("536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, "2010-12-01 08:26:00", 2.55, 17850, "United Kingdom"),
    ("536365", "71053", "WHITE METAL LANTERN", 6, "2010-12-01 08:26:00", 3.39, 17850, "United Kingdom"),
    ("536366", "22633", "HAND WARMER UNION JACK", 6, "2010-12-01 08:28:00", 1.85, 17850, "United Kingdom"),
    ("536366", "22632", "HAND WARMER RED POLKA DOT", 6, "2010-12-01 08:28:00", 1.85, None, "United Kingdom"),
    ("C536379", "22632", "HAND WARMER RED POLKA DOT", -1, "2010-12-01 09:41:00", 1.85, 14527, "United Kingdom"),
    ("536367", "POST", "POSTAGE", 1, "2010-12-01 08:34:00", 18.0, 13047, "France"),
    ("536367", "84879", "ASSORTED COLOUR BIRD ORNAMENT", 32, "2010-12-01 08:34:00", 1.69, 13047, "United Kingdom"),
    ("536367", "84879", "ASSORTED COLOUR BIRD ORNAMENT", 32, "2010-12-01 08:34:00", 1.69, 13047, "United Kingdom"),
    ("536368", "22960", "JAM MAKING SET WITH JARS", 0, "2010-12-01 08:34:00", 4.25, 13047, "United Kingdom"),
    ("536369", "21756", "BATH BUILDING BLOCK WORD", 3, "2010-12-02 10:35:00", 0.0, 13047, "United Kingdom"),
    ("536370", "22728", "ALARM CLOCK BAKELIKE PINK", 24, "2010-12-02 11:45:00", 3.75, 12583, "France"),
]
SUMMARY_KEYS = ["rows_read", "rows_kept", "dropped", "orders", "items", "customers", "date_min",
                "date_max", "mapping"]


def write_csv(path, rows=ROWS):
    def cell(v):
        return "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
    lines = [",".join(HEADER)] + [",".join(f'"{cell(v)}"' if "," in cell(v) else cell(v)
                                           for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def arrow_table(rows=ROWS) -> pa.Table:
    """Typed columns: int quantity, double price, a timestamp, the customer id as a double."""
    cols = list(zip(*rows))
    return pa.table({
        "InvoiceNo": pa.array(cols[0], pa.string()),
        "StockCode": pa.array(cols[1], pa.string()),
        "Description": pa.array(cols[2], pa.string()),
        "Quantity": pa.array(cols[3], pa.int64()),
        "InvoiceDate": pa.array([dt.datetime.fromisoformat(v) for v in cols[4]],
                                pa.timestamp("us")),
        "UnitPrice": pa.array(cols[5], pa.float64()),
        "CustomerID": pa.array([None if v is None else float(v) for v in cols[6]], pa.float64()),
        "Country": pa.array(cols[7], pa.string()),
    })


def same_dataset(ws, a: str, b: str, sa: dict, sb: dict) -> None:
    assert {k: sa[k] for k in SUMMARY_KEYS} == {k: sb[k] for k in SUMMARY_KEYS}
    pd.testing.assert_frame_equal(ws.lines(a), ws.lines(b))
    pd.testing.assert_frame_equal(ws.items(a), ws.items(b))


def raw_rows(path, tmp_path) -> tuple[list[str], list[tuple]]:
    sn = sniff(path, tmp_path)
    con = duckdb.connect()
    try:
        configure(con)
        n = read_raw(con, sn, "raw", tmp_path)
        rows = con.execute("SELECT * FROM raw ORDER BY line_no").fetchall()
    finally:
        con.close()
    assert n == len(rows)
    return sn.header, rows


def test_csv_and_parquet_give_the_same_dataset(ws, tmp_path):
    s_csv = ingest(ws, write_csv(tmp_path / "orders.csv"), dataset="as_csv")
    pq.write_table(arrow_table(), tmp_path / "orders.parquet", row_group_size=4)
    s_pq = ingest(ws, tmp_path / "orders.parquet", dataset="as_parquet")
    assert s_pq["layout"] == "parquet"
    assert s_pq["rows_read"] == 11 and s_pq["rows_kept"] == 6
    assert s_pq["dropped"] == {"cancellation": 1, "non_positive_quantity": 1,
                               "non_product_code": 1, "zero_or_negative_price": 1,
                               "duplicate_row": 1}
    assert (s_pq["date_min"], s_pq["date_max"]) == ("2010-12-01 08:26:00", "2010-12-02 11:45:00")
    same_dataset(ws, "as_csv", "as_parquet", s_csv, s_pq)
    assert ws.lines("as_parquet")["customer_id"].tolist()[:3] == ["17850", "17850", "17850"]
    assert ws.info("as_parquet")["source"].endswith("orders.parquet")


def test_parquet_without_a_pq_name_and_with_glob_characters(ws, tmp_path):
    """The first bytes decide, not the name; a name DuckDB would glob is read literally."""
    pq.write_table(arrow_table(), tmp_path / "export.dat")
    pq.write_table(arrow_table()[:2], tmp_path / "orders[1].parquet")
    assert ingest(ws, tmp_path / "export.dat")["rows_read"] == 11
    assert ingest(ws, tmp_path / "orders[1].parquet", dataset="globby")["rows_read"] == 2
    assert default_name("orders.parquet") == "orders" and default_name("x.PQ") == "x"


def test_typed_columns_become_text_the_cleaning_reads(tmp_path):
    utc = dt.timezone.utc
    when = dt.datetime(2010, 7, 1, 8, 26, tzinfo=utc)
    table = pa.table({
        "date": pa.array([dt.date(2010, 12, 1), None], pa.date32()),
        "price": pa.array([decimal.Decimal("2.55"), decimal.Decimal("18.00")],
                          pa.decimal128(10, 2)),
        "gift": pa.array([True, False]),
        "utc": pa.array([when, when], pa.timestamp("us", tz="UTC")),
        "berlin": pa.array([when, when], pa.timestamp("ms", tz="Europe/Berlin")),
        "offset": pa.array([when, when], pa.timestamp("us", tz="-05:30")),
        "nanos": pa.array([dt.datetime(2010, 12, 1, 8, 26)] * 2, pa.timestamp("ns")),
        "float_id": pa.array([17850.0, float("nan")]),
        "f32": pa.array([2.55, -0.0], pa.float32()),
        "tags": pa.array([{"a": 1}, None]),
        "sizes": pa.array([[1, 2], []]),
    })
    pq.write_table(table, tmp_path / "typed.parquet")
    header, rows = raw_rows(tmp_path / "typed.parquet", tmp_path)
    assert header == table.column_names
    assert rows == [
        (1, "2010-12-01", "2.55", "true", "2010-07-01 08:26:00", "2010-07-01 10:26:00",
         "2010-07-01 02:56:00", "2010-12-01 08:26:00", "17850", "2.55", "{'a': 1}", "[1, 2]"),
        (2, None, "18.00", "false", "2010-07-01 08:26:00", "2010-07-01 10:26:00",
         "2010-07-01 02:56:00", "2010-12-01 08:26:00", "nan", "0", None, "[]"),
    ]


def write_spark_folder(folder):
    """Two part files (the second one's columns in another order), _SUCCESS and .crc files."""
    folder.mkdir()
    t = arrow_table()
    pq.write_table(t[6:].select(list(reversed(HEADER))),
                   folder / "part-00001-3f2c-4a1b.c000.snappy.parquet")
    pq.write_table(t[:6], folder / "part-00000-3f2c-4a1b.c000.snappy.parquet", row_group_size=2)
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-00000-3f2c-4a1b.c000.snappy.parquet.crc").write_bytes(b"crc\x00")
    (folder / "_committed_123").write_text("{}")
    return folder


def test_spark_folder_reads_part_files_in_name_order(tmp_path):
    folder = write_spark_folder(tmp_path / "orders_out")
    sn = sniff(folder, tmp_path)
    assert (sn.kind, sn.path, sn.header) == ("parquet", folder, HEADER)
    assert sn.notes == ["Parquet folder: 2 part files"]
    header, rows = raw_rows(folder, tmp_path)
    assert [r[0] for r in rows] == list(range(1, 12))
    assert [r[1:3] for r in rows] == [r[:2] for r in ROWS]
    assert rows[0][5:8] == ("2010-12-01 08:26:00", "2.55", "17850")


def test_spark_folder_data_check(ws, tmp_path):
    """The data check (the dry run of ingest) reads a folder like the single file."""
    folder = write_spark_folder(tmp_path / "orders_out")
    pq.write_table(arrow_table(), tmp_path / "orders.parquet")
    got, want = check(ws, folder), check(ws, tmp_path / "orders.parquet")
    assert got["rows_read"] == 11 and got["layout"] == "parquet"
    for key in ("rows_kept", "dropped", "orders", "items", "customers", "date_min", "date_max"):
        assert got[key] == want[key], key


def test_folder_without_part_files(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_SUCCESS").write_bytes(b"")
    with pytest.raises(InputError, match="folder without Parquet part files"):
        sniff(tmp_path / "out", tmp_path)


def test_damaged_parquet_names_the_file(ws, tmp_path):
    pq.write_table(arrow_table(), tmp_path / "good.parquet")
    data = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        ingest(ws, tmp_path / "cut.parquet")
    msg = str(err.value)
    assert "cut.parquet" in msg and "export or copy it again" in msg and "Traceback" not in msg
    assert err.value.file == str(tmp_path / "cut.parquet")
    mangled = bytearray(data)  # footer intact, data pages overwritten: found when reading rows
    mangled[4:len(data) // 2] = b"\x55" * (len(data) // 2 - 4)
    (tmp_path / "pages.parquet").write_bytes(bytes(mangled))
    with pytest.raises(InputError, match=r"pages\.parquet cannot be read as Parquet"):
        ingest(ws, tmp_path / "pages.parquet")
    (tmp_path / "text.parquet").write_text("InvoiceNo,StockCode\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"text\.parquet .*'PAR1'"):
        ingest(ws, tmp_path / "text.parquet")
    assert ws.datasets().empty


def test_damaged_part_file_is_named(tmp_path):
    folder = write_spark_folder(tmp_path / "out")
    part = folder / "part-00001-3f2c-4a1b.c000.snappy.parquet"
    part.write_bytes(part.read_bytes()[:40])
    with pytest.raises(InputError, match=r"out \(part file part-00001-3f2c-4a1b"):
        sniff(folder, tmp_path)


def test_parquet_catalog(ws, tmp_path):
    lines = "order,item,qty\n1,10,1\n1,11,2\n2,10,1\n2,12,1\n"
    (tmp_path / "tx.csv").write_text(lines, encoding="utf-8")
    pq.write_table(pa.table({
        "item_id": pa.array([10, 11, 12, 13], pa.int64()),
        "name": ["GROUND COFFEE", "MILK", "BAGUETTE", "GREEN TEA"],
        "category": ["COFFEE", "DAIRY", "BREAD", "TEA"],
        "cost": pa.array([2.0, 0.5, 0.3, None]),
    }), tmp_path / "cat.parquet")
    s = ingest(ws, tmp_path / "tx.csv", catalog=tmp_path / "cat.parquet")
    assert s["catalog_items"] == 4 and s["catalog_mapping"]["item_name"] == "name"
    items = ws.items("tx").set_index("item_id")
    assert items.loc["10", "item_name"] == "GROUND COFFEE"
    assert items.loc["12", "category"] == "BREAD"
    assert items.loc["11", "cost"] == pytest.approx(0.5)
    assert items.loc["13", "n_orders"] == 0 and bool(items.loc["13", "in_catalog"])


def test_parquet_catalog_names_from_its_columns(ws, tmp_path):
    """No name column: names are built from the catalog's text columns, sampled from Parquet."""
    (tmp_path / "tx.csv").write_text("household_id,basket_id,product_id,quantity\n"
                                     "h1,b1,10,1\nh1,b1,11,2\nh2,b2,10,1\nh2,b2,12,1\n")
    pq.write_table(pa.table({
        "product_id": pa.array([10, 11, 12, 13], pa.int64()),
        "department": ["GROCERY", "GROCERY", "BAKERY", "GROCERY"],
        "product_type": ["GROUND COFFEE", "MILK", "BAGUETTE", "GREEN TEA"],
    }), tmp_path / "cat.parquet")
    s = ingest(ws, tmp_path / "tx.csv", catalog=tmp_path / "cat.parquet")
    assert "item_name" in s["catalog_mapping"]
    names = ws.items("tx").set_index("item_id")["item_name"]
    assert "GROUND COFFEE" in names.loc["10"]


def test_preview_shows_parquet_rows(tmp_path):
    pq.write_table(arrow_table(), tmp_path / "orders.parquet")
    pv = preview(tmp_path / "orders.parquet", tmp_path, rows=2)
    assert pv["layout"] == "parquet" and pv["columns"] == HEADER
    assert pv["rows"][0]["InvoiceDate"] == "2010-12-01 08:26:00"
    assert pv["rows"][0]["CustomerID"] == "17850" and pv["mapping"]["order_id"] == "InvoiceNo"
    assert len(pv["rows"]) == 2


def test_wide_parquet_keeps_the_mapped_columns(ws, tmp_path):
    t = arrow_table()
    extra = {f"attr_{i}": pa.array([str(i)] * t.num_rows) for i in range(WIDE_COLUMNS)}
    wide = pa.table({**{c: t[c] for c in HEADER}, **extra})
    pq.write_table(wide, tmp_path / "wide.parquet")
    s = ingest(ws, tmp_path / "wide.parquet")
    assert s["rows_read"] == 11 and s["rows_kept"] == 6
    assert s["dropped"]["duplicate_row"] == 1  # found through the digest of the whole row
    assert not list(ws.tmp_dir.glob("ingest-*"))  # the narrowed temp file is gone
    s_csv = ingest(ws, write_csv(tmp_path / "narrow.csv"))
    pd.testing.assert_frame_equal(ws.lines("wide"), ws.lines("narrow"))
    assert {k: s[k] for k in SUMMARY_KEYS} == {k: s_csv[k] for k in SUMMARY_KEYS}
    assert ROW_KEY not in s["mapping"].values()
