"""Dates with two-digit years are read in their century (POSIX: 69-99 are the 1900s), and the
fallback cast does not turn a day-first date into the year 13 (found by the Spark engine's
equality review; the default engine read "12/1/10" as the year 10)."""

from __future__ import annotations

import duckdb
import pandas as pd

from core.ingest.cleaning import detect_timestamp_format
from core.ingest.load import ingest
from core.workspace import Workspace


def test_detection_prefers_two_digit_formats():
    con = duckdb.connect()
    assert detect_timestamp_format(con, ["12/1/10 8:26", "12/13/10 9:00"]) == "%m/%d/%y %H:%M"
    assert detect_timestamp_format(con, ["03/01/85 08:00 PM"]) == "%m/%d/%y %I:%M %p"
    assert detect_timestamp_format(con, ["01.02.18"]) == "%d.%m.%y"
    assert detect_timestamp_format(con, ["12/1/2010 8:26"]) == "%m/%d/%Y %H:%M"
    assert detect_timestamp_format(con, ["2010-12-01 08:26:00"]) == "%Y-%m-%d %H:%M:%S"


def test_ingest_reads_the_century(tmp_path):
    src = tmp_path / "o.csv"
    src.write_text("InvoiceNo,StockCode,InvoiceDate,UnitPrice\n1,a,12/1/10 8:26,1\n"
                   "1,b,12/13/10 8:26,1\n2,a,12/13/70 9:00,1\n2,c,13/01/21 09:00,1\n",
                   encoding="utf-8")
    ws = Workspace(tmp_path / "ws")
    summary = ingest(ws, src, dataset="d")
    ts = ws.lines("d").timestamp
    assert list(ts.dt.year) == [2010, 2010, 1970]
    assert ts.iloc[0] == pd.Timestamp("2010-12-01 08:26")
    assert summary["dropped"] == {"unparseable_timestamp": 1}  # 13/01/21 is no month-first date
