"""Bundles pages: cached inputs and lists, the current list in session state, charts."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.bundles.build import BundleParams, BundleResult, build_bundles
from core.workspace import Workspace
from ui.common import chart_text

KEY_RESULT = "bundle_result"
KEY_INPUTS = "bundle_inputs_key"


@st.cache_resource(show_spinner=False)
def _inputs_store() -> dict:
    """Process-wide store of prepared inputs (a plain dict: the progress bar drawn while they
    are prepared must not become part of a cached function's replay)."""
    return {}


def bundle_inputs(root: str, dataset: str, version: int, text: bool, progress=None):
    """Training baskets, fine-tuned and base text vectors for a dataset version (the heavy part,
    done once: the text model is fine-tuned or reused from the workspace)."""
    from core.bundles.inputs import prepare_inputs

    store = _inputs_store()
    key = (root, dataset, version, text)
    if key not in store:
        ws = Workspace(root)
        inputs = prepare_inputs(ws, dataset, ws.lines(dataset), ws.items(dataset), text=text,
                                progress=progress)
        while len(store) >= 4:
            store.pop(next(iter(store)))
        store[key] = inputs
    return store[key]


@st.cache_data(show_spinner=False, max_entries=32)
def bundle_list(root: str, dataset: str, version: int, text: bool, params: BundleParams) -> BundleResult:
    """The bundle list for these settings (seconds; cached per setting)."""
    return build_bundles(bundle_inputs(root, dataset, version, text), params)


def current_result() -> BundleResult | None:
    return st.session_state.get(KEY_RESULT)


def display_table(bundles: pd.DataFrame) -> pd.DataFrame:
    """The bundle table as shown: lists joined, numbers rounded."""
    t = bundles.copy()
    t["items"] = t["item_names"].map(" | ".join)
    t["customers"] = t["target_customers"].map(lambda c: ", ".join(map(str, c)))
    cols = ["bundle_id", "name", "items", "orders_together", "confidence", "lift", "similarity",
            "provenance", "list_price", "bundle_price", "explanation", "customers"]
    return t[cols]


def coverage_curve_chart(curve: pd.DataFrame) -> go.Figure:
    long = curve.melt(id_vars="bundles", value_vars=["orders_share", "revenue_share",
                                                     "reach_share"],
                      var_name="measure", value_name="share")
    long["measure"] = long["measure"].map({
        "orders_share": "orders with 2+ bundle items", "revenue_share": "revenue of those orders",
        "reach_share": "orders with any bundle item"})
    fig = px.line(long, x="bundles", y="share", color="measure", markers=True,
                  title="Coverage against the number of bundles",
                  hover_data={"share": ":.1%"})
    fig.update_layout(xaxis_title="Number of bundles (in list order)",
                      yaxis_title="Share of all orders / revenue", yaxis_tickformat=".0%")
    return fig


def network_chart(nodes: pd.DataFrame, edges: pd.DataFrame) -> go.Figure:
    pos = nodes.set_index("item_id")
    xs, ys = [], []
    for s, t in zip(edges["source"], edges["target"]):
        xs += [pos.at[s, "x"], pos.at[t, "x"], None]
        ys += [pos.at[s, "y"], pos.at[t, "y"], None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(width=1, color="#9aa"),
                             hoverinfo="skip", name="bundled together"))
    fig.add_trace(go.Scatter(
        x=nodes["x"], y=nodes["y"], mode="markers", name="item",
        marker=dict(size=8 + 4 * nodes["bundles"], color=nodes["orders"], colorscale="Teal",
                    showscale=True, colorbar=dict(title="orders")),
        text=chart_text(nodes["item_name"]),
        customdata=nodes[["item_id", "orders", "bundles"]].assign(
            item_id=chart_text(nodes["item_id"])),
        hovertemplate="%{text}<br>id %{customdata[0]}<br>%{customdata[1]} orders<br>"
                      "in %{customdata[2]} bundle(s)<extra></extra>"))
    fig.update_layout(title="Items joined by bundles (size: number of bundles, colour: orders)",
                      xaxis_title="", yaxis_title="", showlegend=False,
                      xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False))
    return fig
