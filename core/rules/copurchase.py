"""Co-purchase counts computed elsewhere (the Spark engine, ``core.engines.spark.mining``) and
read back for the steps that need them: fine-tuning pairs (``core.text.pairs``), bundle
candidates (``core.bundles.candidates``) and the Item similarity page.

The table is ``lake/<dataset>/pairs-<stamp>.parquet``, ``stamp`` naming the load it counted (the
dataset's version and load time: a re-load, or a delete and a new load of the same name, never
finds an older table). Items are integer codes: one row per item (a = b = its code, ``item_id``,
``orders``: its number of orders) and one row per pair bought together (a < b, ``orders`` >= 1,
no ``item_id``). It describes all orders of that load.

``stored_pair_counts`` hands it out only for baskets that are exactly those orders: every item's
order count must be equal (callers build baskets from the dataset's orders or a subset of them,
and every order holds an item, so equal counts mean the same orders). It reads the item rows
first and the pairs only when they match. Anything else (a training period, another load, a
missing or unreadable file) gets None, and the caller counts from its baskets as before: the
table only ever saves work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import Baskets
from core.workspace import Workspace


@dataclass(frozen=True)
class PairCounts:
    """``matrix``: items x items orders holding both (int64, symmetric, zero diagonal, sorted
    indices); ``item_orders``: orders holding each item (the baskets' column sums)."""

    matrix: sp.csr_matrix
    item_orders: np.ndarray

    def fits(self, item_orders: np.ndarray) -> bool:
        """Whether baskets with these per-item order counts are the orders counted here."""
        return np.array_equal(self.item_orders, np.asarray(item_orders))


def load_stamp(ws: Workspace, name: str) -> str | None:
    """The dataset's current load (version and load time) as a file-name part, or None."""
    row = ws.query("SELECT version, created_at FROM datasets WHERE name = ?", [name])
    if row.empty:
        return None
    return f"v{int(row['version'].iloc[0])}-{pd.Timestamp(row['created_at'].iloc[0]):%Y%m%d%H%M%S%f}"


def pairs_file(ws: Workspace, name: str, stamp: str) -> Path:
    return ws.lake_dir / name / f"pairs-{stamp}.parquet"


def write_pairs(ws: Workspace, name: str, stamp: str, item_ids: np.ndarray,
                item_orders: np.ndarray, a: np.ndarray, b: np.ndarray,
                orders: np.ndarray) -> Path | None:
    """Keep the counts of load ``stamp``: items (code = position in ``item_ids``) with their
    order counts, pairs of codes ``a`` < ``b`` with theirs. Written whole or not at all; tables
    of other loads are removed. None (and nothing kept) when the dataset was re-loaded
    meanwhile."""
    n = len(item_ids)
    codes = np.arange(n, dtype=np.int32)
    table = pd.DataFrame({
        "a": np.concatenate([codes, np.asarray(a, dtype=np.int32)]),
        "b": np.concatenate([codes, np.asarray(b, dtype=np.int32)]),
        "orders": np.concatenate([np.asarray(item_orders), np.asarray(orders)]).astype(np.int64),
        "item_id": pd.array(list(map(str, item_ids)) + [None] * len(a), dtype="string")})
    path = pairs_file(ws, name, stamp)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with duckdb.connect() as con:
        con.register("pair_table", table)
        con.execute("COPY pair_table TO ? (FORMAT parquet)", [str(tmp)])
    tmp.replace(path)
    if load_stamp(ws, name) != stamp:  # re-loaded while counting: these are other orders
        path.unlink(missing_ok=True)
        return None
    for old in path.parent.glob("pairs-*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def stored_pair_counts(ws: Workspace, name: str, baskets: Baskets) -> PairCounts | None:
    """The kept counts in ``baskets``' item order, or None when none are kept for the dataset's
    current load or they do not describe exactly ``baskets``' orders (see the module
    docstring)."""
    if not any((ws.lake_dir / name).glob("pairs-*.parquet")):
        return None  # the usual case (no Spark run): the workspace is not even opened
    stamp = load_stamp(ws, name)
    path = pairs_file(ws, name, stamp) if stamp else None
    if path is None or not path.exists():
        return None
    try:
        with duckdb.connect() as con:
            items = con.execute("SELECT a, item_id, orders FROM read_parquet(?) WHERE a = b "
                                "ORDER BY a", [str(path)]).df()
            col = pd.Index(np.asarray(baskets.item_ids, dtype=object).astype(str)).get_indexer(
                items["item_id"].astype(str))
            if (col < 0).any():
                return None  # items the baskets do not know: other orders
            counts = np.zeros(baskets.n_items, dtype=np.int64)
            counts[col] = items["orders"].to_numpy(np.int64)
            if not np.array_equal(counts, baskets.item_counts()):
                return None
            pairs = con.execute("SELECT a, b, orders FROM read_parquet(?) WHERE a <> b",
                                [str(path)]).fetchnumpy()
    except (duckdb.Error, OSError):  # unreadable: count on the driver instead
        return None
    code_col = np.full(int(items["a"].max()) + 1 if len(items) else 0, -1, dtype=np.int64)
    code_col[items["a"].to_numpy(np.int64)] = col
    a, b = code_col[np.asarray(pairs["a"], np.int64)], code_col[np.asarray(pairs["b"], np.int64)]
    n = np.asarray(pairs["orders"], np.int64)
    m = sp.csr_matrix((np.concatenate([n, n]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                      shape=(baskets.n_items, baskets.n_items), dtype=np.int64)
    m.sum_duplicates()
    m.sort_indices()
    return PairCounts(m, counts)


def stored_cooccurrence(ws: Workspace, name: str, baskets: Baskets) -> sp.csr_matrix | None:
    """``core.text.pairs.cooccurrence(baskets)`` from the kept counts, or None."""
    kept = stored_pair_counts(ws, name, baskets)
    return None if kept is None else kept.matrix
