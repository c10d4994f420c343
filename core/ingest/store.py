"""Cleaning the raw table and storing the dataset: the last step of ingest.

``clean_and_store`` runs the cleaning SQL (``core.ingest.cleaning``) over the raw table(s) that
``core.ingest.rawread`` loaded, counts every dropped row under a named reason with its first
examples, builds the items table (catalog first), and replaces the dataset's rows in one
transaction. It returns the ingest summary (docs/ARCHITECTURE.md §7) and refuses, before writing
anything, an upload whose rows were all dropped.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import duckdb

from core.errors import InputError
from core.ingest import mapping as mp
from core.ingest.cleaning import (DROP_REASONS, REASON_TEXT, clean_sql, detect_timestamp_format,
                                  finite_sql, number_sql, order_facts_sql, text_sql,
                                  timestamp_text_sql)
from core.ingest.sniff import Sniffed
from core.progress import Progress, report
from core.workspace import DELETE_DATASET, _now

EXAMPLES_PER_REASON = 5

# What to do when every row was dropped for a reason (the message of ``nothing_kept``).
_FIXES = {"missing_order_id": "map the order id column (--map order_id=COLUMN)",
          "missing_item_id": "map the item id column (--map item_id=COLUMN)",
          "placeholder_item": "map the item id column (--map item_id=COLUMN)",
          "non_positive_quantity": "load the sales export, not only returns, or map the "
          "right quantity column (--map quantity=COLUMN)",
          "unparseable_quantity": "map the right quantity column (--map quantity=COLUMN)",
          "zero_or_negative_price": "map the unit price column (--map unit_price=COLUMN)",
          "unparseable_price": "map the unit price column (--map unit_price=COLUMN)",
          "unparseable_timestamp": "keep rows with unreadable dates (--bad-dates keep) "
          "or map another date column (--map timestamp=COLUMN)"}


def _col(sn: Sniffed, name: str) -> str:
    return f'"c{sn.header.index(name)}"'


def field_exprs(sn: Sniffed, fmap: dict[str, list[str]], prefix: str = "") -> dict[str, str]:
    exprs = {f: text_sql([prefix + _col(sn, c) for c in cols], joiner=" ")
             for f, cols in fmap.items() if cols}
    if "timestamp" in exprs:
        exprs["timestamp"] = timestamp_text_sql(
            exprs["timestamp"], raw=[prefix + _col(sn, c) for c in fmap["timestamp"]],
            trimmed=True)
    return exprs


def run_cleaning(con: duckdb.DuckDBPyConnection, sn: Sniffed, lines_map: dict[str, list[str]],
                 options) -> str | None:
    """The cleaning SQL over temp table ``raw``: creates temp table ``clean`` (a ``reason`` per
    dropped row) and returns the timestamp format found (None without one). Shared by ingest and
    the data check."""
    exprs = field_exprs(sn, lines_map)
    ts_fmt = None
    if "timestamp" in exprs:
        sample_sql = f"SELECT {exprs['timestamp']} AS t FROM raw WHERE t IS NOT NULL LIMIT 2000"
        sample = [r[0] for r in con.execute(sample_sql).fetchall()]
        ts_fmt = detect_timestamp_format(con, sample)
    raw_cols = [f'"c{i}"' for i in range(len(sn.header))]
    facts_sql = order_facts_sql(exprs)
    unfilled, numeric_share = con.execute(facts_sql).fetchone() if facts_sql else (0, None)
    con.execute(clean_sql(exprs, raw_cols, ts_fmt=ts_fmt, decimal_comma=sn.delimiter != ",",
                          options=options, fill=bool(unfilled),
                          derive_order=mp.derived_order_id(lines_map),
                          numeric_ids=bool(numeric_share is not None and numeric_share > 0.5)))
    return ts_fmt


def dropped_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """``{reason: rows}`` of temp table ``clean``, in ``DROP_REASONS`` order."""
    dropped = dict(con.execute(
        "SELECT reason, count(*) FROM clean WHERE reason IS NOT NULL GROUP BY reason").fetchall())
    return {r: int(dropped[r]) for r in DROP_REASONS if dropped.get(r)}


def drop_examples(con: duckdb.DuckDBPyConnection, sn: Sniffed,
                  per_reason: int = EXAMPLES_PER_REASON) -> tuple[list, dict[int, str]]:
    """The first ``per_reason`` dropped rows per reason, ``[(reason, line_no)]``, and the raw
    rows by line number (JSON ``{column: value}``)."""
    examples = con.execute(
        "SELECT reason, line_no FROM (SELECT reason, line_no, row_number() OVER (PARTITION BY "
        "reason ORDER BY line_no) AS k FROM clean WHERE reason IS NOT NULL) WHERE k <= ? "
        "ORDER BY reason, line_no", [per_reason]).fetchall()
    detail_rows = {}
    if examples:
        raw_cols = [f'"c{i}"' for i in range(len(sn.header))]
        detail_sql = (f"SELECT line_no, {', '.join(raw_cols)} FROM raw "
                      "WHERE list_contains(?, line_no)")
        for row in con.execute(detail_sql, [[int(n) for _, n in examples]]).fetchall():
            detail_rows[row[0]] = json.dumps(dict(zip(sn.header, row[1:])), ensure_ascii=False)
    return examples, detail_rows


def build_catalog(con: duckdb.DuckDBPyConnection, cat_sn: Sniffed | None,
                  cat_map: dict[str, list[str]]) -> None:
    """Temp table ``cat`` (item_id, item_name, category, unit_price, cost): the catalog's first
    row per item id, or an empty table without a catalog."""
    if cat_sn is None:
        con.execute("CREATE TEMP TABLE cat (item_id VARCHAR, item_name VARCHAR, category VARCHAR,"
                    " unit_price DOUBLE, cost DOUBLE)")
        return
    cexprs = field_exprs(cat_sn, cat_map)
    cols = [f"{cexprs['item_id']} AS item_id"]
    for f in ("item_name", "category"):
        cols.append(f"{cexprs[f]} AS {f}" if f in cexprs else f"NULL AS {f}")
    for f in ("unit_price", "cost"):
        cols.append(f"{number_sql(cexprs[f], decimal_comma=cat_sn.delimiter != ',', money=True)}"
                    f" AS {f}" if f in cexprs else f"NULL::DOUBLE AS {f}")
    finite = f"{finite_sql('unit_price')} AS unit_price, {finite_sql('cost')} AS cost"
    cat_sql = (f"CREATE TEMP TABLE cat AS SELECT * REPLACE ({finite}) FROM (SELECT "
               f"{', '.join(cols)}, "
               "row_number() OVER (PARTITION BY item_id ORDER BY line_no) AS k FROM cat_raw) "
               "WHERE k = 1 AND item_id IS NOT NULL")
    con.execute(cat_sql)


def clean_and_store(con: duckdb.DuckDBPyConnection, name: str, sn: Sniffed,
                    cat_sn: Sniffed | None, lines_map: dict[str, list[str]],
                    cat_map: dict[str, list[str]], options, rows_read: int, sources: list[str],
                    progress: Progress | None, *,
                    mapping_notes: list[str] | None = None, cleaned: bool = False,
                    ts_fmt: str | None = None) -> dict[str, Any]:
    """Clean the ``raw`` (and ``cat_raw``) temp tables into dataset ``name`` and return its
    summary. ``options`` is an ``IngestOptions``; ``sources`` the stored upload paths (order
    lines, then the catalog), relative to the workspace; ``mapping_notes`` the detection's
    notes (``mapping.Detection.notes``), kept in the summary. ``cleaned``: temp table ``clean``
    was already built (the Spark engine) with timestamp format ``ts_fmt``."""
    if not cleaned:
        ts_fmt = run_cleaning(con, sn, lines_map, options)
    report(progress, 0.3, "counting what was dropped")
    dropped = dropped_counts(con)
    if sum(dropped.values()) >= rows_read:  # nothing kept: refuse before anything is written
        raise nothing_kept(sn, rows_read, dropped)
    examples, detail_rows = drop_examples(con, sn)
    has_cat = cat_sn is not None
    build_catalog(con, cat_sn, cat_map)
    report(progress, 0.5, "storing the dataset")
    old = con.execute("SELECT version FROM datasets WHERE name = ?", [name]).fetchone()
    version = (old[0] if old else 0) + 1
    con.begin()
    for statement in DELETE_DATASET:
        con.execute(statement, [name])
    con.execute("INSERT INTO lines SELECT ?, line_no, order_id, item_id, quantity, unit_price, "
                "customer_id, ts FROM clean WHERE reason IS NULL", [name])
    con.execute(_ITEMS_SQL, [name])
    if examples:
        con.executemany("INSERT INTO dropped_examples VALUES (?, ?, ?, ?)",
                        [[name, r, n, detail_rows.get(n)] for r, n in examples])
    stats = kept_stats(con)
    rows_kept = int(stats[0])
    if rows_kept + sum(dropped.values()) != rows_read:  # the invariant of docs/ARCHITECTURE.md §3
        raise AssertionError(f"row accounting broken: {rows_read} read, {rows_kept} kept, "
                             f"{sum(dropped.values())} dropped")
    catalog_items = con.execute("SELECT count(*) FROM cat").fetchone()[0] if has_cat else 0
    warnings = ingest_warnings(con, lines_map, stats, has_cat, ts_fmt)
    summary = {
        "dataset": name, "rows_read": int(rows_read), "rows_kept": rows_kept, "dropped": dropped,
        "orders": int(stats[1]), "items": int(stats[2]), "customers": int(stats[3]),
        "date_min": stats[4].isoformat(sep=" ") if stats[4] else None,
        "date_max": stats[5].isoformat(sep=" ") if stats[5] else None,
        "mapping": mp.describe(lines_map),
        "catalog_mapping": mp.describe(cat_map) if has_cat else {},
        "catalog_items": int(catalog_items), "layout": sn.kind, "encoding": sn.encoding,
        "delimiter": sn.delimiter, "timestamp_format": ts_fmt, "warnings": warnings,
        "notes": sn.notes, "mapping_notes": list(mapping_notes or []),
        "file": sn.original.name,
    }
    con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?)",
                [name, _now(), sources[0], sources[1] if len(sources) > 1 else None, version,
                 json.dumps(summary),
                 json.dumps(asdict(options))])
    con.commit()
    return summary


def nothing_kept(sn: Sniffed, rows_read: int, dropped: dict[str, int]) -> InputError:
    """The error for an upload whose rows were all dropped: how many for each reason, and what to
    change (``_FIXES``)."""
    todo = "; ".join(dict.fromkeys(_FIXES[r] for r in dropped if r in _FIXES)) or \
        "load an export holding product sales"
    return InputError(
        f"{sn.original.name}: all {rows_read:,} rows were dropped: "
        f"{', '.join(f'{n:,} {REASON_TEXT[r]}' for r, n in dropped.items())}. Nothing was "
        f"loaded (the workspace is unchanged). To fix: {todo}.",
        file=str(sn.original), columns=sn.header)


def kept_stats(con: duckdb.DuckDBPyConnection) -> tuple:
    """Over the kept rows of ``clean``: rows, orders, items, customers, first and last
    timestamp, rows kept with an unreadable timestamp."""
    return con.execute(
        "SELECT count(*), count(DISTINCT order_id), count(DISTINCT item_id), "
        "count(DISTINCT customer_id), min(ts), max(ts), "
        "count(*) FILTER (ts_raw IS NOT NULL AND ts IS NULL) "
        "FROM clean WHERE reason IS NULL").fetchone()


def ingest_warnings(con, lines_map, stats, has_cat, ts_fmt, *,
                    skip: frozenset[str] = frozenset()) -> list[str]:
    """The report's warnings, from temp tables ``clean`` and ``cat`` (both built) and
    ``kept_stats``: computed with the final mapping and the catalog, so a name the catalog
    supplies never leaves a "no item name" warning behind. ``skip``: fields (``item_name``,
    ``timestamp``, ``customer_id``) whose "missing" warning the caller says in its own words."""
    out = []
    if mp.derived_order_id(lines_map):
        out.append(f"No order id column: a basket is one customer "
                   f"({'+'.join(lines_map['customer_id'])}) on one day "
                   f"({'+'.join(lines_map['timestamp'])}). Map an order id column if the file "
                   "has one.")
    if "line_total" in lines_map:
        out.append(f"No unit price column: unit prices are the line total "
                   f"({'+'.join(lines_map['line_total'])}) divided by the quantity.")
    unnamed, unnamed_rows = con.execute(_UNNAMED_SQL).fetchone()
    if unnamed and "item_name" not in skip:  # no order line and no catalog row names them
        out.append(f"{unnamed:,} sold items ({unnamed_rows:,} kept rows) have no name in the "
                   f"order lines{' or the catalog' if has_cat else ''}: the item id is used as "
                   "the name." + ("" if has_cat else " A product catalog with names adds them."))
    if stats[6]:
        out.append(f"{stats[6]:,} rows have a timestamp that could not be read; they were kept "
                   "without one (choose 'drop' to remove them).")
    if "timestamp" not in lines_map:
        if "timestamp" not in skip:
            out.append("No date column: the evaluation holds out the last 20% of orders in "
                       "file order.")
    elif ts_fmt is None:
        out.append("No date format fitted the timestamp column; map another column or fix the "
                   "dates.")
    if "customer_id" not in lines_map and "customer_id" not in skip:
        out.append("No customer column: personal recommendations and target customers are "
                   "skipped; bundles still work.")
    if has_cat:
        n = con.execute("SELECT count(DISTINCT item_id) FROM clean WHERE reason IS NULL AND "
                        "item_id NOT IN (SELECT item_id FROM cat)").fetchone()[0]
        if n:
            out.append(f"{n:,} sold items are not in the catalog; their names come from the "
                       "order lines.")
    return out


# Sold items that no kept order line and no catalog row names (items and their kept rows; one
# pass grouped by item; kept rows and catalog rows always have an item id).
_UNNAMED_SQL = """
SELECT count(*), coalesce(sum(n), 0) FROM (
    SELECT item_id, count(*) AS n FROM clean WHERE reason IS NULL GROUP BY item_id
    HAVING count(item_name) = 0)
WHERE item_id NOT IN (SELECT item_id FROM cat WHERE item_name IS NOT NULL)
"""

_ITEMS_SQL = """
INSERT INTO items
WITH kept AS (SELECT * FROM clean WHERE reason IS NULL),
names AS (SELECT item_id, arg_max(item_name, n * 10000000000 - first) AS item_name FROM (
    SELECT item_id, item_name, count(*) AS n, min(line_no) AS first FROM kept
    WHERE item_name IS NOT NULL GROUP BY item_id, item_name) GROUP BY item_id),
cats AS (SELECT item_id, arg_max(category, n * 10000000000 - first) AS category FROM (
    SELECT item_id, category, count(*) AS n, min(line_no) AS first FROM kept
    WHERE category IS NOT NULL GROUP BY item_id, category) GROUP BY item_id),
per_order AS (SELECT item_id, order_id, count(*) AS n, sum(quantity) AS q, min(ts) AS f,
    max(ts) AS l, min(line_no) AS fl FROM kept GROUP BY item_id, order_id),
prices AS (SELECT item_id, unit_price, count(*) AS c FROM kept WHERE unit_price IS NOT NULL
    GROUP BY item_id, unit_price),
ranked AS (SELECT item_id, unit_price, sum(c) OVER w - c AS below, sum(c) OVER w AS upto,
    sum(c) OVER (PARTITION BY item_id) AS total FROM prices
    WINDOW w AS (PARTITION BY item_id ORDER BY unit_price ROWS UNBOUNDED PRECEDING)),
med AS (SELECT item_id, avg(unit_price) AS price FROM ranked
    WHERE (below < (total + 1) // 2 AND upto >= (total + 1) // 2)
       OR (below < total // 2 + 1 AND upto >= total // 2 + 1) GROUP BY item_id),
agg AS (SELECT item_id, med.price, count(*) AS n_orders, sum(n) AS n_lines, sum(q) AS quantity,
    min(f) AS first_seen, max(l) AS last_seen, min(fl) AS first_line
    FROM per_order LEFT JOIN med USING (item_id) GROUP BY item_id, med.price),
ids AS (SELECT item_id FROM agg UNION SELECT item_id FROM cat)
SELECT ?, ids.item_id,
    coalesce(cat.item_name, names.item_name, ids.item_id),
    coalesce(cat.category, cats.category),
    coalesce(cat.unit_price, agg.price), cat.cost,
    coalesce(agg.n_orders, 0), coalesce(agg.n_lines, 0), coalesce(agg.quantity, 0),
    agg.first_seen, agg.last_seen, cat.item_id IS NOT NULL
FROM ids LEFT JOIN agg USING (item_id) LEFT JOIN names USING (item_id)
LEFT JOIN cats USING (item_id) LEFT JOIN cat USING (item_id)
ORDER BY coalesce(agg.first_line, 9223372036854775807), ids.item_id
"""
