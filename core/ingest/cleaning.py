"""The cleaning step of ingest as DuckDB SQL over the raw VARCHAR table ``raw``.

Every row gets at most one drop ``reason`` (the first that applies, in ``DROP_REASONS`` order);
rows with no reason are kept. Nothing is dropped without a named reason.
"""

from __future__ import annotations

import re
from typing import Any

from core.sql import literal

# Order matters: a row is counted under the first reason that applies.
DROP_REASONS = [
    "missing_order_id",        # no order id
    "missing_item_id",         # no item id
    "placeholder_item",        # NONE, N/A, -, ?, null ... in the item column: no product
    "cancellation",            # invoice numbers starting with C (credit notes)
    "adjustment",              # invoice numbers starting with A (bad-debt adjustments)
    "unparseable_quantity",    # quantity like "abc"
    "non_positive_quantity",   # quantity <= 0 (returns, stock corrections)
    "non_product_code",        # postage, fees, manual lines, vouchers, samples
    "unparseable_price",       # unit price like "n/a"
    "zero_or_negative_price",  # free lines and warehouse notes
    "unparseable_timestamp",   # with bad_dates="drop"
    "duplicate_row",           # an exact copy of an earlier row
    "counted_as_quantity",     # no quantity column: an identical row is one more unit
]

REASON_TEXT = {
    "missing_order_id": "no order id",
    "missing_item_id": "no item id",
    "placeholder_item": "placeholder instead of a product (NONE, N/A, -, ?, null ...)",
    "cancellation": "cancelled orders (order id starting with C)",
    "adjustment": "adjustments (order id starting with A)",
    "unparseable_quantity": "quantity is not a number",
    "non_positive_quantity": "quantity zero or negative (returns, corrections)",
    "non_product_code": "not a product (postage, fees, manual lines, vouchers)",
    "unparseable_price": "unit price is not a number",
    "zero_or_negative_price": "unit price zero or negative",
    "unparseable_timestamp": "date could not be read",
    "duplicate_row": "exact duplicate of an earlier row",
    "counted_as_quantity": "identical row counted into the quantity of the first one (the file "
                           "has no quantity column: one row per unit)",
}

# Values a POS or export writes where there is no product. Matched on the trimmed, lower-cased
# item id.
PLACEHOLDER_RE = (r"^(none|n/?a|na|null|nil|nan|undefined|unknown|-+|\?+|\.+|\(none\)|"
                  r"\(blank\)|#n/a|无|空|未知)$")

# Item codes that are not products (UCI Online Retail's 33 and common shop-system ones).
# Unambiguous codes always count; short codes (UCI's M, D, S, B, C2) are caught by their names
# (Manual, Discount, SAMPLES, ...), so a shop whose SKUs are "B" or "S" keeps them.
NON_PRODUCT_RE = (r"^(POST|POSTAGE|DOT|CRUK|PADS|AMAZONFEE|BANK CHARGES|ADJUST\d*|DCGS.*|"
                  r"GIFT_\d+_\d+|SHIPPING|DELIVERY|SERVICE FEE|GRATUITY)$")
NON_PRODUCT_NAME_RE = (r"^(MANUAL|DISCOUNT|SAMPLES?|CARRIAGE|POSTAGE|DOTCOM POSTAGE|"
                       r"BANK CHARGES|AMAZON FEE|ADJUST BAD DEBT|SHIPPING|DELIVERY( FEE)?|"
                       r"GIFT VOUCHER.*|.*COMMISSION)$")

# Dates outside years 1..9999 are unreadable: DuckDB parses them (``0000-01-01`` as 1 BC,
# ``10000-01-01``, ``-0044-03-15``) but hands them to Python as strings, and no later step can
# use them. The parse yields NULL outside this range (-> ``unparseable_timestamp``).
TS_MIN = "TIMESTAMP '0001-01-01 00:00:00'"
TS_MAX = "TIMESTAMP '9999-12-31 23:59:59.999999'"


def in_date_range(expr: str) -> str:
    """SQL: ``expr`` (a TIMESTAMP expression) when it lies in years 1..9999, else NULL. ``expr``
    appears twice: pass a column name, not a costly expression."""
    return f"CASE WHEN {expr} BETWEEN {TS_MIN} AND {TS_MAX} THEN {expr} END"


TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%d.%m.%Y", "%m-%d-%Y %H:%M", "%m-%d-%Y", "%d/%m/%y %H:%M", "%m/%d/%y %H:%M", "%d/%m/%y",
    "%m/%d/%y", "%Y%m%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日",
    # two-digit-year twins of the formats above (a %Y format does not count years below 1000)
    "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M:%S", "%d/%m/%y %H:%M:%S", "%d.%m.%y %H:%M:%S",
    "%d.%m.%y %H:%M", "%d.%m.%y", "%d-%m-%y %H:%M", "%d-%m-%y",
]


q = literal  # SQL string literals of values this module owns (formats, patterns, joiners)


def trim_sql(col: str) -> str:
    """``NULLIF(trim(col), '')`` (``col`` a column): ``trim`` copies every value, so it runs only
    where it may change one: empty, a first byte up to a space or outside ASCII, a last space,
    or any non-ASCII character (``trim`` removes the Unicode space separators, of which ASCII
    has only the space); the other values pass through uncopied."""
    return (f"CASE WHEN {col} < '!' OR {col} >= chr(128) OR ends_with({col}, ' ') OR "
            f"strlen({col}) <> length({col}) THEN NULLIF(trim({col}), '') ELSE {col} END")


def text_sql(cols: list[str], joiner: str = " ") -> str:
    """Trimmed text of one column, or several joined with a space; empty -> NULL."""
    parts = [trim_sql(c) for c in cols]
    if len(parts) == 1:
        return parts[0]
    return f"NULLIF(trim(concat_ws({q(joiner)}, {', '.join(parts)})), '')"


# Weekday labels some POS systems write next to the date ("2018-01-01 星期五", "周五"); they
# carry nothing a date does not, so they are removed before parsing.
WEEKDAY_RE = r"\s*(星期|周|礼拜)[一二三四五六日天]\s*"


def timestamp_text_sql(expr: str, *, raw: list[str] | None = None, trimmed: bool = False) -> str:
    """The timestamp text without weekday labels; empty -> NULL. The replacement runs only on
    values holding one of the label's first characters (the same result, a fraction of the
    time: most files have no labels). ``raw``: the columns ``expr`` is made of (trimming and
    joining them with a space adds no label character, so the test runs on them, uncopied);
    ``trimmed``: ``expr`` is already trimmed text or NULL (``text_sql``), kept as it is where
    there is no label."""
    marks = " OR ".join(f"contains({c}, {q(m)})" for c in (raw or [expr]) for m in "星周礼")
    replaced = f"NULLIF(trim(regexp_replace({expr}, {q(WEEKDAY_RE)}, ' ', 'g')), '')"
    if trimmed:
        return f"CASE WHEN {marks} THEN {replaced} ELSE {expr} END"
    return f"CASE WHEN {marks} THEN {replaced} ELSE NULLIF(trim({expr}), '') END"


MAX_NUMBER = "1e15"  # larger quantities or prices are unreadable, not huge


def number_sql(expr: str, *, decimal_comma: bool, money: bool = False) -> str:
    """TRY_CAST of a number written by a person: decimal comma (``1,5``, ``1.234,5``) where the
    file's delimiter is not a comma, thousands commas (``1,234.5``) otherwise; currency signs are
    stripped from money. A value DuckDB reads as it is (``12``, `` 2.5``, ``1e3``) is read
    directly; only the others take the slower rewriting, which gives such values the same
    number (``TRY_CAST`` refuses every value holding a comma, and the stripped characters cannot
    occur inside a number it reads)."""
    x = expr
    if money:
        x = f"regexp_replace({x}, '[£$€¥₹\\s]|EUR|USD|GBP|RMB|CNY|元', '', 'g')"
    if decimal_comma:
        x = (f"CASE WHEN regexp_matches({x}, '^[-+]?[0-9.]*,[0-9]+$') "
             f"THEN replace(replace({x}, '.', ''), ',', '.') ELSE {x} END")
    else:
        x = (f"CASE WHEN regexp_matches({x}, '^[-+]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?$') "
             f"THEN replace({x}, ',', '') ELSE {x} END")
    return f"coalesce(TRY_CAST({expr} AS DOUBLE), TRY_CAST({x} AS DOUBLE))"


def finite_sql(column: str) -> str:
    """``column`` (a parsed number) or NULL for inf, nan and values no shop writes: 1e308 is a
    valid double, but a sum of two overflows."""
    return f"CASE WHEN isfinite({column}) AND abs({column}) < {MAX_NUMBER} THEN {column} END"


def detect_timestamp_format(con: Any, sample: list[str]) -> str | None:
    """The format (DuckDB strptime) parsing most of ``sample``; ties go to the earlier format in
    ``TIMESTAMP_FORMATS`` (ISO first, month-first before day-first for '/', day-first for '-'
    and '.'). Dates outside years 1..9999 do not count, nor years below 1000 for a format with
    ``%Y`` (two-digit years are ``%y``'s). None when nothing parses."""
    values = [v for v in sample if v][:2000]
    if not values:
        return None
    con.execute("CREATE OR REPLACE TEMP TABLE ts_sample AS SELECT unnest(?::VARCHAR[]) AS v",
                [values])
    # %Y reads "12/1/10" as the year 10: a four-digit-year format counts only years from 1000
    # on, so two-digit years go to their %y twin (1969-2068, POSIX)
    counts = ", ".join(
        f"count({in_date_range(f'try_strptime(v, {q(f)})::TIMESTAMP')})" if "%Y" not in f else
        f"count(CASE WHEN year(try_strptime(v, {q(f)})::TIMESTAMP) >= 1000 THEN 1 END)"
        for f in TIMESTAMP_FORMATS)
    count_sql = f"SELECT {counts} FROM ts_sample"
    row = con.execute(count_sql).fetchone()
    best = max(range(len(row)), key=lambda i: (row[i], -i))
    return TIMESTAMP_FORMATS[best] if row[best] > 0 else None


def order_facts_sql(exprs: dict[str, str]) -> str | None:
    """SQL of one row over the order ids of ``raw``: the number of orders whose customer or
    timestamp is filled on some lines but not all (the Shopify pattern; 0 when neither field is
    mapped), and the share of rows whose order id is all digits (only then do C/A prefixes mean
    cancellation/adjustment). The rows are first counted per distinct raw value of the columns
    involved, so the text functions and the pattern run once per value, not per row. None
    without an order id column."""
    if "order_id" not in exprs:
        return None
    parts = [f for f in ("customer_id", "timestamp") if f in exprs]
    cols = ", ".join(dict.fromkeys(re.findall(r'"c[0-9]+"', " ".join(
        exprs[f] for f in ["order_id"] + parts))))
    counts = "".join(f", sum(n) FILTER (WHERE {exprs[f]} IS NOT NULL) AS k{i}"
                     for i, f in enumerate(parts))
    cond = " OR ".join(f"(k{i} > 0 AND k{i} < n)" for i in range(len(parts))) or "FALSE"
    return (f"SELECT count(*) FILTER (WHERE {cond}), coalesce(sum(n) FILTER (WHERE "
            "regexp_matches(o, '^[0-9]+$')), 0)::DOUBLE / sum(n) "
            f"FROM (SELECT {exprs['order_id']} AS o, sum(n) AS n{counts} FROM (SELECT {cols}, "
            "count(*) AS n FROM raw GROUP BY ALL) GROUP BY o)")


def _distinct(expr: str) -> str:
    """SQL: the distinct values ``v`` of ``expr`` over ``raw``, computed on the distinct values
    of the raw columns it reads (fewer rows to trim)."""
    cols = ", ".join(dict.fromkeys(re.findall(r'"c[0-9]+"', expr)))
    return (f"SELECT DISTINCT {expr} AS v FROM (SELECT DISTINCT {cols} FROM raw)" if cols
            else f"SELECT {expr} AS v")


def clean_sql(exprs: dict[str, str], raw_cols: list[str], *, ts_fmt: str | None,
              decimal_comma: bool, options: Any, fill: bool = True,
              derive_order: bool = False, numeric_ids: bool | None = None) -> str:
    """SQL creating temp table ``clean`` (line_no, order_id, item_id, item_name, category,
    quantity, unit_price, customer_id, ts, ts_raw, reason) from ``raw``. ``numeric_ids``: more
    than half of the rows have an all-digit order id (``order_facts_sql``); None: found here."""
    def get(f: str) -> str:
        return exprs.get(f, "NULL::VARCHAR")

    ts_raw = get("timestamp")
    has_ts = "timestamp" in exprs
    # numeric order ids: only then do C/A prefixes mean cancellation/adjustment
    # exact duplicates: every row but the first of its group of identical raw rows. Rows whose
    # hash of all columns is unique are unique; only the few others (copies, and the rare hash
    # collision) are grouped by their columns (a window over that small set)
    # Without a quantity column, identical rows are units of one line (a POS writing one row
    # per coffee): the first row counts them, the others are dropped under a named reason.
    units = options.drop_duplicates and "quantity" not in exprs
    if options.drop_duplicates:
        cols = ", ".join(raw_cols)
        first = "line_no = min(line_no) OVER w"
        same = (f"WITH hashed AS MATERIALIZED (SELECT line_no, hash({cols}) AS h FROM raw) "
                f"SELECT line_no AS same_line, CASE WHEN {first} THEN 1 ELSE 2 END AS rank, "
                f"CASE WHEN {first} THEN count(*) OVER w ELSE 1 END AS n FROM raw "
                "WHERE line_no IN (SELECT line_no FROM hashed WHERE h IN (SELECT h FROM hashed "
                f"GROUP BY h HAVING count(*) > 1)) WINDOW w AS (PARTITION BY {cols})")
        source = f"raw LEFT JOIN ({same}) AS same ON same.same_line = raw.line_no"
        dup, n_same = "coalesce(same.rank, 1)", "coalesce(same.n, 1)"
    else:
        dup, source, n_same = "1", "raw", "1"
    mapped = f"""
    SELECT line_no, {get('order_id')} AS order_id, {get('item_id')} AS item_id,
        {get('item_name')} AS item_name, {get('category')} AS category,
        {get('quantity')} AS qty_raw, {get('unit_price')} AS price_raw,
        {get('line_total')} AS total_raw, {get('customer_id')} AS cust_raw, {ts_raw} AS ts_raw,
        {dup} AS dup_rank, {n_same} AS n_same
    FROM {source}"""
    # Shopify and others fill order-level fields only on an order's first line: carry forward.
    first = ("first_value({c} IGNORE NULLS) OVER (PARTITION BY order_id ORDER BY line_no ROWS "
             "BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)")
    filled = f"""
    SELECT * REPLACE (
        coalesce(cust_raw, {first.format(c='cust_raw')}) AS cust_raw,
        coalesce(ts_raw, {first.format(c='ts_raw')}) AS ts_raw)
    FROM ({mapped})""" if fill else mapped
    qty = (f"CASE WHEN qty_raw IS NULL THEN {'n_same::DOUBLE' if units else '1.0'} ELSE "
           f"{number_sql('qty_raw', decimal_comma=decimal_comma)} END")
    # a unit price, or one derived from the line's revenue (line total / quantity)
    price = (f"CASE WHEN price_raw IS NOT NULL THEN "
             f"{number_sql('price_raw', decimal_comma=decimal_comma, money=True)} "
             f"WHEN total_raw IS NOT NULL THEN "
             f"{number_sql('total_raw', decimal_comma=decimal_comma, money=True)} / "
             f"NULLIF({qty}, 0) END")
    # the fallback cast only for ISO-like text with a four-digit year first: DuckDB's cast
    # also reads "13/01/21 09:00 AM" as the year 13
    iso = ("CASE WHEN regexp_matches(ts_raw, '^\\s*[0-9]{4}[-/]') THEN "
           "TRY_CAST(ts_raw AS TIMESTAMP) END")
    if has_ts and ts_fmt:
        ts = f"coalesce(try_strptime(ts_raw, {q(ts_fmt)})::TIMESTAMP, {iso})"
    elif has_ts:
        ts = iso
    else:
        ts = "NULL::TIMESTAMP"
    cust = ("CASE WHEN cust_raw LIKE '%@%' THEN 'h_' || left(sha256(lower(cust_raw)), 16) "
            "WHEN contains(cust_raw, '.') AND regexp_matches(cust_raw, '^[0-9]+\\.0+$') "
            "THEN regexp_replace(cust_raw, "
            "'\\.0+$', '') ELSE cust_raw END")
    parsed = f"""
    SELECT line_no, order_id, item_id, item_name, category, qty_raw,
        coalesce(price_raw, total_raw) AS price_raw, ts_raw, dup_rank, {qty} AS quantity,
        {price} AS unit_price, {cust} AS customer_id, {ts} AS ts_any
    FROM ({filled})"""
    # years outside 1..9999 count as unreadable dates
    parsed = f"""
    SELECT * EXCLUDE (ts_any), {in_date_range('ts_any')} AS ts
    FROM ({parsed})"""
    parsed = f"""
    SELECT * REPLACE ({finite_sql('quantity')} AS quantity,
                      {finite_sql('unit_price')} AS unit_price)
    FROM ({parsed})"""
    if derive_order:  # no order id in the file: one customer on one day is one basket
        parsed = f"""
    SELECT * REPLACE (CASE WHEN customer_id IS NOT NULL AND ts IS NOT NULL THEN
        customer_id || ' · ' || strftime(ts::DATE, '%Y-%m-%d') END AS order_id)
    FROM ({parsed})"""
    numeric = ("(SELECT avg(CASE WHEN regexp_matches(order_id, '^[0-9]+$') THEN 1.0 ELSE 0 "
               "END) FROM p) > 0.5" if numeric_ids is None else str(bool(numeric_ids)).upper())
    cancel = "FALSE"
    adjust = "FALSE"
    if options.drop_cancellations and numeric != "FALSE":  # the prefix test first: cheaper
        cancel = (f"(starts_with(order_id, 'C') OR starts_with(order_id, 'c')) AND "
                  f"regexp_matches(order_id, '^[Cc][0-9]') AND {numeric}")
        adjust = (f"(starts_with(order_id, 'A') OR starts_with(order_id, 'a')) AND "
                  f"regexp_matches(order_id, '^[Aa][0-9]') AND {numeric}")
    # The item patterns run once per distinct item id and name (a few thousand), not per row;
    # only the values they match are joined (a row without a match gets NULL, which no WHEN takes,
    # as it took no FALSE).
    lookups = (f", ids AS (SELECT * FROM (SELECT v, regexp_matches(lower(v), {q(PLACEHOLDER_RE)})"
               f" AS placeholder, regexp_matches(upper(v), {q(NON_PRODUCT_RE)}) AS code FROM "
               f"({_distinct(get('item_id'))})) WHERE placeholder OR code), names AS (SELECT * "
               f"FROM (SELECT v, regexp_matches(upper(v), {q(NON_PRODUCT_NAME_RE)}) AS code FROM "
               f"({_distinct(get('item_name'))})) WHERE code)")
    joins = ("LEFT JOIN ids ON ids.v = p.item_id LEFT JOIN names ON names.v = p.item_name")
    nonprod = ("(ids.code OR coalesce(names.code, FALSE))" if options.drop_non_products
               else "FALSE")
    placeholder = "ids.placeholder" if getattr(options, "drop_placeholders", True) else "FALSE"
    bad_ts = ("ts_raw IS NOT NULL AND ts IS NULL" if has_ts and options.bad_dates == "drop"
              else "FALSE")
    reason = f"""CASE
        WHEN order_id IS NULL THEN 'missing_order_id'
        WHEN item_id IS NULL THEN 'missing_item_id'
        WHEN {placeholder} THEN 'placeholder_item'
        WHEN {cancel} THEN 'cancellation'
        WHEN {adjust} THEN 'adjustment'
        WHEN quantity IS NULL THEN 'unparseable_quantity'
        WHEN quantity <= 0 THEN 'non_positive_quantity'
        WHEN {nonprod} THEN 'non_product_code'
        WHEN price_raw IS NOT NULL AND unit_price IS NULL THEN 'unparseable_price'
        WHEN unit_price <= 0 THEN 'zero_or_negative_price'
        WHEN {bad_ts} THEN 'unparseable_timestamp'
        WHEN dup_rank > 1 THEN '{'counted_as_quantity' if units else 'duplicate_row'}'
        END"""
    return f"""
    CREATE TEMP TABLE clean AS
    WITH p AS ({parsed}){lookups}
    SELECT line_no, order_id, item_id, item_name, category, quantity, unit_price, customer_id,
        ts, ts_raw, {reason} AS reason
    FROM p {joins}"""
