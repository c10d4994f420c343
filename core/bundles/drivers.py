"""Which category combinations drive the item bundles (issue 16, item 3): each bundle's items
mapped to their categories (``core.rules.levels.item_groups``: the category column, or rough
product types from the names), and how strongly those categories sell together on their own,
over all orders: orders holding all of them and their lift (observed share over the share that
independent purchases would give). A bundle whose items share one category has no combination.

    table, note = category_drivers(ws, "shop", bundles)
    summary = driver_summary(table)    # one row per category combination, most bundles first
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.rules.levels import item_groups
from core.rules.mining import load_baskets
from core.workspace import Workspace

COLUMNS = ["bundle_id", "name", "categories", "category_orders", "category_lift"]


def category_drivers(ws: Workspace, dataset: str, bundles: pd.DataFrame
                     ) -> tuple[pd.DataFrame, str]:
    """Per bundle (``bundle_id``, ``name``, ``items``): ``categories`` ("A + B", sorted; None
    when its items fall in fewer than two categories), ``category_orders`` (orders holding all
    of them) and ``category_lift``. Returns the table and where the categories came from."""
    name = ws.resolve(dataset)
    groups = item_groups(ws.items(name), name)
    baskets = load_baskets(ws, name, "category")
    m = baskets.matrix.tocsc().astype(np.int64)
    col = {str(g): j for j, g in enumerate(baskets.item_ids)}
    n = max(1, baskets.n_orders)
    share = np.asarray(m.sum(axis=0)).ravel() / n
    rows = []
    for b in bundles.itertuples(index=False):
        cats = sorted({groups.of[str(i)] for i in b.items if str(i) in groups.of})
        orders = lift = None
        if len(cats) >= 2 and all(c in col for c in cats):
            idx = [col[c] for c in cats]
            orders = int((np.asarray(m[:, idx].sum(axis=1)).ravel() == len(idx)).sum())
            lift = round(float(orders / n / np.prod(share[idx])), 3)
        rows.append({"bundle_id": b.bundle_id, "name": b.name,
                     "categories": " + ".join(cats) if len(cats) >= 2 else None,
                     "category_orders": orders, "category_lift": lift})
    return pd.DataFrame(rows, columns=COLUMNS), groups.note


def driver_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per category combination of ``category_drivers``' table: ``categories``,
    ``bundles`` (how many item bundles it drives), ``examples`` (up to three bundle names),
    ``category_orders``, ``category_lift``; most bundles first, then highest lift."""
    cols = ["categories", "bundles", "examples", "category_orders", "category_lift"]
    t = table.dropna(subset=["categories"])
    if t.empty:
        return pd.DataFrame(columns=cols)
    out = t.groupby("categories", sort=False).agg(
        bundles=("bundle_id", "size"), examples=("name", lambda s: "; ".join(s.head(3))),
        category_orders=("category_orders", "first"), category_lift=("category_lift", "first"))
    return out.reset_index().sort_values(["bundles", "category_lift"], ascending=False,
                                         ignore_index=True)[cols]
