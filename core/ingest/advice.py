"""Suggestions of the data check (``core.ingest.check``): the columns that would add value if
mapped, when the mapping lacks item names, categories, prices, customers or dates.

Each suggestion says what is missing, what it costs (bundles read as ids, no revenue coverage,
no personal recommendations, no timeline) and which unmapped columns of the order lines or the
catalog could fill it: by their name (``HINTS``) and by what a sample of their values looks like
(numbers with decimals for a price, dates for a date, a few repeated texts for a category).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from core.ingest.cleaning import detect_timestamp_format, number_sql, text_sql
from core.ingest.mapping import norm
from core.ingest.rawread import ROW_KEY

if TYPE_CHECKING:
    from core.ingest.load import Inputs

SAMPLE = 2000  # values per column looked at
MAX_COLUMNS = 60  # unmapped columns profiled at most (wide exports)
MAX_CANDIDATES = 3

# Parts of a normalised column name that hint at a field.
HINTS = {
    "item_name": ["name", "title", "desc", "label", "名称", "品名"],
    "category": ["categ", "department", "dept", "aisle", "class", "group", "family", "type",
                 "类", "部门"],
    "unit_price": ["price", "amount", "sales", "revenue", "total", "value", "价", "金额"],
    "customer_id": ["cust", "user", "member", "client", "buyer", "account", "household", "card",
                    "客户", "会员", "顾客", "用户"],
    "timestamp": ["date", "time", "day", "日期", "时间"],
}

# Columns with a few repeated texts that describe the order, not the product: never suggested
# as a category on their content alone.
NOT_CATEGORY = ["country", "city", "state", "region", "province", "postal", "zip", "ship",
                "payment", "status", "currency", "store", "shop", "channel", "segment", "国家",
                "城市", "省", "地区", "门店", "支付"]

TEXT = {
    "item_name": "No item names: bundles, charts and exports show item ids.",
    "category": "No categories: bundles cannot be described or filtered by category.",
    "unit_price": "No prices: bundle prices, revenue and revenue coverage are left out.",
    "customer_id": "No customer column: personal recommendations and target customers are "
                   "skipped; bundles still work.",
    "timestamp": "No dates: no timeline, and the evaluation holds out the last 20% of orders in "
                 "file order instead of a later period.",
}


def suggestions(con: duckdb.DuckDBPyConnection, inp: Inputs) -> list[dict]:
    """``[{"field", "text", "columns"}]`` for each valuable field the mapping lacks;
    ``columns``: up to ``MAX_CANDIDATES`` unmapped columns that may hold it (order lines first
    for customers and dates, any file for names, categories and prices). ``inp``'s files are
    read into ``raw`` (and ``cat_raw``)."""
    lines, cat = inp.lines_map, inp.cat_map
    missing = [f for f in ("item_name", "category") if f not in lines and f not in cat]
    if not ({"unit_price", "line_total"} & set(lines) or "unit_price" in cat):
        missing.append("unit_price")
    missing += [f for f in ("customer_id", "timestamp") if f not in lines]
    if not missing:
        return []
    free = _free_columns(inp)
    profiles: dict[tuple[str, int], dict] = {}
    out = []
    for f in missing:
        scored = []
        for table, i, col in free:
            if table == "cat_raw" and f in ("customer_id", "timestamp"):
                continue
            if (table, i) not in profiles:
                sn = inp.sn if table == "raw" else inp.cat_sn
                profiles[(table, i)] = _profile(con, table, i, sn.delimiter != ",")
            score = _score(f, norm(col), profiles[(table, i)])
            if score:
                scored.append((-score, len(scored), col))
        text = TEXT[f]
        if f == "item_name" and inp.cat_sn is None:
            text += " Upload a product catalog (item id + name) or map a name column."
        out.append({"field": f, "text": text,
                    "columns": list(dict.fromkeys(c for *_, c in sorted(scored)))[:MAX_CANDIDATES]})
    return out


def _free_columns(inp: Inputs) -> list[tuple[str, int, str]]:
    """(table, column index, name) of the columns no field uses, order lines first."""
    out = []
    for table, sn, fmap in (("raw", inp.sn, inp.lines_map), ("cat_raw", inp.cat_sn, inp.cat_map)):
        if sn is None:
            continue
        used = {c for cols in fmap.values() for c in cols}
        if table == "cat_raw":  # the join key is used by both files
            used |= set(inp.lines_map.get("item_id", []))
        out += [(table, i, c) for i, c in enumerate(sn.header)
                if c not in used and c != ROW_KEY][:MAX_COLUMNS]
    return out


def _profile(con: duckdb.DuckDBPyConnection, table: str, i: int,
             decimal_comma: bool) -> dict[str, float]:
    """Shares over the first ``SAMPLE`` non-empty values: numeric, whole numbers, holding a
    non-digit, readable dates; and the distinct share."""
    value = text_sql([f'"c{i}"'])
    num = number_sql("v", decimal_comma=decimal_comma, money=True)
    sample = f"SELECT {value} AS v FROM {table} WHERE v IS NOT NULL LIMIT {SAMPLE}"
    sql = (f"SELECT count(v), count(DISTINCT v), count({num}), "
           f"count({num}) FILTER ({num} = round({num})), "
           f"count(v) FILTER (regexp_matches(v, '[^0-9]')), list(v) FROM ({sample})")
    n, distinct, numeric, whole, non_digit, values = con.execute(sql).fetchone()
    if not n:
        return {"n": 0}
    p = {"n": n, "distinct": distinct / n, "distinct_n": distinct, "numeric": numeric / n,
         "whole": whole / max(numeric, 1), "non_digit": non_digit / n, "date": 0.0}
    if p["non_digit"] >= 0.8 and p["numeric"] < 0.5:
        fmt = detect_timestamp_format(con, values)
        if fmt:
            parsed = con.execute("SELECT count(try_strptime(v, ?)) FROM ts_sample",
                                 [fmt]).fetchone()[0]
            p["date"] = parsed / n
    return p


def _score(f: str, name: str, p: dict[str, float]) -> int:
    """How well a column fits field ``f``: 2 for a name hint, 1 for fitting content, 0 (not a
    candidate) when the content rules it out."""
    if not p.get("n"):
        return 0
    hint = 2 if any(h in name for h in HINTS[f]) else 0
    if f == "timestamp":
        return hint + 1 if p["date"] >= 0.8 else 0
    if f == "unit_price":
        return hint + 1 if p["numeric"] >= 0.9 and p["whole"] < 1 else (hint if p["numeric"]
                                                                         >= 0.9 else 0)
    if p["date"] >= 0.8:
        return 0  # a date is not a name, category or customer
    if f == "item_name":
        if any(h in name for h in HINTS["customer_id"]):
            return 0  # "Customer Name" names a person
        return hint + 1 if p["numeric"] < 0.5 and p["distinct_n"] > 1 else 0
    if f == "category":
        if not hint and any(h in name for h in NOT_CATEGORY + HINTS["customer_id"]):
            return 0
        text = p["numeric"] < 0.5 and 1 < p["distinct_n"] <= max(50, p["n"] * 0.2)
        return hint + 1 if text else hint
    return hint  # customer_id: only the name tells
