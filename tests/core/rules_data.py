"""Small baskets for the rules tests: random with planted bundles, and real-data loaders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import Baskets, build_baskets


def random_baskets(seed: int, n_orders: int = 240, n_items: int = 18) -> Baskets:
    """Independent items with varied popularity plus a few planted bundles bought together,
    so itemsets of length 3-5 exist without exploding."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.3, n_items)
    M = rng.random((n_orders, n_items)) < p
    for _ in range(3):
        bundle = rng.choice(n_items, size=rng.integers(3, 6), replace=False)
        buyers = rng.random(n_orders) < rng.uniform(0.05, 0.2)
        M[np.ix_(buyers, bundle)] |= rng.random((buyers.sum(), len(bundle))) < 0.85
    M = M[M.any(axis=1)]
    return Baskets(sp.csr_matrix(M), np.array([f"o{i}" for i in range(len(M))], dtype=object),
                   np.array([f"i{j:02d}" for j in range(n_items)], dtype=object))


def clean_online_retail(path, nrows: int | None = None) -> pd.DataFrame:
    """UCI Online Retail order lines with the typical cleaning (no cancellations/adjustments,
    positive quantity and price, product codes only): columns order_id, item_id, item_name."""
    df = pd.read_csv(path, nrows=nrows, dtype={"InvoiceNo": str, "StockCode": str})
    keep = (~df["InvoiceNo"].str.startswith(("C", "A")) & (df["Quantity"] > 0)
            & (df["UnitPrice"] > 0) & df["StockCode"].str.match(r"^\d{5}[A-Za-z]{0,2}$"))
    df = df[keep]
    return pd.DataFrame({"order_id": df["InvoiceNo"], "item_id": df["StockCode"].str.upper(),
                         "item_name": df["Description"]})


def groceries_baskets(long_path) -> tuple[Baskets, dict[str, str]]:
    """arules Groceries as baskets (item ids = labels)."""
    g = pd.read_csv(long_path)
    lines = pd.DataFrame({"order_id": g["basket_id"].astype(str), "item_id": g["item"]})
    return build_baskets(lines), {}
