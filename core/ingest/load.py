"""Ingest: an order-lines export (or a basket-per-line file) plus an optional catalog into a
workspace dataset, with a cleaning report.

``ingest(ws, path, catalog=..., dataset=..., options=..., progress=...)`` returns the summary of
DESIGN §7: ``dataset, rows_read, rows_kept, dropped {reason: count}, orders, items, customers,
date_min, date_max, mapping {field: column}`` plus ``warnings``, ``encoding``, ``delimiter``,
``layout``, ``catalog_items`` and ``seconds``. ``rows_read == rows_kept + sum(dropped)`` always.

Reading and cleaning run inside DuckDB (out of core); the new dataset replaces an old one of the
same name in one transaction, only after everything succeeded. The raw upload is kept under
``uploads/<dataset>/`` so a different cleaning choice can be re-run (``reclean``).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import duckdb

from core.ingest import mapping as mp
from core.errors import BundleLabError, InputError
from core.progress import Progress, report, sub_progress
from core.files import owned_name
from core.ingest.readers import Sniffed, iter_ragged, sniff
from core.sql import plain_ident
from core.ingest.cleaning import (DROP_REASONS, clean_sql, detect_timestamp_format, needs_fill_sql,
                       finite_sql, number_sql, text_sql, timestamp_text_sql)
from core.workspace import DELETE_DATASET, Workspace, _now, check_dataset_name

EXAMPLES_PER_REASON = 5


@dataclass(frozen=True)
class IngestOptions:
    """Cleaning choices. ``mapping``: field -> column(s) overrides (``"Date+Time"``);
    ``bad_dates``: ``drop`` rows whose timestamp cannot be parsed, or ``keep`` them without one;
    ``layout``: ``auto``, ``lines`` (header + order lines) or ``baskets`` (one basket per line)."""

    mapping: dict[str, str] = field(default_factory=dict)
    bad_dates: str = "drop"
    drop_duplicates: bool = True
    drop_cancellations: bool = True
    drop_non_products: bool = True
    drop_placeholders: bool = True
    layout: str = "auto"

    def __post_init__(self) -> None:
        if self.bad_dates not in ("drop", "keep"):
            raise BundleLabError(f"bad_dates must be 'drop' or 'keep', not {self.bad_dates!r}")
        if self.layout not in ("auto", "lines", "baskets"):
            raise BundleLabError(f"layout must be auto, lines or baskets, not {self.layout!r}")


def default_name(path: str | Path) -> str:
    """The file's stem without compression/format suffixes, made a valid dataset name."""
    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    name = re.sub(r"[^A-Za-z0-9_.\- ]+", "_", name).strip(" ._-") or "dataset"
    return name[:80]


_READ_CSV = ("SELECT row_number() OVER () AS line_no, * FROM read_csv(?, delim := ?, "
             "header := false, skip := 1, columns := ?, quote := '\"', escape := '\"', "
             "null_padding := true, auto_detect := false, encoding := 'utf-8', "
             "compression := ?, parallel := ?, strict_mode := ?)")
_GLOB_CHARS = frozenset("*?[]{}")


@contextmanager
def _literal_path(path: Path, tmp_dir: Path) -> Iterator[Path]:
    """``path``, or a hard link (else a copy) to it under a plain name when the path holds a
    character DuckDB's ``read_csv`` would take for a glob pattern (``x*.csv`` must read exactly
    that one file). The link is removed afterwards."""
    if not _GLOB_CHARS.intersection(path.resolve().as_posix()):
        yield path
        return
    folder = next((d for d in (tmp_dir, Path(tempfile.gettempdir()))
                   if not _GLOB_CHARS.intersection(d.resolve().as_posix())), None)
    if folder is None:
        raise InputError(f"{path.name}: the workspace path and the temp folder both contain one "
                         f"of {''.join(sorted(_GLOB_CHARS))}; use a workspace folder without them.",
                         file=str(path))
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / owned_name("ingest-", ".csv")
    try:
        try:
            os.link(path, link)
        except OSError:
            shutil.copyfile(path, link)
        yield link
    finally:
        link.unlink(missing_ok=True)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _create_raw(con: duckdb.DuckDBPyConnection, table: str, params: list) -> None:
    """The fast parallel, strict read first; then the fallbacks valid files need: DuckDB's
    parallel reader cannot pad short rows in files with quoted newlines ("two\nlines" in a text
    field), and its strict mode stops on a quoted field that ends in a newline ("trailing\n")."""
    create = f"CREATE TEMP TABLE {table} AS " + _READ_CSV
    drop = f"DROP TABLE IF EXISTS {table}"
    attempts = [(True, True), (False, True), (False, False)]  # (parallel, strict)
    for k, (parallel, strict) in enumerate(attempts):
        try:
            con.execute(create, params + [parallel, strict])
            return
        except duckdb.Error as exc:
            text = str(exc).lower()
            if "parallel" not in text and "invalid state" not in text or k == len(attempts) - 1:
                raise
            con.execute(drop)


def _read_raw(con: duckdb.DuckDBPyConnection, sn: Sniffed, table: str, tmp_dir: Path) -> int:
    """Load a sniffed file into a temp table of VARCHAR columns c0..cN plus ``line_no``. The path
    and every option are bound parameters: no file name ever becomes SQL text; compression comes
    from the file's first bytes, not its name."""
    table = plain_ident(table)
    cols = {f"c{i}": "VARCHAR" for i in range(len(sn.header))}
    try:
        with _literal_path(sn.path, tmp_dir) as src:
            compression = "gzip" if _is_gzip(src) else "none"
            _create_raw(con, table, [src.as_posix(), sn.delimiter, cols, compression])
    except duckdb.Error as exc:
        if "unicode" in str(exc).lower() and sn.encoding.startswith("utf-8"):
            raise _NotUtf8() from None
        ragged = list(iter_ragged(sn.path, sn.delimiter, len(sn.header),
                                  name=sn.original.name))
        if ragged:
            rows = ", ".join(f"row {n} ({k} fields)" for n, k in ragged)
            raise InputError(
                f"{sn.original.name}: rows with more fields than the header's "
                f"{len(sn.header)} columns: {rows}. Usually a text field holds an unquoted "
                f"{'tab' if sn.delimiter == chr(9) else repr(sn.delimiter)}: quote such fields "
                "(export again with quoting on) or remove the extra fields.",
                file=str(sn.original), columns=sn.header) from None
        raise InputError(f"{sn.original.name} cannot be read as a table: "
                         f"{str(exc).splitlines()[0]}. Check that it is a CSV/TSV export with "
                         "one header line.", file=str(sn.original), columns=sn.header) from None
    count_sql = f"SELECT count(*) FROM {table}"
    return con.execute(count_sql).fetchone()[0]


# DuckDB's CSV reader keeps buffers per column: 10,000 columns ran out of its 1 GB limit on 30
# rows. Files wider than this are first cut down to the mapped columns (plus a key of the whole
# row, so exact duplicates are still found).
WIDE_COLUMNS = 512
ROW_KEY = "__bundlelab_row_key"


def _narrow(sn: Sniffed, used: list[str], tmp_dir: Path) -> Sniffed:
    """A copy of the sniffed (UTF-8) file holding only the columns in ``used`` and a digest of
    each whole row; streamed row by row."""
    keep = sorted({sn.header.index(c) for c in used if c in sn.header})
    out = tmp_dir / owned_name("ingest-", ".csv")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        opener = gzip.open if _is_gzip(sn.path) else open
        with opener(sn.path, "rt", encoding="utf-8-sig", errors="replace", newline="") as src, \
                open(out, "w", encoding="utf-8", newline="") as dst:
            reader = csv.reader(src, delimiter=sn.delimiter)
            writer = csv.writer(dst)
            next(reader, None)
            writer.writerow([sn.header[i] for i in keep] + [ROW_KEY])
            for row in reader:
                digest = hashlib.blake2b("\x1f".join(row).encode("utf-8", "replace"),
                                         digest_size=12).hexdigest()
                writer.writerow([row[i] if i < len(row) else "" for i in keep] + [digest])
    except (OSError, EOFError, zlib.error, csv.Error) as exc:
        out.unlink(missing_ok=True)
        raise InputError(f"{sn.original.name}: cannot be read as a table ({exc}).",
                         file=str(sn.original), columns=sn.header[:20]) from None
    finally:
        csv.field_size_limit(limit)
    notes = sn.notes + [f"{len(sn.header):,} columns: only the {len(keep)} mapped ones were kept"]
    return dataclasses.replace(sn, path=out, delimiter=",", header=[sn.header[i] for i in keep]
                               + [ROW_KEY], temp=True, notes=notes)


class _NotUtf8(Exception):
    """Invalid UTF-8 past the sniffed head: sniff again, scanning the whole file."""


def _col(sn: Sniffed, name: str) -> str:
    return f'"c{sn.header.index(name)}"'


def _field_exprs(sn: Sniffed, fmap: dict[str, list[str]], prefix: str = "") -> dict[str, str]:
    exprs = {f: text_sql([prefix + _col(sn, c) for c in cols], joiner=" ")
             for f, cols in fmap.items() if cols}
    if "timestamp" in exprs:
        exprs["timestamp"] = timestamp_text_sql(exprs["timestamp"])
    return exprs


def _stage_uploads(ws: Workspace, paths: list[Path]) -> Path | None:
    """Copy the raw upload(s) into ``uploads/.staging-*``; None when they already live in the
    workspace (a re-clean)."""
    if all(ws.uploads_dir in p.resolve().parents for p in paths):
        return None
    staging = ws.uploads_dir / owned_name(".staging-")
    staging.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        shutil.copyfile(p, staging / _stored_name(p, i))
    return staging


def _stored_name(p: Path, i: int) -> str:
    return p.name if i == 0 else f"catalog-{p.name}"


def _final_sources(ws: Workspace, name: str, paths: list[Path], staging: Path | None) -> list[str]:
    if staging is None:
        return [str(p.resolve().relative_to(ws.root)) for p in paths]
    return [str((ws.uploads_dir / name / _stored_name(p, i)).relative_to(ws.root))
            for i, p in enumerate(paths)]


def _promote(ws: Workspace, name: str, staging: Path | None) -> None:
    """Replace ``uploads/<name>`` by the staged upload (after the dataset was committed)."""
    if staging is None:
        return
    final = ws.uploads_dir / name
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def ingest(ws: Workspace, path: str | Path, *, catalog: str | Path | None = None,
           dataset: str | None = None, options: IngestOptions | None = None,
           progress: Progress | None = None) -> dict[str, Any]:
    """Read, validate, clean and store order lines as dataset ``dataset`` (default: the file's
    stem). Raises ``InputError``/``MappingError`` for structural problems, naming the file and
    the columns seen; row-level problems go to the report. Nothing in the workspace changes
    unless the whole ingest succeeds."""
    t0 = time.perf_counter()
    options = options or IngestOptions()
    path = Path(path)
    name = check_dataset_name(dataset or default_name(path))
    report(progress, 0.0, f"reading {path.name}")
    tmp: list[Path] = []
    staging: Path | None = None
    try:
        sn = sniff(path, ws.tmp_dir, layout=options.layout, has_mapping=bool(options.mapping),
                   progress=sub_progress(progress, 0.0, 0.2))
        if sn.temp:
            tmp.append(sn.path)
        mp.check_header(sn.header, path.name)
        cat_sn = None
        if catalog is not None:
            catalog = Path(catalog)
            cat_sn = sniff(catalog, ws.tmp_dir, layout="lines", has_mapping=True)
            if cat_sn.temp:
                tmp.append(cat_sn.path)
            mp.check_header(cat_sn.header, catalog.name)
        lines_map, cat_map = mp.resolve(sn.header, cat_sn.header if cat_sn else None,
                                        options.mapping, file=path.name,
                                        catalog_file=catalog.name if catalog else None)
        if len(sn.header) > WIDE_COLUMNS:
            sn = _narrow(sn, [c for cols in lines_map.values() for c in cols], ws.tmp_dir)
            tmp.append(sn.path)
        if cat_sn is not None and len(cat_sn.header) > WIDE_COLUMNS:
            cat_sn = _narrow(cat_sn, [c for cols in cat_map.values() for c in cols], ws.tmp_dir)
            tmp.append(cat_sn.path)
        report(progress, 0.2, "loading rows")
        inputs = [path] + ([catalog] if catalog else [])
        staging = _stage_uploads(ws, inputs)
        sources = _final_sources(ws, name, inputs, staging)
        with ws.connect() as con:
            con.execute("SET memory_limit='1GB'; SET threads=2; SET preserve_insertion_order=true")
            try:
                rows_read = _read_raw(con, sn, "raw", ws.tmp_dir)
            except _NotUtf8:  # invalid UTF-8 past the sniffed head: convert the whole file
                sn = sniff(path, ws.tmp_dir, layout=options.layout, full_scan=True,
                           has_mapping=bool(options.mapping))
                if sn.temp:
                    tmp.append(sn.path)
                try:
                    rows_read = _read_raw(con, sn, "raw", ws.tmp_dir)
                except _NotUtf8:
                    raise InputError(
                        f"{path.name}: its text cannot be read as UTF-8, even after repairing "
                        "the bytes that are not UTF-8. Open it and save it again as UTF-8 (Excel: "
                        "'CSV UTF-8'), then upload that.", file=str(path),
                        columns=sn.header) from None
            if rows_read == 0:
                raise InputError(f"{path.name} has a header ({', '.join(sn.header[:8])}) but no "
                                 "data rows. Export the orders again with the data included.",
                                 file=str(path), columns=sn.header)
            cat_rows = 0
            if cat_sn is not None:
                cat_rows = _read_raw(con, cat_sn, "cat_raw", ws.tmp_dir)
            report(progress, 0.45, f"cleaning {rows_read:,} rows")
            summary = _clean_and_store(con, ws, name, sn, cat_sn, lines_map, cat_map, options,
                                       rows_read, sources, sub_progress(progress, 0.45, 0.95))
        summary["catalog_rows"] = cat_rows
        _promote(ws, name, staging)
        staging = None
    finally:
        for p in tmp:
            p.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    report(progress, 1.0, "done")
    return summary


def reclean(ws: Workspace, dataset: str | None = None, *, options: IngestOptions | None = None,
            progress: Progress | None = None) -> dict[str, Any]:
    """Re-run ingest from the raw upload stored in the workspace with other cleaning options."""
    info = ws.info(dataset)
    src = ws.root / info["source"]
    cat = ws.root / info["catalog"] if info.get("catalog") else None
    if not src.exists():
        raise InputError(f"the raw upload of {info['dataset']} is no longer in the workspace "
                         f"({src}); upload the file again.")
    return ingest(ws, src, catalog=cat, dataset=info["dataset"], options=options,
                  progress=progress)


def _clean_and_store(con, ws, name, sn, cat_sn, lines_map, cat_map, options, rows_read,
                     sources, progress) -> dict[str, Any]:
    exprs = _field_exprs(sn, lines_map)
    ts_fmt = None
    if "timestamp" in exprs:
        sample_sql = f"SELECT {exprs['timestamp']} AS t FROM raw WHERE t IS NOT NULL LIMIT 2000"
        sample = [r[0] for r in con.execute(sample_sql).fetchall()]
        ts_fmt = detect_timestamp_format(con, sample)
    decimal_comma = sn.delimiter != ","
    raw_cols = [f'"c{i}"' for i in range(len(sn.header))]
    fill_sql = needs_fill_sql(exprs)
    fill = bool(fill_sql and con.execute(fill_sql).fetchone()[0])
    con.execute(clean_sql(exprs, raw_cols, ts_fmt=ts_fmt, decimal_comma=decimal_comma,
                          options=options, fill=fill,
                          derive_order=mp.derived_order_id(lines_map)))
    report(progress, 0.3, "counting what was dropped")
    dropped = dict(con.execute(
        "SELECT reason, count(*) FROM clean WHERE reason IS NOT NULL GROUP BY reason").fetchall())
    dropped = {r: int(dropped[r]) for r in DROP_REASONS if dropped.get(r)}
    if sum(dropped.values()) >= rows_read:  # nothing kept: refuse before anything is written
        from core.ingest.cleaning import REASON_TEXT
        fixes = {"missing_order_id": "map the order id column (--map order_id=COLUMN)",
                 "missing_item_id": "map the item id column (--map item_id=COLUMN)",
                 "placeholder_item": "map the item id column (--map item_id=COLUMN)",
                 "non_positive_quantity": "load the sales export, not only returns, or map the "
                 "right quantity column (--map quantity=COLUMN)",
                 "unparseable_quantity": "map the right quantity column (--map quantity=COLUMN)",
                 "zero_or_negative_price": "map the unit price column (--map unit_price=COLUMN)",
                 "unparseable_price": "map the unit price column (--map unit_price=COLUMN)",
                 "unparseable_timestamp": "keep rows with unreadable dates (--bad-dates keep) "
                 "or map another date column (--map timestamp=COLUMN)"}
        todo = "; ".join(dict.fromkeys(fixes[r] for r in dropped if r in fixes)) or \
            "load an export holding product sales"
        raise InputError(
            f"{sn.original.name}: all {rows_read:,} rows were dropped: "
            f"{', '.join(f'{n:,} {REASON_TEXT[r]}' for r, n in dropped.items())}. Nothing was "
            f"loaded (the workspace is unchanged). To fix: {todo}.",
            file=str(sn.original), columns=sn.header)
    examples = con.execute(
        "SELECT reason, line_no FROM (SELECT reason, line_no, row_number() OVER (PARTITION BY "
        "reason ORDER BY line_no) AS k FROM clean WHERE reason IS NOT NULL) WHERE k <= ? "
        "ORDER BY reason, line_no", [EXAMPLES_PER_REASON]).fetchall()
    detail_rows = {}
    if examples:
        detail_sql = (f"SELECT line_no, {', '.join(raw_cols)} FROM raw "
                      "WHERE list_contains(?, line_no)")
        for row in con.execute(detail_sql, [[int(n) for _, n in examples]]).fetchall():
            detail_rows[row[0]] = json.dumps(dict(zip(sn.header, row[1:])), ensure_ascii=False)
    # catalog
    has_cat = cat_sn is not None
    if has_cat:
        cexprs = _field_exprs(cat_sn, cat_map)
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
    else:
        con.execute("CREATE TEMP TABLE cat (item_id VARCHAR, item_name VARCHAR, category VARCHAR,"
                    " unit_price DOUBLE, cost DOUBLE)")
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
    stats = con.execute(
        "SELECT count(*), count(DISTINCT order_id), count(DISTINCT item_id), "
        "count(DISTINCT customer_id), min(ts), max(ts), count(*) FILTER (item_name IS NULL), "
        "count(*) FILTER (ts_raw IS NOT NULL AND ts IS NULL) "
        "FROM clean WHERE reason IS NULL").fetchone()
    rows_kept = int(stats[0])
    if rows_kept + sum(dropped.values()) != rows_read:  # the invariant of DESIGN §3
        raise AssertionError(f"row accounting broken: {rows_read} read, {rows_kept} kept, "
                             f"{sum(dropped.values())} dropped")
    catalog_items = con.execute("SELECT count(*) FROM cat").fetchone()[0] if has_cat else 0
    warnings = _warnings(con, lines_map, stats, has_cat, ts_fmt, options)
    summary = {
        "dataset": name, "rows_read": int(rows_read), "rows_kept": rows_kept, "dropped": dropped,
        "orders": int(stats[1]), "items": int(stats[2]), "customers": int(stats[3]),
        "date_min": stats[4].isoformat(sep=" ") if stats[4] else None,
        "date_max": stats[5].isoformat(sep=" ") if stats[5] else None,
        "mapping": mp.describe(lines_map),
        "catalog_mapping": mp.describe(cat_map) if has_cat else {},
        "catalog_items": int(catalog_items), "layout": sn.kind, "encoding": sn.encoding,
        "delimiter": sn.delimiter, "timestamp_format": ts_fmt, "warnings": warnings,
        "notes": sn.notes, "file": sn.original.name,
    }
    con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?)",
                [name, _now(), sources[0], sources[1] if len(sources) > 1 else None, version,
                 json.dumps(summary),
                 json.dumps(asdict(options))])
    con.commit()
    return summary


def _warnings(con, lines_map, stats, has_cat, ts_fmt, options) -> list[str]:
    out = []
    if mp.derived_order_id(lines_map):
        out.append(f"No order id column: a basket is one customer "
                   f"({'+'.join(lines_map['customer_id'])}) on one day "
                   f"({'+'.join(lines_map['timestamp'])}). Map an order id column if the file "
                   "has one.")
    if "line_total" in lines_map:
        out.append(f"No unit price column: unit prices are the line total "
                   f"({'+'.join(lines_map['line_total'])}) divided by the quantity.")
    if stats[6]:
        out.append(f"{stats[6]:,} kept rows have no item name: the item id is used as the name.")
    if stats[7]:
        out.append(f"{stats[7]:,} rows have a timestamp that could not be read; they were kept "
                   "without one (choose 'drop' to remove them).")
    if "timestamp" not in lines_map:
        out.append("No date column: the evaluation holds out the last 20% of orders in file "
                   "order.")
    elif ts_fmt is None:
        out.append("No date format fitted the timestamp column; map another column or fix the "
                   "dates.")
    if "customer_id" not in lines_map:
        out.append("No customer column: personal recommendations and target customers are "
                   "skipped; bundles still work.")
    if has_cat:
        n = con.execute("SELECT count(DISTINCT item_id) FROM clean WHERE reason IS NULL AND "
                        "item_id NOT IN (SELECT item_id FROM cat)").fetchone()[0]
        if n:
            out.append(f"{n:,} sold items are not in the catalog; their names come from the "
                       "order lines.")
    return out


_ITEMS_SQL = """
INSERT INTO items
WITH kept AS (SELECT * FROM clean WHERE reason IS NULL),
names AS (SELECT item_id, arg_max(item_name, n * 10000000000 - first) AS item_name FROM (
    SELECT item_id, item_name, count(*) AS n, min(line_no) AS first FROM kept
    WHERE item_name IS NOT NULL GROUP BY item_id, item_name) GROUP BY item_id),
cats AS (SELECT item_id, arg_max(category, n * 10000000000 - first) AS category FROM (
    SELECT item_id, category, count(*) AS n, min(line_no) AS first FROM kept
    WHERE category IS NOT NULL GROUP BY item_id, category) GROUP BY item_id),
agg AS (SELECT item_id, median(unit_price) AS price, count(DISTINCT order_id) AS n_orders,
    count(*) AS n_lines, sum(quantity) AS quantity, min(ts) AS first_seen, max(ts) AS last_seen,
    min(line_no) AS first_line FROM kept GROUP BY item_id),
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
