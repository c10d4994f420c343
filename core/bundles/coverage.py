"""How much of the business a bundle list touches (the Coverage page).

``coverage_report(lines, items, bundles)`` returns small tables:
- ``curve``: bundles (1..N), orders_share (orders holding >= 2 items of one of the first k
  bundles), revenue_share (their revenue; NaN when the orders have no prices), reach_share
  (orders holding >= 1 bundle item);
- ``by_category``: category, orders (holding an item of the category), covered (of those, holding
  >= 2 items of a bundle), share; empty when no item has a category;
- ``by_price_band``: band, items, in_bundles, revenue, revenue_in_bundles, share; empty when no
  item has a price;
- ``has_prices``, ``has_categories``: whether the two tables above can say anything (the page
  says what is missing instead of drawing an empty chart);
- ``edges``: source, target, bundle_id, orders_together (items joined by a bundle), and
  ``nodes``: item_id, item_name, orders, bundles (for the network chart).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.baskets import build_baskets, order_table


def coverage_report(lines: pd.DataFrame, items: pd.DataFrame, bundles: pd.DataFrame) -> dict[str, Any]:
    b = build_baskets(lines)
    index = b.item_index()
    csc = b.matrix.tocsc()
    revenue = order_table(lines).set_index("order_id")["revenue"].reindex(b.order_ids).fillna(0)
    rev = revenue.to_numpy()
    has_revenue = bool(rev.sum() > 0)
    n = max(b.n_orders, 1)
    covered = np.zeros(b.n_orders, dtype=bool)
    reach = np.zeros(b.n_orders, dtype=bool)
    curve = []
    for k, row in enumerate(bundles.itertuples(), start=1):
        cols = [index[i] for i in row.items if i in index]
        if cols:
            rows = np.concatenate([csc.indices[csc.indptr[c]:csc.indptr[c + 1]] for c in cols])
            uniq, cnt = np.unique(rows, return_counts=True)
            covered[uniq[cnt >= 2]] = True
            reach[uniq] = True
        curve.append((k, covered.sum() / n,
                      rev[covered].sum() / rev.sum() if has_revenue else np.nan, reach.sum() / n))
    curve_df = pd.DataFrame(curve, columns=["bundles", "orders_share", "revenue_share",
                                            "reach_share"])
    item_info = items.set_index("item_id")
    in_bundle = {i for its in bundles["items"] for i in its}
    # by category
    has_categories = "category" in item_info and bool(item_info["category"].notna().any())
    cat_of = item_info["category"].reindex(b.item_ids).fillna("(no category)").astype(str) \
        .to_numpy() if has_categories else np.array([])
    rows_cat = []
    for cat in pd.unique(cat_of):
        cols = np.flatnonzero(cat_of == cat)
        sub = b.matrix[:, cols]
        holds = np.asarray(sub.sum(axis=1)).ravel() > 0
        rows_cat.append((cat, int(holds.sum()), int((holds & covered).sum())))
    by_cat = pd.DataFrame(rows_cat, columns=["category", "orders", "covered"])
    by_cat["share"] = by_cat["covered"] / by_cat["orders"].clip(lower=1)
    by_cat = by_cat.sort_values("orders", ascending=False).head(25)
    # by price band
    price = pd.to_numeric(item_info["price"].reindex(b.item_ids), errors="coerce").to_numpy(
        dtype=float)
    has_prices = bool(np.isfinite(price).any()) and has_revenue
    item_rev = (lines.assign(r=lines["quantity"].fillna(1) * lines["unit_price"].fillna(0))
                .groupby("item_id")["r"].sum().reindex(b.item_ids).fillna(0).to_numpy())
    bands = pd.cut(pd.Series(price), bins=[0, 1, 2, 5, 10, 20, 50, np.inf],
                   labels=["< 1", "1-2", "2-5", "5-10", "10-20", "20-50", "50+"], right=False)
    inb = np.array([i in in_bundle for i in b.item_ids])
    df = pd.DataFrame({"band": bands, "in_bundles": inb, "revenue": item_rev})
    by_band = df.groupby("band", observed=False).agg(
        items=("in_bundles", "size"), in_bundles=("in_bundles", "sum"),
        revenue=("revenue", "sum")).reset_index()
    by_band["revenue_in_bundles"] = df[df["in_bundles"]].groupby(
        "band", observed=False)["revenue"].sum().reindex(by_band["band"]).fillna(0).to_numpy()
    by_band["share"] = by_band["revenue_in_bundles"] / by_band["revenue"].clip(lower=1e-9)
    if not has_prices:
        by_band = by_band.iloc[:0]
    # network
    edges = []
    for row in bundles.itertuples():
        its = list(row.items)
        for x in range(len(its)):
            for y in range(x + 1, len(its)):
                edges.append((its[x], its[y], row.bundle_id, row.orders_together))
    edges_df = pd.DataFrame(edges, columns=["source", "target", "bundle_id", "orders_together"])
    counts = b.item_counts()
    nodes = pd.DataFrame({"item_id": sorted(in_bundle)})
    nodes["item_name"] = item_info["item_name"].reindex(nodes["item_id"]).fillna(nodes["item_id"]).to_numpy()
    nodes["orders"] = [int(counts[index[i]]) if i in index else 0 for i in nodes["item_id"]]
    nodes["bundles"] = [sum(i in its for its in bundles["items"]) for i in nodes["item_id"]]
    return {"curve": curve_df, "by_category": by_cat, "by_price_band": by_band,
            "edges": edges_df, "nodes": nodes, "has_prices": has_prices,
            "has_categories": has_categories}


def network_layout(nodes: pd.DataFrame, edges: pd.DataFrame, seed: int = 0,
                   iterations: int = 200) -> pd.DataFrame:
    """x, y positions for ``nodes`` by a small force-directed layout (Fruchterman-Reingold)."""
    rng = np.random.default_rng(seed)
    ids = nodes["item_id"].tolist()
    pos = rng.normal(size=(len(ids), 2))
    if len(ids) < 2:
        return nodes.assign(x=pos[:, 0] if len(ids) else [], y=pos[:, 1] if len(ids) else [])
    idx = {i: k for k, i in enumerate(ids)}
    e = np.array([(idx[s], idx[t]) for s, t in zip(edges["source"], edges["target"])
                  if s in idx and t in idx], dtype=int).reshape(-1, 2)
    k = 1.0 / np.sqrt(len(ids))
    temp = 0.1
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.linalg.norm(delta, axis=2) + 1e-9
        force = (k * k / dist**2)[:, :, None] * delta
        disp = force.sum(axis=1)
        if len(e):
            d = pos[e[:, 0]] - pos[e[:, 1]]
            dl = np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
            pull = d * dl / k
            np.add.at(disp, e[:, 0], -pull)
            np.add.at(disp, e[:, 1], pull)
        length = np.linalg.norm(disp, axis=1, keepdims=True) + 1e-9
        pos += disp / length * np.minimum(length, temp)
        temp *= 0.98
    return nodes.assign(x=pos[:, 0], y=pos[:, 1])
