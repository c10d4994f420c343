"""The data check (core.ingest.check): a dry run of ingest that stores nothing; the one column
detection (core.ingest.mapping.detect) that preview, check and ingest share; and warnings
computed with the catalog."""

from __future__ import annotations

import hashlib

import pytest

from core.errors import MappingError
from core.ingest import mapping as mp
from core.ingest.check import check
from core.ingest.cleaning import REASON_TEXT
from core.ingest.load import IngestOptions, ingest
from core.ingest.preview import preview

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
ROWS = [
    "1001,A1,Mug,1,2024-03-01 10:00:00,2.50,17850",
    "1001,B2,Spoon,2,2024-03-01 10:00:00,1.20,17850",
    "1002,A1,Mug,1,2024-03-02 11:00:00,2.50,N/A",
    "1002,,Nothing,1,2024-03-02 11:00:00,1.00,N/A",            # missing_item_id
    "1003,N/A,Placeholder,1,2024-03-03 12:00:00,1.00,13047",    # placeholder_item
    "C1004,A1,Mug,-1,2024-03-04 12:00:00,2.50,13047",           # cancellation
    "1005,B2,Spoon,0,2024-03-05 12:00:00,1.20,13047",           # non_positive_quantity
    "1006,B2,Spoon,1,2024-03-06 12:00:00,1.20,13047",
    "1006,B2,Spoon,1,2024-03-06 12:00:00,1.20,13047",           # duplicate_row
    "1007,C3,Bowl,1,2024-03-07 12:00:00,4.00,13047",
]

IDS_ONLY = "order_id,product_id,add_to_cart_order,reordered\n" + "".join(
    f"{o},{p},{k + 1},{o % 2}\n" for o in range(1, 41)
    for k, p in enumerate([13176, 21137] + ([47209] if o % 2 else [])))
CATALOG = ("product_id,product_name,aisle_id,department_id\n"
           "13176,Bag of Organic Bananas,24,4\n21137,Organic Strawberries,24,4\n"
           "47209,Organic Hass Avocado,24,4\n99,Never Sold Tea,94,7\n")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(ws) -> dict:
    """Every table's row count, the database file's bytes and the workspace's files."""
    out = {"files": sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*")
                           if p.is_file() and p.parent != ws.tmp_dir)}
    with ws.connect(read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        for t in tables:
            out[t] = con.execute("SELECT count(*) FROM " + t).fetchone()[0]  # names from DuckDB
    out["db"] = hashlib.sha256(ws.db_path.read_bytes()).hexdigest()
    return out


def test_drop_shares_examples_and_nothing_written(ws, tmp_path):
    ingest(ws, write(tmp_path / "earlier.csv", HEADER + "\n".join(ROWS[:3]) + "\n"))
    before = snapshot(ws)
    f = write(tmp_path / "orders.csv", HEADER + "\n".join(ROWS) + "\n")
    r = check(ws, f)
    assert snapshot(ws) == before  # no table, no row, no byte, no file changed
    assert list(ws.tmp_dir.iterdir()) == []
    assert r["rows_read"] == 10 and r["rows_kept"] == 5
    assert r["dropped"] == {"missing_item_id": 1, "placeholder_item": 1, "cancellation": 1,
                            "non_positive_quantity": 1, "duplicate_row": 1}
    by = {x["reason"]: x for x in r["reasons"]}
    assert by["cancellation"]["share"] == pytest.approx(0.1)
    assert by["duplicate_row"]["text"] == REASON_TEXT["duplicate_row"]
    assert by["duplicate_row"]["examples"][0]["row"] == 9
    assert by["placeholder_item"]["examples"][0]["StockCode"] == "N/A"
    # what the load would report is what the load does: the same code path
    s = ingest(ws, f)
    for k in ("rows_read", "rows_kept", "dropped", "orders", "items", "customers", "date_min",
              "date_max", "mapping"):
        assert r[k] == s[k], k


def test_placeholder_and_duplicate_findings(ws, tmp_path):
    f = write(tmp_path / "orders.csv", HEADER + "\n".join(ROWS) + "\n")
    cat = write(tmp_path / "cat.csv", "StockCode,Description\nA1,Mug\nA1,Mug 2\nB2,Spoon\n")
    r = check(ws, f, catalog=cat)
    found = {p["field"]: p for p in r["placeholders"]}
    assert found["customer"]["rows"] == 2 and found["customer"]["values"] == ["N/A"]
    assert found["item id"]["rows"] == 1
    assert r["duplicates"] == {"exact_rows": 1, "repeated_lines": 0, "catalog_ids": 1}
    assert r["catalog"]["sold_in_catalog"] == 2 and r["catalog"]["sold_not_in_catalog"] == 1
    r = check(ws, f, options=IngestOptions(drop_duplicates=False))
    assert "duplicate_row" not in r["dropped"] and r["duplicates"]["exact_rows"] == 1
    assert r["duplicates"]["repeated_lines"] == 1  # order 1006 holds B2 twice


def test_suggestions_ids_only_with_catalog(ws, tmp_path):
    lines = write(tmp_path / "order_lines.csv", IDS_ONLY)
    r = check(ws, lines, catalog=write(tmp_path / "products.csv", CATALOG))
    s = {x["field"]: x for x in r["suggestions"]}
    assert set(s) == {"category", "unit_price", "customer_id", "timestamp"}  # names: catalog
    assert s["category"]["columns"][:2] == ["aisle_id", "department_id"]
    assert r["catalog_mapping"]["item_name"] == "product_name"
    assert r["catalog"] == {"rows": 4, "items": 4, "sold_in_catalog": 3,
                            "sold_not_in_catalog": 0, "never_sold": 1, "named": 4}
    assert not any("name" in w for w in r["warnings"])
    r = check(ws, lines)  # no catalog: names are missing, and a catalog is the advice
    s = {x["field"]: x for x in r["suggestions"]}
    assert "product catalog" in s["item_name"]["text"]


def test_suggestions_point_at_unmapped_columns(ws, tmp_path):
    text = "Beleg;Artikel;Betrag;Datum;Gruppe;Kasse;Country;Customer Name\n" + "".join(
        f"{o};{a};{p};0{1 + o % 9}.03.2024;{g};{o % 3};{'DE' if o % 2 else 'AT'};P{o % 4}\n"
        for o in range(30) for a, p, g in (("X1", "2,50", "Tee"), ("X2", "3,75", "Kaffee")))
    r = check(ws, write(tmp_path / "kasse.csv", text),
              options=IngestOptions(mapping={"order_id": "Beleg", "item_id": "Artikel"}))
    s = {x["field"]: x["columns"] for x in r["suggestions"]}
    assert s["timestamp"] == ["Datum"]
    assert s["unit_price"] == ["Betrag"]  # decimals; "Kasse" holds whole numbers
    assert s["category"] == ["Gruppe"]  # not Country: it describes the order
    assert "Gruppe" in s["item_name"] and "Customer Name" not in s["item_name"]
    assert s["customer_id"][0] == "Customer Name"


def test_explain_says_which_synonym_or_rule(ws, tmp_path):
    f = write(tmp_path / "pos.csv", "订单 ID,商品名称,Sales,Quantity\n1,茶,10,2\n1,咖啡,8,1\n")
    rows = {(x["column"], x["field"]): x["why"] for x in check(ws, f)["explain"]}
    assert rows[("订单 ID", "order id")].startswith("header synonym")
    assert rows[("商品名称", "item id")] == "no item id column: the item name is the id"
    assert "unit price = Sales / Quantity" in rows[("Sales", "line total")]
    f = write(tmp_path / "daily.csv", "Customer,Date,Item,Sales\nk1,2024-01-01,tea,3\n"
                                      "k1,2024-01-01,cake,4\nk2,2024-01-02,tea,3\n")
    r = check(ws, f)
    rows = {(x["column"], x["field"]): x["why"] for x in r["explain"]}
    assert rows[(mp.CUSTOMER_DAY, "order id")].startswith("no order id column")
    assert rows[("Sales", "line total")].endswith("unit price = Sales (no quantity column)")
    assert r["orders"] == 2
    # preview shows the detection that check and ingest use
    assert preview(f, ws.tmp_dir)["mapping"] == r["mapping"] == ingest(ws, f)["mapping"]


def test_detect_rules_and_overrides():
    d = mp.detect(["order_id", "product_id"], ["product_id", "product_name", "aisle"])
    assert d.lines == {"order_id": ["order_id"], "item_id": ["product_id"]}
    assert d.catalog == {"item_id": ["product_id"], "item_name": ["product_name"],
                         "category": ["aisle"]}
    assert mp.detect(["Customer", "Date", "Item"]).lines["order_id"] == []
    d = mp.detect(["Bon", "Customer", "Date", "Item"], overrides={"order_id": mp.CUSTOMER_DAY})
    assert d.lines["order_id"] == [] and d.why[("order lines", "order_id")].startswith("your")
    assert mp.detect(["Qty", "Price"]).lines == {"quantity": ["Qty"], "unit_price": ["Price"]}
    with pytest.raises(MappingError, match="no column that can be an order id"):
        mp.detect(["Qty", "Price"], strict=True)
    with pytest.raises(MappingError, match="needs a customer column and a date column"):
        mp.detect(["Bon", "Item"], overrides={"order_id": mp.CUSTOMER_DAY}, strict=True)


def test_no_name_warning_counts_catalog_names(ws, tmp_path):
    """Names from the catalog: no "no item name" warning (the old one counted the order lines'
    empty name column and warned about every row)."""
    lines = write(tmp_path / "order_lines.csv", IDS_ONLY)
    s = ingest(ws, lines, catalog=write(tmp_path / "products.csv", CATALOG))
    assert not [w for w in s["warnings"] if "no name" in w or "no item name" in w]
    assert ws.items("order_lines").set_index("item_id").loc["13176", "item_name"] == \
        "Bag of Organic Bananas"
    cat = write(tmp_path / "half.csv", "product_id,product_name\n13176,Bananas\n21137,\n")
    s = ingest(ws, lines, catalog=cat, dataset="half")
    assert [w for w in s["warnings"] if "no name" in w] == [(
        "2 sold items (60 kept rows) have no name in the order lines or the catalog: the item "
        "id is used as the name.")]
