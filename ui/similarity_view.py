"""Cached wrappers for the Item similarity page. Keys: workspace root, dataset, data version and
the model identity, so a re-ingest or a new training invalidates them and a widget move never
recomputes anything."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core.workspace import Workspace
from ui.common import chart_text


@st.cache_data(show_spinner=False, max_entries=8)
def items_table(root: str, dataset: str, version: int) -> pd.DataFrame:
    return Workspace(root).items(dataset)


@st.cache_data(show_spinner="Encoding the items with the base model…", max_entries=8)
def base_vectors(root: str, dataset: str, version: int, model: str | None) -> np.ndarray:
    from core.text.vectors import item_vectors

    return item_vectors(Workspace(root), dataset, finetuned=False, model=model)[1]


@st.cache_data(show_spinner="Encoding the items with the fine-tuned model…", max_entries=8)
def tuned_vectors(root: str, dataset: str, version: int, encoder: str, model_id: str) -> np.ndarray:
    """Vectors from the saved encoder in directory ``encoder`` (``model_id`` keys the cache)."""
    from core.text.encoder import encode_items
    from core.text.texts import item_texts

    ws = Workspace(root)
    return encode_items(ws, dataset, item_texts(ws.items(dataset)), model=encoder)


@st.cache_data(show_spinner="Counting co-purchases…", max_entries=8)
def copurchases(root: str, dataset: str, version: int):
    from core.text.similarity import copurchase_counts

    ws = Workspace(root)
    return copurchase_counts(ws, dataset, ws.items(dataset)["item_id"].tolist())


@st.cache_data(show_spinner="Projecting the items to 2-D…", max_entries=8)
def item_map(root: str, dataset: str, version: int, key: str, _vectors: np.ndarray):
    """``key`` names the vectors (``_vectors`` itself is not hashed)."""
    from core.text.similarity import item_map as _item_map

    return _item_map(items_table(root, dataset, version), _vectors)


def encoder_label(row: pd.Series) -> str:
    period = "all orders" if not row["cut"] else f"orders before {row['cut']}"
    model = "multilingual + adapter" if row.get("adapter") else "English model"
    return (f"{model} · {period} · {int(row['pairs']):,} pairs, {int(row['steps'])} steps · "
            f"trained {pd.Timestamp(row['trained_at']):%Y-%m-%d %H:%M}")


ENCODER_LABELS = {"auto": "Automatic (by the script of the product names)",
                  "minilm": "English: all-MiniLM-L6-v2",
                  "multilingual": "Multilingual: multilingual-e5-small"}


def metrics_frame(block: dict) -> pd.DataFrame:
    """One row per method: Recall@10, MRR, Recall@10 on new items. Rows of the encoder not
    chosen (an evaluation run with ``compare_encoders``) are named after it."""
    labels = {"cooccurrence": "Bought together (counts)", "base": "Language model (base)",
              "finetuned": "Language model (fine-tuned)"}
    for other, title in (("minilm", "English model"), ("multilingual", "Multilingual model")):
        labels[f"{other}_base"] = f"{title} (base)"
        labels[f"{other}_finetuned"] = f"{title} (fine-tuned)"
    rows = [{"method": labels[m], "Recall@10": v.get("recall@10"), "MRR": v.get("mrr"),
             "Recall@10, new items": v.get("cold_recall@10")}
            for m, v in block.items() if m in labels]
    return pd.DataFrame(rows).set_index("method")


def map_figure(table: pd.DataFrame, ratio: tuple[float, float], title: str, legend: str):
    table = table.assign(item_name=chart_text(table["item_name"]),
                         item_id=chart_text(table["item_id"]))
    fig = px.scatter(table, x="x", y="y", color="group", hover_name="item_name",
                     hover_data={"item_id": True, "n_orders": True, "x": False, "y": False,
                                 "group": False}, title=title, opacity=0.7)
    fig.update_traces(marker={"size": 6})
    fig.update_layout(xaxis_title=f"Component 1 ({ratio[0]:.0%} of variance)",
                      yaxis_title=f"Component 2 ({ratio[1]:.0%} of variance)",
                      legend_title=legend)
    return fig
