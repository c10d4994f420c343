"""Co-purchase counts computed elsewhere (the Spark engine, ``core.engines.spark.pairs``) and
read back for the steps that need them: fine-tuning pairs (``core.text.pairs``), bundle
candidates (``core.bundles.candidates``) and the Item similarity page.

The table is ``lake/<dataset>/v<version>-pairs.parquet``: one row per pair of items bought
together (item_a < item_b, orders >= 1) and one row per item with item_a = item_b, its number
of orders. It describes all orders of that version. ``stored_cooccurrence`` hands it out only
for baskets that are exactly those orders: every item's order count must be equal (the baskets
a caller builds are the dataset's orders or a subset, and every order holds an item, so equal
counts mean the same orders). Anything else (a training period, an older version, a missing
file) gets None, and the caller counts from its baskets as before.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import Baskets
from core.workspace import Workspace

COLUMNS = ("item_a", "item_b", "orders")


def pairs_file(ws: Workspace, name: str, version: int) -> Path:
    """Where the co-purchase counts of dataset ``name`` at ``version`` are kept."""
    return ws.lake_dir / name / f"v{int(version)}-pairs.parquet"


def write_pairs(ws: Workspace, name: str, version: int, pairs: pd.DataFrame,
                item_orders: pd.DataFrame) -> Path:
    """Keep ``pairs`` (item_a, item_b, orders) and ``item_orders`` (item_id, orders) for
    dataset ``name`` at ``version``; written whole or not at all."""
    diag = pd.DataFrame({"item_a": item_orders["item_id"], "item_b": item_orders["item_id"],
                         "orders": item_orders["orders"]})
    table = pd.concat([pairs[list(COLUMNS)], diag], ignore_index=True)
    table["orders"] = table["orders"].astype(np.int64)
    path = pairs_file(ws, name, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with duckdb.connect() as con:
        con.register("pair_table", table)
        con.execute("COPY pair_table TO ? (FORMAT parquet)", [str(tmp)])
    tmp.replace(path)
    return path


def stored_cooccurrence(ws: Workspace, name: str, baskets: Baskets) -> sp.csr_matrix | None:
    """``core.text.pairs.cooccurrence(baskets)`` from the kept table (items x items, int64,
    symmetric, zero diagonal, sorted indices), or None when none is kept for the dataset's
    current version or it does not describe exactly ``baskets``' orders."""
    if not any((ws.lake_dir / name).glob("v*-pairs.parquet")):
        return None  # the usual case (no Spark run): the workspace is not even opened
    path = pairs_file(ws, name, int(ws.info(name)["version"]))
    if not path.exists():
        return None
    with duckdb.connect() as con:
        table = con.execute("SELECT item_a, item_b, orders FROM read_parquet(?)",
                            [str(path)]).df()
    index = pd.Index(np.asarray(baskets.item_ids, dtype=object).astype(str))
    a = index.get_indexer(table["item_a"].astype(str))
    b = index.get_indexer(table["item_b"].astype(str))
    n = table["orders"].to_numpy(np.int64)
    if (a < 0).any() or (b < 0).any():
        return None  # items the baskets do not know: other orders
    same = a == b
    counts = np.zeros(baskets.n_items, dtype=np.int64)
    counts[a[same]] = n[same]
    if not np.array_equal(counts, baskets.item_counts()):
        return None
    a, b, n = a[~same], b[~same], n[~same]
    c = sp.csr_matrix((np.concatenate([n, n]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                      shape=(baskets.n_items, baskets.n_items), dtype=np.int64)
    c.sum_duplicates()
    c.sort_indices()
    return c
