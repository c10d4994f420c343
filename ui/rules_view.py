"""Rules page helpers: the cached mining call, the table, the scatter and the rule graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.rules.itemsets import Itemsets, MiningParams
from ui.common import chart_text

TABLE_ROWS = 5_000
SCATTER_POINTS = 5_000


@st.cache_data(show_spinner=False, max_entries=8)
def mined_itemsets(root: str, dataset: str, version: int, min_support: float, max_len: int,
                   max_itemsets: int, level: str = "item") -> Itemsets:
    """Frequent itemsets of one dataset version and setting (the only heavy step: sliders for
    confidence, lift, items and sorting re-filter this without mining again). Shows its own
    progress bar while mining (created here, so that Streamlit can replay it on a cache hit)."""
    from core.rules.mining import mine_dataset_itemsets
    from core.workspace import Workspace
    from ui.common import make_progress

    mining = MiningParams(min_support=min_support, max_len=max_len, max_itemsets=max_itemsets)
    progress, bar = make_progress("Mining frequent itemsets")
    try:
        itemsets, _ = mine_dataset_itemsets(Workspace(root), dataset, mining=mining,
                                             progress=progress, record=True, level=level)
    finally:
        bar.empty()
    return itemsets


@st.cache_data(show_spinner=False, max_entries=4)
def item_table(root: str, dataset: str, version: int, level: str = "item") -> pd.DataFrame:
    """item_id, item_name, n_orders of the dataset (for names and the item search); at the
    category level one row per category (its name is its id)."""
    from core.workspace import Workspace

    items = Workspace(root).items(dataset)[["item_id", "item_name", "n_orders"]]
    if level == "category":
        from core.rules.levels import item_groups

        groups = sorted(set(item_groups(Workspace(root).items(dataset)).of.values()))
        return pd.DataFrame({"item_id": groups, "item_name": groups, "n_orders": None})
    items["item_name"] = items["item_name"].where(items["item_name"].notna(), items["item_id"])
    return items


def match_items(items: pd.DataFrame, query: str) -> list[str]:
    """Item ids whose id or name contains ``query`` (case-insensitive)."""
    q = query.strip().lower()
    if not q:
        return []
    hit = (items["item_id"].astype(str).str.lower().str.contains(q, regex=False)
           | items["item_name"].astype(str).str.lower().str.contains(q, regex=False))
    return items.loc[hit, "item_id"].astype(str).tolist()


def _label(names) -> str:
    return " + ".join(str(n) for n in names)


def _chart_label(names) -> str:
    return chart_text(_label(names))


# the columns shown first; the other measures and the ids stay in the table, behind a toggle
MAIN_COLUMNS = ["If the order holds", "then it often also holds", "orders together", "support",
                "confidence", "lift", "p (corrected)"]
MEASURES = ["orders_together", "support", "confidence", "lift", "leverage", "conviction",
            "zhangs_metric", "jaccard", "certainty", "kulczynski", "p (corrected)"]
FORMATS = {"support": "%.4f", "lift": "%.2f", "leverage": "%.4f", "conviction": "%.2f",
           "zhangs_metric": "%.2f", "jaccard": "%.3f", "certainty": "%.2f", "kulczynski": "%.2f",
           "p (corrected)": "scientific"}


def table_columns(table: pd.DataFrame, show_all: bool) -> list[str]:
    """The columns to show: the main ones, or every column."""
    return list(table.columns) if show_all else [c for c in MAIN_COLUMNS if c in table]


def table_config(table: pd.DataFrame) -> dict:
    """Column headers with a one-line explanation each (``ui.glossary``)."""
    from ui.glossary import column_config, explain, label

    cfg = column_config(table.columns, FORMATS)
    cfg["orders together"] = st.column_config.NumberColumn(
        label("orders_together"), help=explain("orders_together"))
    cfg["confidence"] = st.column_config.ProgressColumn(
        label("confidence"), help=explain("confidence"), min_value=0.0, max_value=1.0,
        format="%.2f")
    cfg["if ids"] = st.column_config.TextColumn("'If' ids")
    cfg["then ids"] = st.column_config.TextColumn("'Then' ids")
    return cfg


def display_table(rules: pd.DataFrame) -> pd.DataFrame:
    """The rules as a merchandiser reads them: If / Then in names, then the numbers."""
    head = rules.head(TABLE_ROWS)
    out = pd.DataFrame({"If the order holds": [_label(n) for n in head["antecedents_names"]],
                        "then it often also holds": [_label(n) for n in head["consequents_names"]],
                        "orders together": head["orders_together"]})
    for col in ("support", "confidence", "lift", "leverage", "conviction", "zhangs_metric",
                "jaccard", "certainty", "kulczynski"):
        out[col] = head[col]
    if "p_adjusted" in head:
        out["p (corrected)"] = head["p_adjusted"]
    out["if ids"] = [" | ".join(map(str, t)) for t in head["antecedents"]]
    out["then ids"] = [" | ".join(map(str, t)) for t in head["consequents"]]
    return out


def scatter(rules: pd.DataFrame) -> go.Figure:
    """Support vs confidence, coloured by lift (arulesViz's default view)."""
    pts = rules.head(SCATTER_POINTS)
    text = [f"{_chart_label(a)} → {_chart_label(c)}<br>orders together: {t:,}"
            for a, c, t in zip(pts["antecedents_names"], pts["consequents_names"],
                               pts["orders_together"])]
    fig = go.Figure(go.Scattergl(
        x=pts["support"], y=pts["confidence"], mode="markers", text=text,
        marker=dict(color=pts["lift"], colorscale="Reds", showscale=True, size=7,
                    colorbar=dict(title="lift"), line=dict(width=0.3, color="#555")),
        hovertemplate="%{text}<br>support %{x:.4f}<br>confidence %{y:.2f}<br>"
                      "lift %{marker.color:.2f}<extra></extra>"))
    shown = f" (top {len(pts):,} of {len(rules):,})" if len(rules) > len(pts) else ""
    fig.update_layout(title=f"Rules by support and confidence, coloured by lift{shown}",
                      xaxis_title="support (share of orders holding all products of the rule)",
                      yaxis_title="confidence (share of 'if' orders that hold 'then')",
                      height=460, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _spring_layout(n: int, edges: np.ndarray, seed: int = 7, steps: int = 200) -> np.ndarray:
    """Fruchterman-Reingold positions (n, 2) for a small graph; deterministic."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (n, 2))
    k = 1.0 / np.sqrt(max(n, 1))
    temp = 0.2
    for _ in range(steps):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=2), 1e-3)
        force = (delta / dist[..., None]) * (k * k / dist)[..., None]
        disp = force.sum(axis=1)
        if len(edges):
            d = pos[edges[:, 0]] - pos[edges[:, 1]]
            dl = np.maximum(np.linalg.norm(d, axis=1), 1e-3)
            pull = d * (dl / k)[:, None]
            np.add.at(disp, edges[:, 0], -pull)
            np.add.at(disp, edges[:, 1], pull)
        length = np.maximum(np.linalg.norm(disp, axis=1), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, temp)[:, None]
        temp *= 0.98
    return pos


def rule_graph(rules: pd.DataFrame, top: int = 25) -> go.Figure:
    """The top rules as a graph: product nodes, one small node per rule (colour = lift,
    size = support) linked from its 'if' products and to its 'then' products."""
    top_rules = rules.head(top)
    products: dict[str, str] = {}
    for ids, names in zip(list(top_rules["antecedents"]) + list(top_rules["consequents"]),
                          list(top_rules["antecedents_names"]) + list(top_rules["consequents_names"])):
        products.update(zip(ids, names))
    pid = {p: i for i, p in enumerate(products)}
    n_p, n_r = len(products), len(top_rules)
    edges = []
    for r, (a, c) in enumerate(zip(top_rules["antecedents"], top_rules["consequents"])):
        edges += [(pid[x], n_p + r) for x in a] + [(n_p + r, pid[x]) for x in c]
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    pos = _spring_layout(n_p + n_r, edges)
    fig = go.Figure()
    for kind, color in (("in", "#9aa5b1"), ("out", "#c0392b")):
        sel = edges[edges[:, 1] >= n_p] if kind == "in" else edges[edges[:, 0] >= n_p]
        xs, ys = [], []
        for s, t in sel:
            xs += [pos[s, 0], pos[t, 0], None]
            ys += [pos[s, 1], pos[t, 1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(width=1.2, color=color)))
    names = list(products.values())
    fig.add_trace(go.Scatter(
        x=pos[:n_p, 0], y=pos[:n_p, 1], mode="markers+text",
        text=[chart_text(n[:28]) for n in names], textposition="top center",
        hovertext=[chart_text(f"{n} ({i})") for i, n in products.items()],
        hoverinfo="text", marker=dict(size=12, color="#2c3e50"), name="product"))
    sup = top_rules["support"].to_numpy(dtype=float)
    size = 8 + 22 * (sup - sup.min()) / (np.ptp(sup) or 1.0)
    hover = [f"{_chart_label(a)} → {_chart_label(c)}<br>confidence {cf:.2f}, lift {lf:.2f}, "
             f"orders together {t:,}"
             for a, c, cf, lf, t in zip(top_rules["antecedents_names"],
                                        top_rules["consequents_names"], top_rules["confidence"],
                                        top_rules["lift"], top_rules["orders_together"])]
    fig.add_trace(go.Scatter(
        x=pos[n_p:, 0], y=pos[n_p:, 1], mode="markers", hovertext=hover, hoverinfo="text",
        marker=dict(size=size, color=top_rules["lift"], colorscale="Reds", showscale=True,
                    colorbar=dict(title="lift"), line=dict(width=0.5, color="#555")),
        name="rule"))
    fig.update_layout(title=f"Top {n_r} rules as a graph (grey: 'if' products into the rule, "
                      "red: out to 'then' products)", showlegend=False, height=560,
                      xaxis=dict(visible=False), yaxis=dict(visible=False),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def category_drivers_section(ws, dataset: str) -> None:
    """Which category combinations drive the latest saved bundle list (``core.bundles.drivers``)."""
    from core.bundles.drivers import category_drivers, driver_summary
    from core.bundles.lists import bundle_lists, load_list

    st.subheader("Category combinations behind your bundles")
    saved = bundle_lists(ws, dataset)
    if saved.empty:
        st.info("Save a bundle list on the Bundles page to see which category combinations "
                "drive its bundles.")
        return
    bundles, _ = load_list(ws, saved["list_id"].iloc[0])
    table, _ = category_drivers(ws, dataset, bundles)
    summary = driver_summary(table)
    single = int(table["categories"].isna().sum())
    st.caption(f"The latest saved list: {len(bundles):,} bundles; {single:,} of them keep to "
               "one category. Lift: how much more often the categories are bought together "
               "than chance, over all orders.")
    st.dataframe(summary, hide_index=True, width="stretch", column_config={
        "categories": "Categories", "bundles": "Bundles", "examples": "Example bundles",
        "category_orders": st.column_config.NumberColumn("Orders with all", format="%d"),
        "category_lift": st.column_config.NumberColumn("Lift", format="%.2f")})
