"""The workspace: one directory holding ``bundlelab.duckdb`` (datasets, cleaned order lines, items,
cleaning reports, runs, bundle lists), ``uploads/`` (raw uploads, kept so a different cleaning
choice can be re-run) and ``models/`` (fine-tuned encoders, recommender weights).

DuckDB allows one writer per file. Connections are short-lived and serialised inside a process;
when another process holds the lock the caller gets ``WorkspaceBusy`` after a short retry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from core.config import DB_FILE, workspace_dir
from core.errors import BundleLabError, DatasetNotFound, WorkspaceBusy, friendly
from core.files import atomic_dir
from core.sql import ident

_LOCK = threading.RLock()
_SWEPT: set[Path] = set()  # workspace roots swept for leftovers by this process
_SWEPT_LOCK = threading.Lock()
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,79}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name VARCHAR PRIMARY KEY, created_at TIMESTAMP, source VARCHAR, catalog VARCHAR,
    version INTEGER, summary VARCHAR, options VARCHAR);
CREATE TABLE IF NOT EXISTS lines (
    dataset VARCHAR, line_no BIGINT, order_id VARCHAR, item_id VARCHAR, quantity DOUBLE,
    unit_price DOUBLE, customer_id VARCHAR, "timestamp" TIMESTAMP);
CREATE TABLE IF NOT EXISTS items (
    dataset VARCHAR, item_id VARCHAR, item_name VARCHAR, category VARCHAR, price DOUBLE,
    cost DOUBLE, n_orders BIGINT, n_lines BIGINT, quantity DOUBLE, first_seen TIMESTAMP,
    last_seen TIMESTAMP, in_catalog BOOLEAN);
CREATE TABLE IF NOT EXISTS dropped_examples (
    dataset VARCHAR, reason VARCHAR, line_no BIGINT, detail VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, dataset VARCHAR, kind VARCHAR, created_at TIMESTAMP,
    params VARCHAR, data_version INTEGER, seconds DOUBLE, metrics VARCHAR, artifact VARCHAR);
"""


# The statements removing one dataset's rows from the base tables (bound: the dataset name).
DELETE_DATASET = ("DELETE FROM lines WHERE dataset = ?", "DELETE FROM items WHERE dataset = ?",
                  "DELETE FROM dropped_examples WHERE dataset = ?",
                  "DELETE FROM datasets WHERE name = ?")
LINE_COLUMNS = ("line_no", "order_id", "item_id", "quantity", "unit_price", "customer_id",
                "timestamp")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_dataset_name(name: str) -> str:
    """A dataset name: letters, digits, ``_ . -`` and spaces, at most 80 characters."""
    name = (name or "").strip()
    if not _NAME_RE.match(name):
        raise BundleLabError(
            f"dataset name {name!r} is not allowed: use letters, digits, '_', '-', '.' or spaces "
            "(at most 80 characters, starting with a letter or digit), e.g. --dataset my_shop"
        )
    return name


class Workspace:
    """A BundleLab workspace directory. Cheap to construct; opens DuckDB only inside ``connect``."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.root = workspace_dir(path).resolve()
        self.db_path = self.root / DB_FILE
        self.models_dir = self.root / "models"
        self.uploads_dir = self.root / "uploads"
        self.lake_dir = self.root / "lake"  # Parquet tables of the Spark engine, per dataset
        self.tmp_dir = self.root / "tmp"
        self.incoming_dir = self.root / "incoming"  # uploads not yet loaded (the Upload page)
        with _SWEPT_LOCK:
            first_open = self.root not in _SWEPT
            _SWEPT.add(self.root)
        if first_open:
            self.sweep_leftovers()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # ------------------------------------------------------------------ leftovers
    def sweep_leftovers(self, *, max_age: float | None = None) -> list[Path]:
        """Remove temp entries that a killed process left behind: ``uploads/.staging-*``,
        ``tmp/ingest-*``, ``incoming/*`` (and ``uploads/.incoming/*`` of older versions) and the
        hidden temp folders/files of ``models/<dataset>/`` (``.encoder-*``, ``recommender/.*``,
        ``vectors/.*``). An entry goes when the process named in it (``p<PID>-``, see
        ``core.files.owned_name``) has exited, or, naming none, when nothing in it changed for
        ``max_age`` seconds (default 6 hours). Uploads a dataset still reads from stay. Runs once
        per workspace and process from ``__init__``; best effort, never raises. Returns what it
        removed."""
        from core.files import STALE_SECONDS, is_stale, remove

        max_age = STALE_SECONDS if max_age is None else max_age
        now = time.time()
        removed: list[Path] = []
        candidates: list[tuple[Path, bool]] = []  # (path, may be a dataset's stored upload)
        try:
            if not self.root.is_dir():
                return removed
            for pattern, root in ((".staging-*", self.uploads_dir), ("ingest-*", self.tmp_dir)):
                candidates += [(p, False) for p in root.glob(pattern)]
            for folder in (self.incoming_dir, self.uploads_dir / ".incoming"):
                candidates += [(p, True) for p in folder.glob("*")]
            for ds in self.models_dir.glob("*"):
                for folder in (ds, ds / "recommender", ds / "vectors"):
                    candidates += [(p, False) for p in folder.glob(".*")]
        except OSError:
            pass
        referenced: list[set[Path] | None] = []  # read once, when first needed
        for path, maybe_used in candidates:
            try:
                if not is_stale(path, now=now, max_age=max_age):
                    continue
                if maybe_used:
                    if not referenced:
                        referenced.append(self._stored_uploads())
                    used = referenced[0]
                    if used is None or any(path == r or path in r.parents for r in used):
                        continue  # a dataset reads from it (or the database is busy)
                remove(path)
                removed.append(path)
            except Exception:  # vanished meanwhile, no permission, ...
                continue
        return removed

    def _stored_uploads(self) -> set[Path] | None:
        """The uploads the datasets were loaded from (their ``source``/``catalog``); None when the
        database cannot be read now."""
        if not self.db_path.exists():
            return set()
        if not _LOCK.acquire(blocking=False):  # a connection of this process is open
            return None
        try:
            con = duckdb.connect(str(self.db_path), read_only=True)
            try:
                rows = con.execute("SELECT source, catalog FROM datasets").fetchall()
            finally:
                con.close()
        except Exception:  # locked by another process, damaged, ...: keep the uploads
            return None
        finally:
            _LOCK.release()
        return {(self.root / p).resolve() for row in rows for p in row if p}

    # ------------------------------------------------------------------ connections
    def _ensure(self) -> None:
        if self.db_path.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with self.connect(read_only=False):
            pass

    @contextmanager
    def connect(self, *, read_only: bool = False, wait: float = 3.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection, closed on exit. Writes go inside ``con.begin()``/``commit()`` by the
        caller. Raises ``WorkspaceBusy`` when another process holds the file lock for ``wait`` s."""
        if read_only and not self.db_path.exists():
            self._ensure()
        with _LOCK:
            deadline = time.monotonic() + wait
            while True:
                try:
                    self.root.mkdir(parents=True, exist_ok=True)
                    con = duckdb.connect(str(self.db_path), read_only=read_only)
                    break
                except duckdb.IOException as exc:  # lock held by another process
                    msg = str(exc)
                    if (damaged := friendly(exc, self)) is not None:  # junk or truncated file
                        raise damaged from None
                    if "lock" not in msg.lower():
                        raise
                    if time.monotonic() >= deadline:
                        pid = re.search(r"PID (\d+)", msg)
                        who = f" (process {pid.group(1)})" if pid else ""
                        raise WorkspaceBusy(
                            f"workspace busy: another BundleLab process{who} is writing to "
                            f"{self.db_path}. Wait for it to finish and try again, or use another "
                            "workspace with --workspace DIR."
                        ) from None
                    time.sleep(0.2)
                except duckdb.Error as exc:  # e.g. "Corrupt database file: ... checksum ..."
                    if (damaged := friendly(exc, self)) is not None:
                        raise damaged from None
                    raise
            try:
                con.execute("SET TimeZone='UTC'")
                if not read_only:
                    self.tmp_dir.mkdir(parents=True, exist_ok=True)
                    con.execute("SET temp_directory = ?", [self.tmp_dir.as_posix()])
                    con.execute(SCHEMA)
                yield con
            finally:
                con.close()

    # ------------------------------------------------------------------ datasets
    def datasets(self) -> pd.DataFrame:
        """Columns: name, created_at, source, catalog, version, rows_kept, orders, items."""
        if not self.db_path.exists():
            return pd.DataFrame(columns=["name", "created_at", "source", "catalog", "version",
                                         "rows_kept", "orders", "items"])
        with self.connect(read_only=True) as con:
            df = con.execute(
                "SELECT name, created_at, source, catalog, version, summary FROM datasets "
                "ORDER BY created_at").df()
        summ = [json.loads(s) if s else {} for s in df.pop("summary")]
        for key in ("rows_kept", "orders", "items"):
            df[key] = [s.get(key) for s in summ]
        return df

    def resolve(self, name: str | None = None) -> str:
        """The named dataset, or the only/most recent one when ``name`` is None."""
        names = self.datasets()["name"].tolist()
        if not names:
            raise DatasetNotFound(
                f"the workspace {self.root} has no dataset yet: load one with "
                "`python -m core ingest FILE` or on the Upload page")
        if name is None:
            return names[-1]
        if name not in names:
            raise DatasetNotFound(
                f"no dataset named {name!r} in {self.root}; datasets here: {', '.join(names)}")
        return name

    def info(self, name: str | None = None) -> dict[str, Any]:
        """The ingest summary of a dataset (the JSON of docs/ARCHITECTURE.md §7) plus version and options."""
        name = self.resolve(name)
        with self.connect(read_only=True) as con:
            row = con.execute("SELECT summary, version, options, source, catalog FROM datasets "
                              "WHERE name = ?", [name]).fetchone()
        out = json.loads(row[0])
        out.update(version=row[1], options=json.loads(row[2] or "{}"), source=row[3], catalog=row[4])
        return out

    def delete(self, name: str) -> None:
        """Remove a dataset with its lines, items, report, runs, uploads, models and the Spark
        engine's Parquet copy (``lake/``)."""
        name = self.resolve(name)
        with self.connect() as con:
            con.begin()
            for statement in DELETE_DATASET + ("DELETE FROM runs WHERE dataset = ?",):
                con.execute(statement, [name])
            for table in self._extra_tables(con):
                delete_sql = f"DELETE FROM {ident(table)} WHERE dataset = ?"
                con.execute(delete_sql, [name])
            con.commit()
        for d in (self.uploads_dir / name, self.models_dir / name, self.lake_dir / name):
            shutil.rmtree(d, ignore_errors=True)

    @staticmethod
    def _extra_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
        """Tables added by later stages (e.g. bundle lists) that carry a ``dataset`` column."""
        rows = con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'dataset' "
            "AND table_name NOT IN ('lines','items','dropped_examples','runs')").fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ data access
    def lines(self, name: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Cleaned order lines in file order. Columns: line_no, order_id, item_id, quantity,
        unit_price, customer_id, timestamp (or the subset ``columns``)."""
        name = self.resolve(name)
        cols = list(columns or LINE_COLUMNS)
        unknown = set(cols) - set(LINE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown line columns: {sorted(unknown)}")
        select = (f"SELECT {', '.join(ident(c) for c in cols)} FROM lines WHERE dataset = ? "
                  "ORDER BY line_no")
        with self.connect(read_only=True) as con:
            return con.execute(select, [name]).df()

    def items(self, name: str | None = None) -> pd.DataFrame:
        """One row per known item (sold or catalog-only). Columns: item_id, item_name, category,
        price (median unit price), cost, n_orders, n_lines, quantity, first_seen, last_seen,
        in_catalog."""
        name = self.resolve(name)
        with self.connect(read_only=True) as con:
            return con.execute(
                "SELECT * EXCLUDE (dataset) FROM items WHERE dataset = ? "
                "ORDER BY n_orders DESC, item_id", [name]).df()

    def dropped_examples(self, name: str | None = None) -> pd.DataFrame:
        """Columns: reason, line_no, detail (the raw row as JSON)."""
        name = self.resolve(name)
        with self.connect(read_only=True) as con:
            return con.execute("SELECT reason, line_no, detail FROM dropped_examples WHERE "
                               "dataset = ? ORDER BY reason, line_no", [name]).df()

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """A read-only SQL query (for overview charts and tests)."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).df()

    # ------------------------------------------------------------------ runs and artifacts
    def record_run(self, dataset: str, kind: str, *, params: dict, seconds: float,
                   metrics: dict | None = None, artifact: str | None = None) -> str:
        """Record a finished run (mining, fine-tune, training, bundles, evaluation)."""
        run_id = uuid.uuid4().hex[:12]
        version = self.info(dataset)["version"]
        with self.connect() as con:
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, dataset, kind, _now(), json.dumps(params, default=str), version,
                         float(seconds), json.dumps(metrics or {}, default=str), artifact])
        return run_id

    def runs(self, dataset: str | None = None, kind: str | None = None) -> pd.DataFrame:
        """Columns: run_id, dataset, kind, created_at, params, data_version, seconds, metrics,
        artifact (params and metrics as JSON text), newest first."""
        if not self.db_path.exists():
            return pd.DataFrame()
        sql, args = "SELECT * FROM runs WHERE 1=1", []
        if dataset:
            sql, args = sql + " AND dataset = ?", args + [dataset]
        if kind:
            sql, args = sql + " AND kind = ?", args + [kind]
        with self.connect(read_only=True) as con:
            return con.execute(sql + " ORDER BY created_at DESC", args).df()

    def model_dir(self, dataset: str, kind: str) -> Path:
        """``models/<dataset>/<kind>`` (not created)."""
        return self.models_dir / dataset / kind

    def atomic_dir(self, target: Path) -> AbstractContextManager[Path]:
        """Write a directory atomically (``core.files.atomic_dir``): yields a temp directory next
        to ``target``; on success it replaces ``target`` by rename, on any exception
        (``Cancelled`` included) it is removed."""
        return atomic_dir(target)
