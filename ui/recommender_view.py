"""Cached wrappers and charts for the Recommender page. Cache keys: workspace root, dataset, data
version and the model directory's identity (its meta file's time), so a re-ingest or a new
training invalidates them and a widget move recomputes nothing heavy."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.workspace import Workspace

METHOD_LABELS = {
    "auto": "Automatic: the best on your recent orders",
    "popularity": "Best sellers (same for everyone)",
    "gp_topfreq": "Customer's own favourites",
    "item_knn": "Bought with their items (item-KNN)",
    "ease": "Co-purchase model (EASE)",
    "tifu_knn": "Their own repeat purchases + similar customers (TIFU-KNN)",
    "neural": "Neural model (repeat + explore)",
}
METRIC_LABELS = {"ndcg@10": "NDCG@10", "recall@10": "Recall@10", "hit@10": "Hit@10"}


@st.cache_resource(show_spinner="Loading the recommender…", max_entries=4)
def trained(root: str, dataset: str, version: int, cut: str | None, stamp: float):
    """The saved model (``stamp`` = its meta file's time keys the cache)."""
    from core.recommend import load_trained

    return load_trained(Workspace(root), dataset, cut=cut)


@st.cache_data(show_spinner=False, max_entries=8)
def customers_table(root: str, dataset: str, version: int, cut: str | None, stamp: float
                    ) -> pd.DataFrame:
    """Known customers with their number of orders, most orders first."""
    h = trained(root, dataset, version, cut, stamp).history
    import numpy as np

    n = np.diff(h.customer_ptr)
    df = pd.DataFrame({"customer_id": h.customer_ids.astype(str), "orders": n})
    return df.sort_values(["orders", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def comparison_frame(block: dict) -> pd.DataFrame:
    """One row per method (readable labels): NDCG@10, Recall@10, Hit@10, repeat and explore hits."""
    rows = []
    for method, m in block.items():
        if not isinstance(m, dict) or "ndcg@10" not in m:
            continue
        rows.append({"method": METHOD_LABELS.get(method, method), "NDCG@10": m["ndcg@10"],
                     "Recall@10": m["recall@10"], "Hit@10": m["hit@10"],
                     "Repeat hits": m.get("repeat_hits"), "Explore hits": m.get("explore_hits")})
    return pd.DataFrame(rows).set_index("method")


def comparison_figure(frame: pd.DataFrame, title: str):
    """Grouped bars: one group per method, one bar per ranking metric, values on hover."""
    long = frame[list(METRIC_LABELS.values())].reset_index().melt(
        id_vars="method", var_name="metric", value_name="score")
    fig = px.bar(long, x="method", y="score", color="metric", barmode="group", title=title,
                 labels={"method": "Method", "score": "Score (higher is better)",
                         "metric": "Metric"},
                 hover_data={"score": ":.3f"})
    fig.update_layout(yaxis_range=[0, max(0.05, float(long["score"].max()) * 1.15)])
    return fig


def choice_text(choice: dict) -> str:
    """The choice of method in one sentence (``core.recommend.choose.describe``), e.g.
    "gp_topfreq was chosen: NDCG@10 0.291 on orders from 2011-08-01 on (the last ~20% of the
    training period), 1,234 customers, against 0.284 for neural (next best; ...)"; plain text
    (the caller escapes it for Markdown)."""
    from core.recommend.choose import describe

    return describe(choice)


def chosen_vs_test(block: dict) -> str | None:
    """For an evaluation's recommender block: the method chosen from the training orders alone
    next to the best method on the test period, or None when the block has no choice."""
    chosen = block.get("chosen")
    scored = {m: v["ndcg@10"] for m, v in block.items()
              if isinstance(v, dict) and isinstance(v.get("ndcg@10"), (int, float))}
    if not isinstance(chosen, dict) or not scored:
        return None
    method = chosen.get("method")
    best = max(scored, key=scored.get)
    how = ("kept without a comparison (too few customers)" if chosen.get("rule") == "fallback"
           else "chosen on the training period's last ~20%")
    text = f"Automatic choice: {method}, {how}"
    if method in scored:
        text += f"; on the test period it scores NDCG@10 {scored[method]:.3f}"
    if best != method:
        text += f", against {scored[best]:.3f} for the best method, {best}"
    else:
        text += ", the best method there"
    return text + "."


def model_label(row: pd.Series) -> str:
    period = "all orders" if not row["cut"] else f"orders before {row['cut']}"
    chosen = " (chosen automatically)" if isinstance(row.get("choice"), dict) else ""
    return (f"{METHOD_LABELS.get(row['method'], row['method'])}{chosen} · {period} · "
            f"{int(row['customers']):,} customers · trained {row['trained_at']:%Y-%m-%d %H:%M}")
