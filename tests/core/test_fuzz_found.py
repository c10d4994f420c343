"""Cases the long fuzz run (bench/fuzz_ingest.py) found, kept as plain regression tests."""

from __future__ import annotations

import datetime

import openpyxl

from core.errors import BundleLabError
from core.ingest.load import ingest
from core.workspace import Workspace


def test_utf8_that_duckdb_refuses_twice_is_a_clean_error(tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(b"order_id,item_id,item_name,quantity,unit_price,customer_id,date\n"
                  b'0-1,1.5\r\n0 -1,""\xc3\xa9')
    try:
        ingest(Workspace(tmp_path / "ws"), f)
    except BundleLabError as exc:
        assert "x.csv" in str(exc)


def test_huge_and_infinite_numbers_are_unreadable(tmp_path):
    f = tmp_path / "n.csv"
    f.write_text("order,item,qty,price\n1,a,1,1e308\n1,b,1,inf\n1,c,1e300,2\n2,a,1,2.5\n2,b,1,3\n")
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["dropped"] == {"unparseable_quantity": 1, "unparseable_price": 2}
    assert s["rows_kept"] == 2


def test_xlsx_time_of_day_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["order", "item", "date", "time"])
    ws.append([1, "a", datetime.date(2024, 1, 2), datetime.time(9, 30)])
    ws.append([1, "b", datetime.date(2024, 1, 2), datetime.time(9, 30)])
    f = tmp_path / "t.xlsx"
    wb.save(f)
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["rows_kept"] == 2 and s["date_min"] == "2024-01-02 09:30:00"


def test_header_with_a_quoted_line_break(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text('order_id,item_id,x,"line\nbreak",y\n1,A,2,3,4\n2,B,3,4,5\n')
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["rows_read"] == 2 and s["rows_kept"] == 2
