"""The faster cleaning SQL (issue 13 item 6) gives the results of the plain forms it replaced:
numbers read directly when DuckDB reads them, exact duplicates found through a hash of the row,
weekday labels removed only where one may be, the item patterns run once per distinct value, the
order-level facts counted per distinct raw value; and the ingest connection's threads follow
``core.device.cpu_threads``."""

from __future__ import annotations

import itertools

import duckdb
import pytest

from core.ingest import rawread
from core.ingest.cleaning import WEEKDAY_RE, number_sql, q, timestamp_text_sql, trim_sql
from core.ingest.load import IngestOptions, ingest


def _plain_number_sql(expr: str, *, decimal_comma: bool, money: bool = False) -> str:
    """The rewriting alone, as before the direct read was put in front of it."""
    x = expr
    if money:
        x = f"regexp_replace({x}, '[£$€¥₹\\s]|EUR|USD|GBP|RMB|CNY|元', '', 'g')"
    if decimal_comma:
        x = (f"CASE WHEN regexp_matches({x}, '^[-+]?[0-9.]*,[0-9]+$') "
             f"THEN replace(replace({x}, '.', ''), ',', '.') ELSE {x} END")
    else:
        x = (f"CASE WHEN regexp_matches({x}, '^[-+]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?$') "
             f"THEN replace({x}, ',', '') ELSE {x} END")
    return f"TRY_CAST({x} AS DOUBLE)"


def test_numbers_read_directly_are_the_numbers_the_rewriting_gives():
    alphabet = "1.,e -+_\t$0"
    values = ["".join(p) for n in range(1, 5) for p in itertools.product(alphabet, repeat=n)]
    values += ["inf", "nan", "Infinity", " -inf ", "1 000", "€ 5", "5 €", "EUR5", "5USD",
               "1_0_0", "1,5€", "1.234,5", "1,234.5", "¥1,234", "12元", "", "abc"]
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS v", [values])
    for decimal_comma, money in itertools.product((False, True), repeat=2):
        new = number_sql("v", decimal_comma=decimal_comma, money=money)
        old = _plain_number_sql("v", decimal_comma=decimal_comma, money=money)
        differ = con.execute(f"SELECT list(v) FROM v WHERE ({new}) IS DISTINCT FROM ({old}) "
                             f"AND NOT (isnan({new}) AND isnan({old}))").fetchone()[0]
        assert not differ, (decimal_comma, money, differ[:10])


def test_weekday_labels_removed_only_where_they_may_be():
    values = ["2018-01-01 星期五", "2018-01-01 周五", "2018-01-01礼拜天", "2018-01-01", "周末",
              "星期", "2018-01-01 星期五 10:00", None, " ", "礼拜日"]
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS v", [values])
    plain = f"NULLIF(trim(regexp_replace(v, {q(WEEKDAY_RE)}, ' ', 'g')), '')"
    got = con.execute(f"SELECT list({timestamp_text_sql('v')} ORDER BY rowid), "
                      f"list({plain} ORDER BY rowid) FROM v").fetchone()
    assert got[0] == got[1]


def test_trim_only_where_it_may_change_a_value():
    """``trim_sql`` gives ``NULLIF(trim(v), '')`` for every value: ASCII and Unicode spaces at
    either end (no-break, ideographic, en quad, narrow no-break), tabs and controls (which trim
    keeps), non-ASCII inside or at an end, empty and NULL."""
    spaces = [" ", "\u00a0", "\u3000", "\u2000", "\u202f", "\u1680", "\t", "\n", "\x01", "\x7f"]
    cores = ["", "a", "A1 b", "é", "无", "!x", "~", "a\u00a0b", "12.5", "2018-01-01 10:00"]
    values = [None] + [lead + core + tail for core in cores for lead in [""] + spaces
                       for tail in [""] + spaces]
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS v", [values])
    differ = con.execute(f"SELECT list(v) FROM v WHERE ({trim_sql('v')}) IS DISTINCT FROM "
                         "NULLIF(trim(v), '')").fetchone()[0]
    assert not differ


def test_timestamp_text_of_trimmed_columns():
    """The label test on the raw columns and the already trimmed text give the plain result."""
    values = ["2018-01-01 星期五", " 2018-01-01 周五 ", "2018-01-01", "  ", "", None, "礼拜日",
              "\u00a02018-01-01\u3000"]
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS v", [values])
    plain = f"NULLIF(trim(regexp_replace(v, {q(WEEKDAY_RE)}, ' ', 'g')), '')"
    fast = timestamp_text_sql(trim_sql("v"), raw=["v"], trimmed=True)
    got = con.execute(f"SELECT list(({fast}) IS NOT DISTINCT FROM ({plain})) FROM v").fetchone()
    assert all(got[0])


def test_duplicates_through_the_row_hash(ws, tmp_path):
    """Exact copies (NULLs included) are dropped, the first row of each kept; rows differing in
    one column only stay; without a quantity column copies are counted into the first."""
    rows = ["1,A,x,2,2024-01-01", "1,A,x,2,2024-01-01", "1,A,,2,2024-01-01",
            "1,A,,2,2024-01-01", "1,A,x,2,2024-01-02", "2,B,y,1,", "2,B,y,1,", "2,B,y,1,",
            "3,C,z,1,2024-01-03"]
    f = tmp_path / "dups.csv"
    f.write_text("order,sku,name,qty,date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    s = ingest(ws, f, options=IngestOptions(bad_dates="keep"))
    assert s["dropped"] == {"duplicate_row": 4} and s["rows_kept"] == 5
    assert list(ws.lines("dups")["line_no"]) == [1, 3, 5, 6, 9]
    g = tmp_path / "units.csv"
    g.write_text("order,sku\n1,A\n1,A\n1,A\n1,B\n2,A\n", encoding="utf-8")
    s = ingest(ws, g)
    assert s["dropped"] == {"counted_as_quantity": 2}
    lines = ws.lines("units")
    assert list(lines["quantity"]) == [3.0, 1.0, 1.0] and list(lines["line_no"]) == [1, 4, 5]


def test_item_patterns_and_cancellations(ws, tmp_path):
    rows = ["536365,POST,POSTAGE,1,1.0", "536366,A1,Mug,1,2.5", "536367,N/A,Thing,1,1.0",
            "536368,B2,Manual,1,1.0", "C536369,A1,Mug,-1,2.5", "A536370,A1,Mug,1,2.5",
            "536371,A1,,1,2.5", "536372,A1,Mug,1,2.5"]
    f = tmp_path / "retail.csv"
    f.write_text("InvoiceNo,StockCode,Description,Quantity,UnitPrice\n" + "\n".join(rows) + "\n",
                 encoding="utf-8")
    s = ingest(ws, f)
    assert s["dropped"] == {"placeholder_item": 1, "cancellation": 1, "adjustment": 1,
                            "non_product_code": 2}
    # mostly non-numeric order ids: a leading C or A is part of the id, not a cancellation
    g = tmp_path / "codes.csv"
    g.write_text("order,sku\nCA1,x\nAB2,y\nC3,z\n", encoding="utf-8")
    assert ingest(ws, g)["dropped"] == {}


@pytest.mark.parametrize("threads, expected", [(1, 1), (4, 4), (64, rawread.MAX_THREADS)])
def test_ingest_threads_follow_cpu_threads(monkeypatch, threads, expected):
    monkeypatch.setenv("BUNDLELAB_THREADS", str(threads))
    con = duckdb.connect()
    rawread.configure(con)
    got = con.execute("SELECT current_setting('threads'), "
                      "current_setting('preserve_insertion_order')").fetchone()
    assert got == (expected, True)
    con.close()
