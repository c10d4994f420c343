"""Cached wrappers and charts for the Recommender page. Cache keys: workspace root, dataset, data
version and the model directory's identity (its meta file's time), so a re-ingest or a new
training invalidates them and a widget move recomputes nothing heavy."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.workspace import Workspace

METHOD_LABELS = {
    "popularity": "Best sellers (same for everyone)",
    "gp_topfreq": "Customer's own favourites",
    "item_knn": "Bought with their items (item-KNN)",
    "ease": "Co-purchase model (EASE)",
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


def model_label(row: pd.Series) -> str:
    period = "all orders" if not row["cut"] else f"orders before {row['cut']}"
    return (f"{METHOD_LABELS.get(row['method'], row['method'])} · {period} · "
            f"{int(row['customers']):,} customers · trained {row['trained_at']:%Y-%m-%d %H:%M}")
