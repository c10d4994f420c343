"""Item similarity views over item vectors: neighbour tables with co-purchase counts and a 2-D
map (PCA). Pure functions over arrays and DataFrames (the Item similarity page renders them)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import build_baskets, temporal_split
from core.workspace import Workspace

_WORD = re.compile(r"[A-Za-z]{3,}")


def copurchase_counts(ws: Workspace, dataset: str, item_ids, *, cut=None) -> sp.csr_matrix:
    """Items x items matrix of orders holding both items (rows/columns follow ``item_ids``),
    over orders before ``cut`` (all orders when None); zero diagonal."""
    lines = ws.lines(dataset, columns=["order_id", "item_id", "timestamp"])
    if cut is not None:
        lines = temporal_split(lines, cut).train
    b = build_baskets(lines, item_ids=[str(i) for i in item_ids])
    x = b.matrix.astype(np.int32)
    co = (x.T @ x).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    return co


def neighbour_table(items: pd.DataFrame, vectors: np.ndarray, index: int, *, k: int = 10,
                    cocounts: sp.csr_matrix | None = None) -> pd.DataFrame:
    """The ``k`` nearest items to row ``index`` by cosine similarity (itself excluded; ties go
    to the lower row). ``items`` rows follow ``vectors`` rows. Columns: rank, item_id,
    item_name, similarity, orders_together (None without ``cocounts``)."""
    from core.text.encoder import neighbours

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


def product_group(items: pd.DataFrame, *, max_groups: int = 12) -> pd.Series:
    """A colour group per item: its category, or (data without categories) the last word of its
    name, a rough product type (BAG, MUG, CANDLE ...). The ``max_groups`` most common groups are
    kept, the rest become "other"."""
    if "category" in items and items["category"].notna().any():
        group = items["category"].fillna("(none)").astype(str)
    else:
        names = items["item_name"].fillna("").astype(str)
        group = names.map(lambda n: (_WORD.findall(n) or ["(no name)"])[-1].upper())
    top = group.value_counts().index[:max_groups]
    return group.where(group.isin(top), "other").rename("group")


def item_map(items: pd.DataFrame, vectors: np.ndarray, *, max_groups: int = 12
             ) -> tuple[pd.DataFrame, tuple[float, float]]:
    """2-D coordinates of every item (PCA of its vector, by SVD). Returns the table (columns
    item_id, item_name, group, n_orders, x, y) and the share of variance of each axis."""
    v = np.asarray(vectors, dtype=np.float64)
    centred = v - v.mean(axis=0, keepdims=True)
    if len(v) >= 2:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        comps = vt[:2]
        share = (s ** 2) / max(float((s ** 2).sum()), 1e-12)
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
