"""Every accepted layout and encoding loads into a workspace dataset with the right content."""

from __future__ import annotations

import gzip
import json

import pytest

from core.ingest.load import IngestOptions, default_name, ingest, reclean

UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
UCI_ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850,United Kingdom",
    "536366,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 08:28:00,1.85,17850,United Kingdom",
    "C536379,22632,HAND WARMER RED POLKA DOT,-1,2010-12-01 09:41:00,1.85,14527,United Kingdom",
    "536367,POST,POSTAGE,1,2010-12-01 08:34:00,18.00,13047,France",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047,United Kingdom",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047,United Kingdom",
    "536368,22960,JAM MAKING SET WITH JARS,0,2010-12-01 08:34:00,4.25,13047,United Kingdom",
    "536369,21756,BATH BUILDING BLOCK WORD,3,2010-12-01 08:35:00,0,13047,United Kingdom",
]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def check_accounting(summary):
    assert summary["rows_read"] == summary["rows_kept"] + sum(summary["dropped"].values())


def test_uci_layout_cleaning_reasons(ws, tmp_path):
    f = write(tmp_path / "orders.csv", UCI_HEADER + "\n".join(UCI_ROWS) + "\n")
    s = ingest(ws, f)
    check_accounting(s)
    assert s["dataset"] == "orders"
    assert s["rows_read"] == 10 and s["rows_kept"] == 5
    assert s["dropped"] == {"cancellation": 1, "non_positive_quantity": 1, "non_product_code": 1,
                            "zero_or_negative_price": 1, "duplicate_row": 1}
    assert s["mapping"] == {"order_id": "InvoiceNo", "item_id": "StockCode",
                            "item_name": "Description", "quantity": "Quantity",
                            "timestamp": "InvoiceDate", "unit_price": "UnitPrice",
                            "customer_id": "CustomerID"}
    assert (s["orders"], s["items"], s["customers"]) == (3, 5, 2)
    assert s["date_min"] == "2010-12-01 08:26:00"
    lines = ws.lines("orders")
    assert lines["order_id"].tolist() == ["536365", "536365", "536366", "536366", "536367"]
    assert lines["quantity"].tolist() == [6, 6, 6, 6, 32]
    items = ws.items("orders").set_index("item_id")
    assert items.loc["85123A", "item_name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert items.loc["22632", "price"] == pytest.approx(1.85)
    ex = ws.dropped_examples("orders")
    row = ex[ex.reason == "cancellation"].iloc[0]
    assert row.line_no == 5 and json.loads(row.detail)["InvoiceNo"] == "C536379"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "cp1252"])
def test_encodings(ws, tmp_path, encoding):
    name = "咖啡杯 套装" if encoding in ("utf-8", "utf-8-sig", "gb18030") else "Crème brûlée dish"
    text = "order_id,sku,title,qty\n" + "".join(f"{o},A{o % 3},{name} {o % 3},1\n"
                                                for o in range(1, 40))
    f = write(tmp_path / f"enc_{encoding}.csv", text, encoding)
    s = ingest(ws, f)
    assert s["encoding"] == ("cp1252" if encoding == "cp1252" else encoding)
    names = set(ws.items(s["dataset"])["item_name"])
    assert f"{name} 1" in names


def test_semicolon_decimal_comma_and_formula_text(ws, tmp_path):
    text = ("Bestellung;Artikel;Name;Menge;Preis\n"
            "1;A;=cmd|' /C calc'!A0;1,5;2,50\n"
            "1;B;Becher;2;1.234,00\n"
            "2;A;=cmd|' /C calc'!A0;3;2,50\n")
    s = ingest(ws, write(tmp_path / "de.csv", text), options=IngestOptions(
        mapping={"order_id": "Bestellung", "item_id": "Artikel", "item_name": "Name",
                 "quantity": "Menge", "unit_price": "Preis"}))
    lines = ws.lines(s["dataset"])
    assert lines["quantity"].tolist() == [1.5, 2.0, 3.0]
    assert lines["unit_price"].tolist() == [2.5, 1234.0, 2.5]
    items = ws.items(s["dataset"]).set_index("item_id")
    assert items.loc["A", "item_name"] == "=cmd|' /C calc'!A0"  # stored as plain text


def test_tsv_and_gzip(ws, tmp_path):
    text = "order\titem\tquantity\n1\tx\t1\n1\ty\t2\n2\tx\t1\n"
    f = tmp_path / "lines.tsv.gz"
    f.write_bytes(gzip.compress(text.encode()))
    s = ingest(ws, f)
    assert s["dataset"] == "lines" and s["delimiter"] == "\t"
    assert (s["orders"], s["items"], s["rows_kept"]) == (2, 2, 3)


def test_xlsx(ws, tmp_path):
    import openpyxl
    from datetime import datetime

    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["Order ID", "Product ID", "Product Name", "Qty", "Order Date", "Customer ID"])
    sh.append([1001, "P1", "Teapot", 1, datetime(2024, 3, 1, 10, 0), "C1"])
    sh.append([1001, "P2", "=HYPERLINK(\"x\")", 2, datetime(2024, 3, 1, 10, 0), "C1"])
    sh.append([1002, "P1", "Teapot", 1, datetime(2024, 3, 2, 11, 30), "C2"])
    wb.save(tmp_path / "shop.xlsx")
    s = ingest(ws, tmp_path / "shop.xlsx")
    assert s["layout"] == "xlsx" and s["rows_kept"] == 3 and s["customers"] == 2
    assert s["date_max"] == "2024-03-02 11:30:00"
    assert ws.lines("shop")["order_id"].tolist() == ["1001", "1001", "1002"]


def test_date_and_time_columns_day_first(ws, tmp_path):
    text = ("Transaction,Item,Date,Time\n"
            "1,Bread,30-10-2016,09:58\n1,Coffee,30-10-2016,09:58\n"
            "2,Tea,01-11-2016,10:05\n2,Bread,01-11-2016,10:05\n")
    s = ingest(ws, write(tmp_path / "bakery.csv", text))
    assert s["mapping"]["timestamp"] == "Date+Time"
    assert s["date_min"] == "2016-10-30 09:58:00" and s["date_max"] == "2016-11-01 10:05:00"


def test_explicit_map_combining_columns(ws, tmp_path):
    text = ("Transaction,Item,Day,Hour\n"
            "1,Bread,30/10/2016,09:58\n1,Coffee,30/10/2016,09:58\n2,Tea,1/11/2016,10:05\n")
    s = ingest(ws, write(tmp_path / "b2.csv", text),
               options=IngestOptions(mapping={"timestamp": "Day+Hour"}))
    assert s["mapping"]["timestamp"] == "Day+Hour"
    assert s["date_min"] == "2016-10-30 09:58:00"


def test_basket_per_line(ws, tmp_path):
    text = "citrus fruit,semi-finished bread,margarine,ready soups\ntropical fruit,yogurt,coffee\n" \
           "whole milk\npip fruit,yogurt,cream cheese ,meat spreads\n"
    s = ingest(ws, write(tmp_path / "groceries.csv", text))
    check_accounting(s)
    assert s["layout"] == "baskets" and s["rows_read"] == 12 and s["orders"] == 4
    assert "cream cheese" in set(ws.items("groceries")["item_id"])
    assert s["customers"] == 0 and s["date_min"] is None


def test_ids_only_with_catalog_text_from_several_columns(ws, tmp_path):
    lines = "household_id,basket_id,product_id,quantity\n" \
            "h1,b1,10,1\nh1,b1,11,2\nh2,b2,10,1\nh2,b2,12,1\n"
    cat = "product_id,department,product_category,product_type,cost\n" \
          "10,GROCERY,COFFEE,GROUND COFFEE,2.0\n11,GROCERY,DAIRY,MILK,0.5\n" \
          "12,BAKERY,BREAD,BAGUETTE,0.3\n13,GROCERY,TEA,GREEN TEA,1.0\n"
    s = ingest(ws, write(tmp_path / "tx.csv", lines), catalog=write(tmp_path / "cat.csv", cat),
               options=IngestOptions(mapping={
                   "item_name": "department+product_category+product_type"}))
    assert s["catalog_mapping"]["item_name"] == "department+product_category+product_type"
    items = ws.items("tx").set_index("item_id")
    assert items.loc["10", "item_name"] == "GROCERY COFFEE GROUND COFFEE"
    assert items.loc["13", "n_orders"] == 0 and bool(items.loc["13", "in_catalog"])  # cold start
    assert items.loc["11", "cost"] == pytest.approx(0.5)
    assert s["customers"] == 2 and s["catalog_items"] == 4


def test_shopify_export_carry_forward_and_email_hash(ws, tmp_path):
    text = ("Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,"
            "Lineitem price,Lineitem sku\n"
            "#1001,ann@example.com,paid,2023-01-05 10:32:11 -0500,1,Green Tea,4.50,TEA-G\n"
            "#1001,,,,2,Tea Cup,3.00,CUP-1\n"
            "#1002,bob@example.com,paid,2023-01-06 09:00:00 -0500,1,Green Tea,4.50,TEA-G\n")
    s = ingest(ws, write(tmp_path / "orders_export.csv", text))
    assert s["mapping"]["order_id"] == "Name" and s["mapping"]["item_id"] == "Lineitem sku"
    lines = ws.lines("orders_export")
    assert lines["timestamp"].notna().all()  # carried forward to the second line
    assert lines["customer_id"].iloc[0] == lines["customer_id"].iloc[1]
    assert all(c.startswith("h_") and "@" not in c for c in lines["customer_id"])
    assert ws.items("orders_export").set_index("item_id").loc["CUP-1", "item_name"] == "Tea Cup"


def test_reingest_replaces_and_reclean_uses_stored_upload(ws, tmp_path):
    text = "order,item,date\n1,a,2024-01-01\n1,b,2024-01-01\n2,a,not a date\n"
    f = write(tmp_path / "d.csv", text)
    s1 = ingest(ws, f)
    assert s1["dropped"] == {"unparseable_timestamp": 1} and ws.info("d")["version"] == 1
    f.unlink()  # the workspace keeps the raw upload
    s2 = reclean(ws, "d", options=IngestOptions(bad_dates="keep"))
    assert s2["rows_kept"] == 3 and s2["dropped"] == {}
    assert any("could not be read" in w for w in s2["warnings"])
    assert ws.info("d")["version"] == 2
    assert ws.datasets()["name"].tolist() == ["d"]


def test_default_name():
    assert default_name("/x/Online Retail.csv.gz") == "Online Retail"
    assert default_name("订单.xlsx") == "dataset"


def test_uci_full_counts(ws, online_retail):
    s = ingest(ws, online_retail)
    check_accounting(s)
    # README of the data set: 19,773 baskets, 3,900 products, 4,334 customers after cleaning
    assert (s["orders"], s["items"], s["customers"]) == (19773, 3900, 4334)
    assert s["rows_read"] == 541909


def test_groceries_file(ws, groceries_baskets):
    s = ingest(ws, groceries_baskets)
    assert (s["rows_read"], s["orders"], s["items"]) == (43367, 9835, 169)


def test_latin1_byte_far_down_the_file(ws, tmp_path):
    """The head looks like UTF-8; a cp1252 byte after the first MB must still be decoded."""
    rows = "".join(f"{o},SKU{o % 50},Plain mug {o % 50},1\n" for o in range(60000))
    text = "order,sku,title,qty\n" + rows + "60001,SKU99,Crème brûlée dish,1\n"
    f = write(tmp_path / "late.csv", text, "cp1252")
    assert f.stat().st_size > 1_200_000
    s = ingest(ws, f)
    assert s["encoding"] == "cp1252" and s["rows_kept"] == 60001
    assert "Crème brûlée dish" in set(ws.items("late")["item_name"])
