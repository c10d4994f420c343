"""Saved bundle lists: the ``bundle_lists`` table of the workspace (docs/ARCHITECTURE.md §4).

Every save is a new list (versioned, newest first); a list remembers its settings, the dataset
version and cut it was built from, its bundles and coverage table and its notes. The table is
created here, in one place (``_table``), the first time a list is saved or read; the dataset's
rows go with it when the dataset is deleted (``Workspace.delete`` clears every table with a
``dataset`` column).
"""

from __future__ import annotations

import io
import json
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import duckdb
import pandas as pd

from core.bundles.params import AGAIN, BUILDING, BundleResult
from core.errors import BundleLabError, DatasetChanged, check_version
from core.workspace import Workspace, _now

LISTS_SQL = """CREATE TABLE IF NOT EXISTS bundle_lists (
    list_id VARCHAR PRIMARY KEY, dataset VARCHAR, created_at TIMESTAMP, label VARCHAR,
    params VARCHAR, data_version INTEGER, cut VARCHAR, n_bundles INTEGER, seconds DOUBLE,
    bundles VARCHAR, coverage VARCHAR, notes VARCHAR)"""


@contextmanager
def _table(ws: Workspace) -> Iterator[duckdb.DuckDBPyConnection]:
    """A workspace connection on which the ``bundle_lists`` table exists."""
    with ws.connect() as con:
        con.execute(LISTS_SQL)
        yield con


def save_list(ws: Workspace, dataset: str, result: BundleResult, *, cut: Any = None,
              label: str | None = None, version: int | None = None) -> str:
    """Store a bundle list (versioned: every save is a new list) and return its id. With
    ``version`` (the dataset version the list was built from) nothing is stored and
    ``DatasetChanged`` is raised when the dataset is at another version now (checked in the
    same transaction as the insert)."""
    list_id = uuid.uuid4().hex[:10]
    if version is None:
        version = ws.info(dataset)["version"]
    with _table(ws) as con:
        con.begin()
        row = con.execute("SELECT version FROM datasets WHERE name = ?", [dataset]).fetchone()
        changed = row is None or row[0] != version
        if changed:
            con.rollback()
        else:
            con.execute("INSERT INTO bundle_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                list_id, dataset, _now(), label or f"{len(result.bundles)} bundles",
                json.dumps(result.params, default=str), version, str(cut) if cut else None,
                len(result.bundles), result.seconds,
                result.bundles.to_json(orient="records"),
                result.coverage.to_json(orient="records"), json.dumps(result.notes)])
            con.commit()
    if changed:  # outside the connection: the check opens its own
        check_version(ws, dataset, version, doing=BUILDING, again=AGAIN)
        raise DatasetChanged(f"dataset {dataset} changed while bundles were being built; "
                             f"nothing was saved: {AGAIN}")  # pragma: no cover - a race
    return list_id


def bundle_lists(ws: Workspace, dataset: str | None = None) -> pd.DataFrame:
    """Saved lists, newest first: list_id, created_at, label, n_bundles, data_version, cut."""
    name = ws.resolve(dataset)
    with _table(ws) as con:
        return con.execute("SELECT list_id, created_at, label, n_bundles, data_version, cut "
                           "FROM bundle_lists WHERE dataset = ? ORDER BY created_at DESC",
                           [name]).df()


def load_list(ws: Workspace, list_id: str) -> tuple[pd.DataFrame, dict]:
    """A saved list's bundles table and its params."""
    with _table(ws) as con:
        row = con.execute("SELECT bundles, params FROM bundle_lists WHERE list_id = ?",
                          [list_id]).fetchone()
    if row is None:
        raise BundleLabError(f"no saved bundle list {list_id!r} in this workspace")
    return pd.read_json(io.StringIO(row[0]), orient="records"), json.loads(row[1])
