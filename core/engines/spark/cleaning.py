"""The cleaning rules of ``core.ingest.cleaning`` as Spark column expressions, rule for rule.

The DuckDB SQL is the reference: every function here says which piece of it it mirrors, and
``tests/core/test_spark_engine.py`` checks the two engines give the same ``clean`` table (values
and drop reasons) on messy files and the corpus. Where Spark's own parsing is looser than
DuckDB's (``cast('1d' as double)`` is 1.0 in Spark, NULL in DuckDB; ``yy`` years), the value is
first checked against the text DuckDB accepts.

Only JVM expressions are used (no Python UDF): executors need no Python for the cleaning.
"""

from __future__ import annotations

from typing import Any

from core.ingest.cleaning import (MAX_NUMBER, NON_PRODUCT_NAME_RE, NON_PRODUCT_RE,
                                  PLACEHOLDER_RE, WEEKDAY_RE)

# DuckDB's trim removes the Unicode space separators (category Zs), not tabs or newlines.
_ZS = r"^\p{Zs}+|\p{Zs}+\z"
# The numbers DuckDB's TRY_CAST(... AS DOUBLE) reads (underscores between digits, surrounding
# whitespace); 'inf' and 'nan' it reads too, but ``finite`` turns them into NULL anyway.
_NUMBER = (r"^\s*[-+]?([0-9]+(_[0-9]+)*(\.([0-9]+(_[0-9]+)*)?)?|\.[0-9]+(_[0-9]+)*)"
           r"([eE][-+]?[0-9]+)?\s*\z")
_MONEY = r"[£$€¥₹\s]|EUR|USD|GBP|RMB|CNY|元"
# ISO-like texts DuckDB's TRY_CAST(... AS TIMESTAMP) reads: the fallback after the format. The
# same separator twice; any number of fraction digits (DuckDB keeps 6); a zone after the time
# (an offset, Z, or a word such as UTC), which DuckDB's cast ignores.
_ISO_TS = (r"^\s*[0-9]{4}([-/])[0-9]{1,2}\1[0-9]{1,2}(([ T]\s*)[0-9]{1,2}:[0-9]{2}"
           r"(:[0-9]{2}(\.[0-9]+)?)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z]+)?\s*\z")
_ISO_ZONE = r"\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z]+)\s*\z"
_ISO_FRACTION = r"(\.[0-9]{6})[0-9]+"

# strptime (DuckDB) -> Java DateTimeFormatter (Spark). Single letters parse one or two digits,
# as DuckDB's %m, %d, %H do; ``y`` any number of year digits, as DuckDB's %Y (``12/1/10`` is
# year 10 on both); %z takes +02:00, +0200, +02 and Z.
_DIRECTIVES = {"%Y": "y", "%m": "M", "%d": "d", "%H": "H", "%M": "m", "%S": "s",
               "%f": "SSSSSS", "%I": "h", "%p": "a", "%y": "yy", "%z": "[XXX][XX][X]"}


def java_re(pattern: str) -> str:
    """An RE2 pattern of ``core.ingest.cleaning`` for Java: its closing ``$`` as ``\\z`` (Java's
    ``$`` also matches before a final newline; RE2's does not)."""
    return pattern[:-1] + r"\z" if pattern.endswith("$") and not pattern.endswith(r"\$") \
        else pattern


def F() -> Any:
    from pyspark.sql import functions
    return functions


def java_pattern(fmt: str) -> str:
    """The Spark datetime pattern of a ``TIMESTAMP_FORMATS`` entry: directives mapped, other
    characters quoted as literals (``年``, ``T``, ``-``)."""
    out, literal, i = [], [], 0

    def flush() -> None:
        if literal:
            text = "".join(literal)  # from TIMESTAMP_FORMATS: no quote character
            if "'" in text:
                raise ValueError(f"a quote in a timestamp format: {fmt!r}")
            out.append(text if all(c in " -/:.," for c in text) else f"'{text}'")
            literal.clear()

    while i < len(fmt):
        if fmt[i] == "%" and fmt[i:i + 2] in _DIRECTIVES:
            flush()
            out.append(_DIRECTIVES[fmt[i:i + 2]])
            i += 2
        else:
            literal.append(fmt[i])
            i += 1
    flush()
    pattern = "".join(out)
    if fmt == "%Y%m%d":  # adjacent numbers need fixed widths
        pattern = "yyyyMMdd"
    return pattern


def utrim(c: Any) -> Any:
    """DuckDB's ``trim``: Unicode space separators at both ends."""
    return F().regexp_replace(c, _ZS, "")


def text_col(cols: list[str], joiner: str = " ") -> Any:
    """``text_sql``: a trimmed column, or several trimmed and joined; empty -> NULL."""
    f = F()
    parts = [f.nullif(utrim(f.col(c)), f.lit("")) for c in cols]
    if len(parts) == 1:
        return parts[0]
    return f.nullif(utrim(f.concat_ws(joiner, *parts)), f.lit(""))


def timestamp_text(expr: Any, raw: list[str]) -> Any:
    """``timestamp_text_sql(trimmed=True)``: weekday labels removed where a raw column holds one
    of their first characters."""
    f = F()
    marks = None
    for c in raw:
        for m in "星周礼":
            test = f.col(c).contains(m)
            marks = test if marks is None else (marks | test)
    replaced = f.nullif(utrim(f.regexp_replace(expr, WEEKDAY_RE, " ")), f.lit(""))
    return f.when(marks, replaced).otherwise(expr)


def try_double(c: Any) -> Any:
    """DuckDB's ``TRY_CAST(c AS DOUBLE)`` for the texts it reads; NULL for the others."""
    f = F()
    plain = f.regexp_replace(f.regexp_replace(c, r"^\s+|\s+\z", ""), "_", "")
    return f.when(c.rlike(_NUMBER), plain.cast("double"))


def number(c: Any, *, decimal_comma: bool, money: bool = False) -> Any:
    """``number_sql``: the value read as it is, else with currency signs stripped (money) and
    decimal/thousands commas rewritten."""
    f = F()
    x = f.regexp_replace(c, _MONEY, "") if money else c
    if decimal_comma:
        x = f.when(x.rlike(r"^[-+]?[0-9.]*,[0-9]+\z"),
                   f.regexp_replace(f.regexp_replace(x, r"\.", ""), ",", ".")).otherwise(x)
    else:
        x = f.when(x.rlike(r"^[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?\z"),
                   f.regexp_replace(x, ",", "")).otherwise(x)
    return f.coalesce(try_double(c), try_double(x))


def finite(c: Any) -> Any:
    """``finite_sql``: NULL for inf, nan and magnitudes of ``MAX_NUMBER`` and more."""
    f = F()
    return f.when(~f.isnan(c) & (f.abs(c) < float(MAX_NUMBER)), c)


def parse_timestamp(c: Any, fmt: str | None) -> Any:
    """``coalesce(try_strptime(c, fmt), TRY_CAST(c AS TIMESTAMP))`` as TIMESTAMP_NTZ (UTC wall
    time for formats with a zone, as DuckDB's cast of a TIMESTAMPTZ in a UTC session)."""
    f = F()
    iso = f.regexp_replace(f.regexp_replace(utrim(c), _ISO_ZONE, ""), "/", "-")
    iso = f.regexp_replace(f.regexp_replace(iso, r"(?<=[0-9])[ T]\s*", " "), _ISO_FRACTION, "$1")
    cast = iso.try_cast("timestamp_ntz")
    # Spark's cast rolls an impossible day back ('2018-02-29' -> 2018-02-01); DuckDB refuses it
    day = f.regexp_extract(iso, r"^\s*[0-9]{4}-[0-9]{1,2}-([0-9]{1,2})", 1).cast("int")
    fallback = f.when(c.rlike(_ISO_TS) & (f.dayofmonth(cast) == day), cast)
    if not fmt:
        return fallback.cast("timestamp_ntz")
    pattern = f.lit(java_pattern(fmt))
    if "%z" in fmt:
        parsed = f.to_timestamp_ltz(c, pattern).cast("timestamp_ntz")
    else:
        parsed = f.try_to_timestamp(c, pattern)
    if "%y" in fmt:  # POSIX: 69-99 are the 1900s, 00-68 the 2000s (Java's yy: 2000-2099)
        parsed = f.when(f.year(parsed) >= 2069,
                        parsed - f.expr("INTERVAL 100 YEARS")).otherwise(parsed)
    return f.coalesce(parsed.cast("timestamp_ntz"), fallback.cast("timestamp_ntz"))


def in_date_range(c: Any) -> Any:
    """``in_date_range``: years 1..9999."""
    f = F()
    return f.when((f.year(c) >= 1) & (f.year(c) <= 9999), c)


def customer(c: Any) -> Any:
    """The customer rule of ``clean_sql``: e-mail addresses hashed (``h_`` + 16 hex digits of
    sha256 of the lower-cased text), ``17850.0`` -> ``17850``."""
    f = F()
    return (f.when(c.contains("@"), f.concat(f.lit("h_"),
                                             f.substring(f.sha2(f.lower(c), 256), 1, 16)))
            .when(c.contains(".") & c.rlike(r"^[0-9]+\.0+\z"), f.regexp_replace(c, r"\.0+\z", ""))
            .otherwise(c))


def placeholder(item_id: Any) -> Any:
    return F().coalesce(F().lower(item_id).rlike(java_re(PLACEHOLDER_RE)), F().lit(False))


def non_product(item_id: Any, item_name: Any) -> Any:
    f = F()
    return (f.coalesce(f.upper(item_id).rlike(java_re(NON_PRODUCT_RE)), f.lit(False)) |
            f.coalesce(f.upper(item_name).rlike(java_re(NON_PRODUCT_NAME_RE)), f.lit(False)))


def prefixed(order_id: Any, letter: str) -> Any:
    """Order ids starting with ``letter`` (either case) followed by a digit."""
    return order_id.rlike(f"^[{letter.upper()}{letter.lower()}][0-9]")
