"""Item similarity views over item vectors: nearest neighbours, neighbour tables with
co-purchase counts and a 2-D map (PCA). Pure functions over arrays and DataFrames (the Item
similarity page renders them), except ``copurchase_counts``, which reads the dataset's orders."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import build_baskets, lines_before
from core.rules.copurchase import stored_cooccurrence
from core.rules.levels import product_types
from core.text.pairs import cooccurrence
from core.topk import top_k
from core.workspace import Workspace

MAX_GROUPS = 12  # colours a scatter plot can still tell apart


def copurchase_counts(ws: Workspace, dataset: str, item_ids, *, cut=None) -> sp.csr_matrix:
    """Items x items matrix of orders holding both items (rows/columns follow ``item_ids``),
    over orders before ``cut`` (all orders when None); zero diagonal."""
    lines = lines_before(ws.lines(dataset, columns=["order_id", "item_id", "timestamp"]), cut)
    baskets = build_baskets(lines, item_ids=[str(i) for i in item_ids])
    stored = stored_cooccurrence(ws, dataset, baskets)  # counted on Spark: all orders only
    return cooccurrence(baskets) if stored is None else stored


def neighbours(vectors: np.ndarray, query: Iterable[int] | int,
               k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` cosine neighbours of the rows ``query`` among all rows (itself excluded).
    Returns ``(indices, scores)``, each shaped (len(query), k); ties go to the lower index."""
    q = np.atleast_1d(np.asarray(query, dtype=np.int64))
    sims = vectors[q] @ vectors.T
    sims[np.arange(len(q)), q] = -np.inf
    order = top_k(sims, min(k, max(0, vectors.shape[0] - 1)))
    return order, np.take_along_axis(sims, order, axis=1)


def neighbour_table(items: pd.DataFrame, vectors: np.ndarray, index: int, *, k: int = 10,
                    cocounts: sp.csr_matrix | None = None) -> pd.DataFrame:
    """The ``k`` nearest items to row ``index`` by cosine similarity (itself excluded; ties go
    to the lower row). ``items`` rows follow ``vectors`` rows. Columns: rank, item_id,
    item_name, similarity, orders_together (None without ``cocounts``)."""
    idx, sims = neighbours(vectors, index, k)
    idx, sims = idx[0], sims[0]
    together = (np.asarray(cocounts[index].toarray()).ravel()[idx].astype(int)
                if cocounts is not None else [None] * len(idx))
    return pd.DataFrame({
        "rank": np.arange(1, len(idx) + 1),
        "item_id": items["item_id"].to_numpy()[idx].astype(str),
        "item_name": items["item_name"].fillna(items["item_id"]).to_numpy()[idx].astype(str),
        "similarity": np.round(sims.astype(float), 3),
        "orders_together": together,
    })


def product_group(items: pd.DataFrame, *, max_groups: int = MAX_GROUPS) -> pd.Series:
    """A colour group per item: its category, or (data without categories) a rough product type
    from its name (``core.rules.levels.product_types``: BAG, MUG, CANDLE ...). The ``max_groups`` most common groups are
    kept, the rest become "other"."""
    if "category" in items and items["category"].notna().any():
        group = items["category"].fillna("(none)").astype(str)
    else:
        group = product_types(items["item_name"]).fillna("(no type)")
    top = group.value_counts().index[:max_groups]
    return group.where(group.isin(top), "other").rename("group")


def item_map(items: pd.DataFrame, vectors: np.ndarray, *, max_groups: int = MAX_GROUPS
             ) -> tuple[pd.DataFrame, tuple[float, float]]:
    """2-D coordinates of every item (PCA of its vector, by SVD). Returns the table (columns
    item_id, item_name, group, n_orders, x, y) and the share of variance of each axis."""
    v = np.asarray(vectors, dtype=np.float64)
    centred = v - v.mean(axis=0, keepdims=True)
    if len(v) >= 2:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        comps = vt[:2]
        share = (s ** 2) / max(float((s ** 2).sum()), 1e-12)  # all vectors equal: no variance
        coords = centred @ comps.T
        if coords.shape[1] < 2:  # a single feature dimension
            coords = np.column_stack([coords, np.zeros(len(coords))])
        ratio = (float(share[0]), float(share[1]) if len(share) > 1 else 0.0)
    else:
        coords, ratio = np.zeros((len(v), 2)), (0.0, 0.0)
    table = pd.DataFrame({
        "item_id": items["item_id"].astype(str).to_numpy(),
        "item_name": items["item_name"].fillna(items["item_id"]).astype(str).to_numpy(),
        "group": product_group(items, max_groups=max_groups).to_numpy(),
        "n_orders": items["n_orders"].fillna(0).astype(int).to_numpy()
        if "n_orders" in items else 0,
        "x": coords[:, 0], "y": coords[:, 1],
    })
    return table, ratio
