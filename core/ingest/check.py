"""The data check: a dry run of ingest on an upload, before anything is stored.

``check(ws, path, catalog=..., options=...)`` runs the same steps as ingest (``load.opened``:
sniff, headers, the column detection of ``mapping.detect``; ``load.read_inputs``; the cleaning
SQL of ``store.run_cleaning``) in a private in-memory DuckDB connection, so the workspace
database is never opened: what it returns is what a load with these settings would do. Only
temp files under the workspace's ``tmp/`` are written, and removed again.

It returns ``file, layout, encoding, delimiter, notes, rows_read, rows_kept, dropped {reason:
rows}``, ``reasons`` (per reason: ``text`` from ``REASON_TEXT``, ``rows``, ``share`` of the rows
read, ``examples``), ``orders, items, customers, date_min, date_max``, ``mapping`` and
``catalog_mapping`` (as in the ingest summary), ``explain`` (each column, the field it was taken
for and why), ``mapping_notes`` (what the files' contents decided, e.g. item names built from the
catalog's columns), ``placeholders`` and ``duplicates`` (findings), ``catalog`` (how the catalog
matches the sold items), ``warnings`` (those the load would report, less the missing fields
that a suggestion covers), ``nothing_kept`` (the error
a load would raise when every row is dropped, else None), ``suggestions`` (``core.ingest.advice``)
and ``seconds``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import duckdb

from core.ingest import mapping as mp
from core.ingest.advice import suggestions
from core.ingest.cleaning import PLACEHOLDER_RE, REASON_TEXT
from core.ingest.load import IngestOptions, Inputs, opened, read_inputs
from core.ingest.store import (build_catalog, drop_examples, dropped_counts, field_exprs,
                               ingest_warnings, kept_stats, nothing_kept, run_cleaning)
from core.sql import literal
from core.workspace import Workspace

EXAMPLES = 3
# Text fields whose placeholder values (NONE, N/A, -, ...) are worth reporting, and what the
# cleaning does with them.
PLACEHOLDER_EFFECT = {
    "item_id": "rows dropped (placeholder instead of a product)",
    "order_id": "kept: these rows would form one order with that id",
    "customer_id": "kept: counted as one customer",
    "item_name": "kept as the item's name",
    "category": "kept as a category",
}


def check(ws: Workspace, path: str | Path, *, catalog: str | Path | None = None,
          options: IngestOptions | None = None) -> dict[str, Any]:
    """What loading ``path`` (and ``catalog``) with ``options`` would do, without storing
    anything. Raises the ``InputError``/``MappingError`` a load would raise before cleaning."""
    t0 = time.perf_counter()
    options = options or IngestOptions()
    path = Path(path)
    catalog = Path(catalog) if catalog is not None else None
    with opened(ws, path, catalog, options) as inp:
        con = duckdb.connect(":memory:")
        try:
            ws.tmp_dir.mkdir(parents=True, exist_ok=True)
            con.execute("SET temp_directory = ?", [ws.tmp_dir.as_posix()])
            con.execute("SET TimeZone = 'UTC'")
            rows_read, cat_rows = read_inputs(con, inp, path, options, ws.tmp_dir)
            advice = suggestions(con, inp)
            out = _dry_run(con, inp, options, rows_read, cat_rows,
                           frozenset(s["field"] for s in advice))
            out["suggestions"] = advice
        finally:
            con.close()
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _dry_run(con: duckdb.DuckDBPyConnection, inp: Inputs, options: IngestOptions,
             rows_read: int, cat_rows: int, suggested: frozenset[str]) -> dict[str, Any]:
    sn = inp.sn
    ts_fmt = run_cleaning(con, sn, inp.lines_map, options)
    dropped = dropped_counts(con)
    examples, detail = drop_examples(con, sn, per_reason=EXAMPLES)
    build_catalog(con, inp.cat_sn, inp.cat_map)
    stats = kept_stats(con)
    has_cat = inp.cat_sn is not None
    reasons = []
    for reason, n in dropped.items():
        rows = [{"row": int(line), **json.loads(detail.get(line) or "{}")}
                for r, line in examples if r == reason]
        reasons.append({"reason": reason, "text": REASON_TEXT[reason], "rows": n,
                        "share": n / rows_read, "examples": rows})
    kept = rows_read - sum(dropped.values())
    return {
        "file": sn.original.name, "layout": sn.kind, "encoding": sn.encoding,
        "delimiter": sn.delimiter, "notes": sn.notes, "timestamp_format": ts_fmt,
        "rows_read": int(rows_read), "rows_kept": int(kept), "dropped": dropped,
        "reasons": reasons, "orders": int(stats[1]), "items": int(stats[2]),
        "customers": int(stats[3]),
        "date_min": stats[4].isoformat(sep=" ") if stats[4] else None,
        "date_max": stats[5].isoformat(sep=" ") if stats[5] else None,
        "mapping": mp.describe(inp.lines_map),
        "catalog_mapping": mp.describe(inp.cat_map) if has_cat else {},
        "explain": inp.detection.explain(), "mapping_notes": list(inp.detection.notes),
        "placeholders": _placeholders(con, inp),
        "duplicates": _duplicates(con, inp, rows_read),
        "catalog": _catalog(con, cat_rows) if has_cat else None,
        "warnings": ingest_warnings(con, inp.lines_map, stats, has_cat, ts_fmt,
                                    skip=suggested) if kept else [],
        "nothing_kept": str(nothing_kept(sn, rows_read, dropped)) if not kept else None,
    }


def _placeholders(con: duckdb.DuckDBPyConnection, inp: Inputs) -> list[dict[str, Any]]:
    """Per mapped text field: the rows holding a placeholder (``PLACEHOLDER_RE``), the values
    seen, and what the cleaning does with them."""
    exprs = field_exprs(inp.sn, inp.lines_map)
    out = []
    for f, effect in PLACEHOLDER_EFFECT.items():
        if f not in exprs or (f == "item_name" and inp.lines_map["item_name"]
                              == inp.lines_map.get("item_id")):
            continue  # the names are the ids: reported once, as item id
        sql = (f"SELECT count(*), list(DISTINCT v ORDER BY v)[:5] FROM (SELECT {exprs[f]} AS v "
               f"FROM raw) WHERE regexp_matches(lower(v), {literal(PLACEHOLDER_RE)})")
        n, values = con.execute(sql).fetchone()
        if n:
            out.append({"field": mp.FIELD_TEXT[f], "column": "+".join(inp.lines_map[f]),
                        "rows": int(n), "values": list(values or []), "effect": effect})
    return out


def _duplicates(con: duckdb.DuckDBPyConnection, inp: Inputs,
                rows_read: int) -> dict[str, int]:
    """``exact_rows``: rows identical to an earlier one (whatever the duplicate option says);
    ``repeated_lines``: kept lines repeating an item already on the same order (they count once
    for bundles); ``catalog_ids``: catalog item ids on more than one row (the first row wins)."""
    raw_cols = ", ".join(f'"c{i}"' for i in range(len(inp.sn.header)))
    distinct_sql = f"SELECT count(*) FROM (SELECT DISTINCT {raw_cols} FROM raw)"
    exact = rows_read - con.execute(distinct_sql).fetchone()[0]
    repeated = con.execute(
        "SELECT count(*) - count(DISTINCT (order_id, item_id)) FROM clean "
        "WHERE reason IS NULL").fetchone()[0]
    out = {"exact_rows": int(exact), "repeated_lines": int(repeated), "catalog_ids": 0}
    if inp.cat_sn is not None:
        item = field_exprs(inp.cat_sn, inp.cat_map)["item_id"]
        dup_sql = (f"SELECT count(*) FROM (SELECT {item} AS i FROM cat_raw WHERE i IS NOT NULL "
                   "GROUP BY i HAVING count(*) > 1)")
        out["catalog_ids"] = int(con.execute(dup_sql).fetchone()[0])
    return out


def _catalog(con: duckdb.DuckDBPyConnection, cat_rows: int) -> dict[str, int]:
    """How the catalog meets the order lines: its rows and items, sold items found in it and
    not, items in it never sold (bundled by their text), items it names."""
    row = con.execute(
        "WITH sold AS (SELECT DISTINCT item_id FROM clean WHERE reason IS NULL) "
        "SELECT (SELECT count(*) FROM cat), "
        "(SELECT count(*) FROM sold WHERE item_id IN (SELECT item_id FROM cat)), "
        "(SELECT count(*) FROM sold WHERE item_id NOT IN (SELECT item_id FROM cat)), "
        "(SELECT count(*) FROM cat WHERE item_id NOT IN (SELECT item_id FROM sold)), "
        "(SELECT count(*) FROM cat WHERE item_name IS NOT NULL)").fetchone()
    return {"rows": int(cat_rows), "items": int(row[0]), "sold_in_catalog": int(row[1]),
            "sold_not_in_catalog": int(row[2]), "never_sold": int(row[3]),
            "named": int(row[4])}
