"""Parquet uploads: one Parquet file, or a folder of part files (Spark/Hive output), read by DuckDB.

A file is Parquet when its first bytes are ``PAR1`` (whatever its name); a file named ``.parquet``
or ``.pq`` without them is refused as damaged. A folder is read as its part files in sorted name
order: regular files named ``*.parquet``/``*.pq`` (or starting with ``PAR1``), leaving out what
Spark and Hive write next to them (``_SUCCESS``, ``_metadata``, ``.crc`` and other names starting
with ``_`` or ``.``); part files are matched by column name (``union_by_name``), a column missing
from one part is empty there.

Every column becomes text (``text_exprs``) that the cleaning SQL parses as it parses a CSV's:
timestamps ``2010-12-01 08:26:00`` (with a time zone: the wall-clock time in the zone the file
names, else UTC, without an offset suffix), whole floats without ``.0`` (``17850``, an id stored
as a double), other values as DuckDB's VARCHAR cast (``2.55``, ``2010-12-01``, ``true``, nested
values as ``{'a': 1}``). File names are bound as parameters, never SQL text; a path holding a
glob character is read through a plain-named link (``streams.literal_path``).
"""

from __future__ import annotations

import re
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from core.errors import InputError
from core.ingest.streams import literal_path, temp_csv

MAGIC = b"PAR1"
SUFFIXES = (".parquet", ".pq")
_OFFSET = re.compile(r"^([+-])([0-9]{2}):?([0-9]{2})$")
_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
_FLOATS = ("FLOAT", "DOUBLE")
_SCAN = "read_parquet(?, union_by_name := ?)"
_DESCRIBE = "DESCRIBE SELECT * FROM " + _SCAN
_ZONE_CHECK = "SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
BATCH_ROWS = 100_000


def has_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == MAGIC
    except OSError:
        return False


def named_parquet(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def is_parquet(path: Path) -> bool:
    """A Parquet file (by its first bytes) or a folder (of part files)."""
    path = Path(path)
    return path.is_dir() or has_magic(path)


def part_files(folder: Path) -> list[Path]:
    """The Parquet part files of a Spark/Hive output folder, in sorted name order."""
    parts = []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith(("_", ".")) or p.name.lower().endswith(".crc") or not p.is_file():
            continue
        if named_parquet(p) or has_magic(p):
            parts.append(p)
    return parts


def sources(path: Path) -> list[Path]:
    """The files to read: ``path`` itself, or a folder's part files (``InputError`` if none)."""
    if not path.is_dir():
        return [path]
    parts = part_files(path)
    if not parts:
        nested = next(path.glob("*/*.parquet"), None)
        raise InputError(
            f"{path} is a folder without Parquet part files"
            + (" at its top level (its sub-folders hold some: a partitioned output, which "
               "BundleLab does not read; write it unpartitioned or pick one sub-folder)"
               if nested else "") + ". Upload a file (CSV, TSV, Excel, Parquet) or a folder of "
            "*.parquet part files.", file=str(path))
    return parts


def damaged(path: Path, exc: BaseException, part: Path | None = None,
            name: str | None = None) -> InputError:
    """The error for Parquet data DuckDB cannot read; ``name``: the file name to show."""
    name = name or path.name
    what = f"{name} (part file {part.name})" if part is not None else name
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{what} cannot be read as Parquet ({detail}). The file may be damaged "
                      "or cut short by an interrupted download or copy: export or copy it again, "
                      "or save the orders as CSV.", file=str(part or path))


@contextmanager
def scan(path: Path, tmp_dir: Path) -> Iterator[list]:
    """The parameters of ``_SCAN`` for ``path``: its files (each under a name DuckDB reads
    literally) and whether to match columns by name (several files)."""
    files = sources(path)
    with ExitStack() as stack:
        names = [stack.enter_context(literal_path(f, tmp_dir, ".parquet")).as_posix()
                 for f in files]
        yield [names, len(names) > 1]


def _find_damaged(con: duckdb.DuckDBPyConnection, path: Path, tmp_dir: Path,
                  exc: BaseException, name: str | None = None) -> InputError:
    """The error for a Parquet source DuckDB could not read, naming the bad part file of a
    folder where one has an unreadable footer."""
    if path.is_dir():
        for part in part_files(path):
            try:
                with scan(part, tmp_dir) as params:
                    con.execute(_DESCRIBE, params).fetchall()
            except duckdb.Error as part_exc:
                return damaged(path, part_exc, part, name)
    return damaged(path, exc, name=name)


def schema(con: duckdb.DuckDBPyConnection, path: Path, tmp_dir: Path,
           name: str | None = None) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column; ``InputError`` (showing ``name``) for a damaged
    file."""
    try:
        with scan(path, tmp_dir) as params:
            rows = con.execute(_DESCRIBE, params).fetchall()
    except duckdb.Error as exc:
        raise _find_damaged(con, path, tmp_dir, exc, name) from None
    return [(str(r[0]), str(r[1])) for r in rows]


def header(path: Path, tmp_dir: Path) -> list[str]:
    """The column names of a Parquet file or folder (its footers only are read)."""
    con = duckdb.connect()
    try:
        return [name for name, _ in schema(con, path, tmp_dir)]
    finally:
        con.close()


def _zone(path: Path, column: str) -> str | None:
    """The time zone a timestamp column names in the file's Arrow schema (pandas, pyarrow and
    Polars write one), or None (Spark and most others store UTC instants without one)."""
    try:
        import pyarrow.parquet as pq

        for f in sources(path):
            fields = pq.read_schema(f)
            if column in fields.names:
                return getattr(fields.field(column).type, "tz", None)
    except Exception:  # noqa: BLE001 - no pyarrow, an odd schema: the time in UTC
        return None
    return None


def _tz_expr(con: duckdb.DuckDBPyConnection, col: str, zone: str | None) -> tuple[str, list]:
    """A TIMESTAMPTZ column as plain wall-clock time in ``zone`` (a name or ``+HH:MM``), else
    UTC: never the session's time zone, never an offset suffix."""
    m = _OFFSET.match(zone or "")
    if m:
        minutes = (int(m.group(2)) * 60 + int(m.group(3))) * (-1 if m.group(1) == "-" else 1)
        return f"CAST(timezone('UTC', {col}) + to_minutes(?::BIGINT) AS VARCHAR)", [minutes]
    if zone and zone.upper() != "UTC":
        try:
            con.execute(_ZONE_CHECK, [zone]).fetchall()
            return f"CAST(timezone(?::VARCHAR, {col}) AS VARCHAR)", [zone]
        except duckdb.Error:
            pass  # a zone name DuckDB does not know: UTC
    return f"CAST(timezone('UTC', {col}) AS VARCHAR)", []


def text_exprs(con: duckdb.DuckDBPyConnection, path: Path,
               columns: list[tuple[str, str]]) -> list[tuple[str, list]]:
    """SQL reading each column (``f0..fN`` of ``src``) as text, with the parameters it binds."""
    out: list[tuple[str, list]] = []
    for i, (name, dtype) in enumerate(columns):
        col = f"src.f{i}"
        if dtype.startswith("TIMESTAMP WITH TIME ZONE"):
            out.append(_tz_expr(con, col, _zone(path, name)))
        elif dtype in _TIMESTAMPS:
            out.append((f"CAST(CAST({col} AS TIMESTAMP) AS VARCHAR)", []))
        elif dtype in _FLOATS:
            out.append((f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) AND abs({col}) < "
                        f"1e15 THEN CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR) "
                        f"ELSE CAST({col} AS VARCHAR) END", []))
        else:
            out.append((f"CAST({col} AS VARCHAR)", []))
    return out


def _select(exprs: list[tuple[str, list]], extra: str = "") -> tuple[str, list]:
    """The select list ``<expr> AS c0, ...`` (plus ``extra``) and its parameters, in order."""
    items = [f"{e} AS c{k}" for k, (e, _) in enumerate(exprs)] + ([extra] if extra else [])
    return ", ".join(items), [v for _, bound in exprs for v in bound]


def _source(columns: list[tuple[str, str]]) -> str:
    return f"{_SCAN} AS src({', '.join(f'f{i}' for i in range(len(columns)))})"


def load(con: duckdb.DuckDBPyConnection, table: str, path: Path, tmp_dir: Path,
         name: str) -> None:
    """Temp table ``table`` (a plain identifier): ``line_no`` (1-based, in file order: the part
    files in sorted order, then their rows; ``rawread.configure`` keeps insertion order) and
    every column as text, ``c0..cN``. ``InputError`` for a damaged file."""
    columns = schema(con, path, tmp_dir, name)
    cols, params = _select(text_exprs(con, path, columns))
    create_sql = (f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () AS line_no, {cols} "
                  f"FROM {_source(columns)}")
    try:
        with scan(path, tmp_dir) as scan_params:
            con.execute(create_sql, params + scan_params)
    except duckdb.Error as exc:
        drop_sql = f"DROP TABLE IF EXISTS {table}"
        con.execute(drop_sql)
        if "out of memory" in str(exc).lower():
            raise
        raise _find_damaged(con, path, tmp_dir, exc, name) from None


def head_rows(path: Path, tmp_dir: Path, limit: int) -> list[list[str]]:
    """The first ``limit`` rows as text (empty for NULL), as ``load`` reads them."""
    con = duckdb.connect()
    try:
        columns = schema(con, path, tmp_dir)
        cols, params = _select(text_exprs(con, path, columns))
        head_sql = f"SELECT {cols} FROM {_source(columns)} LIMIT ?"
        try:
            with scan(path, tmp_dir) as scan_params:
                rows = con.execute(head_sql, params + scan_params + [limit]).fetchall()
        except duckdb.Error as exc:
            raise _find_damaged(con, path, tmp_dir, exc) from None
    finally:
        con.close()
    return [["" if v is None else v for v in row] for row in rows]


def narrow(con: duckdb.DuckDBPyConnection, path: Path, keep: list[int], tmp_dir: Path,
           name: str | None = None) -> Path:
    """A temp Parquet file of the columns at ``keep`` (as text, ``c0..``) and a digest of each
    whole row (the last column), written batch by batch."""
    import pyarrow.parquet as pq

    columns = schema(con, path, tmp_dir, name)
    exprs = text_exprs(con, path, columns)
    cols, params = _select([exprs[i] for i in keep], f"md5(CAST(src AS VARCHAR)) AS c{len(keep)}")
    narrow_sql = f"SELECT {cols} FROM {_source(columns)}"
    out = temp_csv(tmp_dir, ".parquet")
    try:
        with scan(path, tmp_dir) as scan_params:
            rel = con.sql(narrow_sql, params=params + scan_params)
            batches = getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch  # DuckDB 1
            reader = batches(BATCH_ROWS)
            with pq.ParquetWriter(out, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
    except duckdb.Error as exc:
        out.unlink(missing_ok=True)
        raise _find_damaged(con, path, tmp_dir, exc, name) from None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out
