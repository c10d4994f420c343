"""Bundles pages: the bundle service with the page's input cache, the current list in session
state, charts."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.bundles.params import BundleParams, BundleResult
from core.workspace import Workspace
from ui.common import chart_text

KEY_RESULT = "bundle_result"
KEY_INPUTS = "bundle_inputs_key"
KEEP_INPUTS = 4  # prepared inputs kept per process (each holds a dataset's baskets and vectors)


class _Recent(dict):
    """A dict that keeps only the ``KEEP_INPUTS`` entries put last."""

    def __setitem__(self, key, value) -> None:
        self.pop(key, None)
        while len(self) >= KEEP_INPUTS:
            self.pop(next(iter(self)))
        super().__setitem__(key, value)


@st.cache_resource(show_spinner=False)
def _inputs_store() -> dict:
    """Process-wide store of prepared inputs, the bundle service's ``cache`` (a store, not a
    cached function: the progress bar drawn while they are prepared must not become part of a
    cached function's replay)."""
    return _Recent()


def prepare_bundle_inputs(root: str, dataset: str, text: bool, progress=None) -> None:
    """Gather the heavy inputs of the dataset's current version (training baskets, fine-tuned and
    base text vectors, the recommender) into the store, once: the text model is fine-tuned or
    reused from the workspace."""
    from core.bundles.service import dataset_inputs

    dataset_inputs(Workspace(root), dataset, text=text, cache=_inputs_store(), progress=progress)


@st.cache_data(show_spinner=False, max_entries=32)
def bundle_list(root: str, dataset: str, version: int, params: BundleParams) -> BundleResult:
    """The bundle list for these settings (seconds on stored inputs; cached per setting). Built by
    the bundle service like the CLI's, and recorded as a ``bundles`` run; not saved (the page's
    Save button does that). ``version`` keys the cache: a re-loaded dataset builds anew."""
    from core.bundles.service import build_for_dataset

    return build_for_dataset(Workspace(root), dataset, params, save=False, cache=_inputs_store())


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
