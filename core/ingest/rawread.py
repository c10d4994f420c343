"""Reading a sniffed file into DuckDB: a temp table of VARCHAR columns ``c0..cN`` plus ``line_no``.

``read_raw`` binds the path and every option as parameters (no file name ever becomes SQL text),
takes the compression from the file's first bytes, and falls back from DuckDB's fast parallel,
strict reader to the slower ones valid files need. What DuckDB refuses becomes an ``InputError``
naming the rows with too many fields, or ``NotUtf8`` (invalid UTF-8 past the sniffed head: ingest
sniffs again, scanning the whole file). Files over ``WIDE_COLUMNS`` columns are first cut down to
the mapped ones (``narrow``).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import zlib
from pathlib import Path
from typing import Iterator

import duckdb

from core.device import cpu_threads
from core.errors import InputError
from core.ingest import parquet
from core.ingest.sniff import Sniffed
from core.ingest.streams import (GZIP_ERRORS, MAX_LINE_CHARS, LineTooLong, bounded_lines,
                                 gzip_damaged, is_gzip, literal_path, open_text, temp_csv)
from core.sql import plain_ident

# DuckDB's default memory limit is 80% of the machine's memory. Ingest runs next to the app
# (Streamlit, loaded models) and other work; past this limit DuckDB spills to the workspace tmp/
# folder (``Workspace.connect`` sets ``temp_directory``), so a file of any size loads out of core
# instead of crowding out the rest. ``WIDE_COLUMNS`` is sized against it.
MEMORY_LIMIT = "1GB"
# DuckDB keeps buffers per thread (and per column), all inside MEMORY_LIMIT: a 512-column file
# (WIDE_COLUMNS) of 20,000 rows loaded with 1 to 12 threads but ran out of memory with 16, and
# one of 200,000 rows loaded with 8. So ingest uses the machine's cores, at most this many.
MAX_THREADS = 8

_READ_CSV = ("SELECT row_number() OVER () AS line_no, * FROM read_csv(?, delim := ?, "
             "header := false, skip := 1, columns := ?, quote := '\"', escape := '\"', "
             "null_padding := true, auto_detect := false, encoding := 'utf-8', "
             "compression := ?, parallel := ?, strict_mode := ?)")


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB settings for an ingest connection: ``MEMORY_LIMIT``; ``core.device.cpu_threads()``
    threads (the cores this process may use, or ``$BUNDLELAB_THREADS``) up to ``MAX_THREADS``;
    and insertion order kept, which ``line_no`` (``row_number() OVER ()`` over the file) relies
    on."""
    con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
    con.execute("SET threads = ?", [min(cpu_threads(), MAX_THREADS)])
    con.execute("SET preserve_insertion_order = true")


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


def read_raw(con: duckdb.DuckDBPyConnection, sn: Sniffed, table: str, tmp_dir: Path) -> int:
    """Load a sniffed file into a temp table of VARCHAR columns c0..cN plus ``line_no``. The path
    and every option are bound parameters: no file name ever becomes SQL text; compression comes
    from the file's first bytes, not its name."""
    table = plain_ident(table)
    if sn.kind == "parquet":
        parquet.load(con, table, sn.path, tmp_dir, sn.original.name)
        count_sql = f"SELECT count(*) FROM {table}"
        return con.execute(count_sql).fetchone()[0]
    cols = {f"c{i}": "VARCHAR" for i in range(len(sn.header))}
    try:
        with literal_path(sn.path, tmp_dir) as src:
            compression = "gzip" if is_gzip(src) else "none"
            _create_raw(con, table, [src.as_posix(), sn.delimiter, cols, compression])
    except duckdb.Error as exc:
        if "unicode" in str(exc).lower() and sn.encoding.startswith("utf-8"):
            raise NotUtf8() from None
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


# DuckDB's CSV reader keeps buffers per column: 10,000 columns ran out of ``MEMORY_LIMIT`` on 30
# rows. Files wider than this are first cut down to the mapped columns (plus a key of the whole
# row, so exact duplicates are still found). Parquet is read by column and is no memory problem
# to read, but the cleaning compares whole rows (duplicates): it is cut down the same way.
WIDE_COLUMNS = 512
ROW_KEY = "__bundlelab_row_key"


def narrow(sn: Sniffed, used: list[str], tmp_dir: Path) -> Sniffed:
    """A copy of the sniffed (UTF-8) file holding only the columns in ``used`` and a digest of
    each whole row; streamed row by row (Parquet: a temp Parquet file of those columns as text,
    written batch by batch)."""
    keep = sorted({sn.header.index(c) for c in used if c in sn.header})
    notes = sn.notes + [f"{len(sn.header):,} columns: only the {len(keep)} mapped ones were kept"]
    if sn.kind == "parquet":
        con = duckdb.connect()
        try:
            configure(con)
            out = parquet.narrow(con, sn.path, keep, tmp_dir, sn.original.name)
        finally:
            con.close()
        return dataclasses.replace(sn, path=out, header=[sn.header[i] for i in keep] + [ROW_KEY],
                                   temp=True, notes=notes)
    out = temp_csv(tmp_dir)
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        opener = gzip.open if is_gzip(sn.path) else open
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
    return dataclasses.replace(sn, path=out, delimiter=",", header=[sn.header[i] for i in keep]
                               + [ROW_KEY], temp=True, notes=notes)


class NotUtf8(Exception):
    """Invalid UTF-8 past the sniffed head: sniff again, scanning the whole file."""


def iter_ragged(path: Path, delimiter: str, width: int, limit: int = 5, *,
                name: str | None = None) -> Iterator[tuple[int, int]]:
    """(data row number, field count) of rows with more fields than the header. Raises
    ``InputError`` for a damaged gzip file or a line over ``MAX_LINE_CHARS`` (``name``: the file
    name to show, default ``path``'s); stops quietly at a field over Python's csv limit."""
    found = 0
    try:
        with open_text(path, "utf-8-sig") as text:
            reader = csv.reader(bounded_lines(text), delimiter=delimiter)
            next(reader, None)
            for n, row in enumerate(reader, start=1):
                if len(row) > width:
                    yield n, len(row)
                    found += 1
                    if found >= limit:
                        return
    except LineTooLong as exc:
        raise InputError(f"{name or path.name}: line {exc.line_no} is longer than "
                         f"{MAX_LINE_CHARS:,} characters, too long to read as a row of a table. "
                         "If a text field really is that long, shorten it; otherwise check that "
                         "the file is a CSV/TSV export with one order line per line.",
                         file=str(path)) from None
    except csv.Error:
        return  # a field over Python's csv limit (DuckDB's own error then tells the rest)
    except GZIP_ERRORS as exc:
        raise gzip_damaged(path, exc) from None
