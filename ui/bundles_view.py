"""Bundles pages: the bundle service with the page's input cache, the current list in session
state, charts."""

from __future__ import annotations

import re

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.bundles.params import BundleParams, BundleResult
from core.workspace import Workspace
from ui.common import chart_text

KEY_RESULT = "bundle_result"
KEY_QUICK = "bundle_quick_list"  # the last quick list shown: (dataset, version, settings, table)
KEEP_INPUTS = 4  # prepared inputs kept per process (each holds a dataset's baskets and vectors)


class _Recent(dict):
    """A dict that keeps only the ``KEEP_INPUTS`` entries put last."""

    def __setitem__(self, key, value) -> None:
        self.pop(key, None)
        while len(self) >= KEEP_INPUTS:
            self.pop(next(iter(self)))
        super().__setitem__(key, value)


@st.cache_resource(show_spinner=False)
def inputs_store() -> dict:
    """Process-wide store of prepared bundle inputs, the bundle service's ``cache``, shared by the
    pages and the background model jobs (``ui.jobs_view.start_models``), which put the refined
    list's inputs there when their models are ready."""
    return _Recent()


@st.cache_data(show_spinner=False, max_entries=32)
def bundle_list(root: str, dataset: str, version: int, params: BundleParams,
                models: bool) -> BundleResult:
    """The bundle list for these settings (seconds on stored inputs; cached per setting). Built by
    the bundle service like the CLI's, and recorded as a ``bundles`` run; not saved (the page's
    Save button does that). ``version`` keys the cache: a re-loaded dataset builds anew.
    ``models``: whether the background models were ready (the quick list is built without
    them; the same settings give another list once they are)."""
    from core.bundles.service import build_for_dataset

    return build_for_dataset(Workspace(root), dataset, params, save=False, cache=inputs_store())


def list_changes(before: pd.DataFrame, after: pd.DataFrame) -> str | None:
    """What refining changed, in words: bundles added, removed, moved in the ranking, and new
    items bundled by their text; None when nothing changed."""
    from core.bundles.compare import compare_lists

    c = compare_lists(before, after)
    parts = [f"{c[k]} bundle{'' if c[k] == 1 else 's'} {word}" for k, word in
             (("added", "added"), ("removed", "removed"), ("reranked", "moved in the ranking"))
             if c[k]]
    if c["cold_added"]:
        parts.append(f"{c['cold_added']} new item{'' if c['cold_added'] == 1 else 's'} "
                     "bundled by their text")
    if not parts:
        return None
    return "Compared with the quick list: " + ", ".join(parts) + "."


# the columns shown first; the technical ones stay in the table behind a toggle
MAIN_COLUMNS = ["bundle_id", "name", "items", "orders_together", "confidence", "lift",
                "list_price", "bundle_price", "expected_value", "explanation", "customers"]
TECH_COLUMNS = ["item ids", "similarity", "provenance", "score"]
MEASURES = ["orders_together", "confidence", "lift", "list_price", "bundle_price",
            "expected_value", "similarity", "provenance", "score"]
FORMATS = {"confidence": "%.2f", "lift": "%.1f", "similarity": "%.2f", "score": "%.2f",
           "list_price": "%.2f", "bundle_price": "%.2f", "expected_value": "%.2f"}
RECOMMENDER_NOTE = "no recommender trained"
NO_CUSTOMERS = ("This dataset has no customer column: target customers (and the recommender) "
                "need one. Map a customer column on the Upload page to get them.")
NO_PRICES = ("No prices in this dataset: bundle prices need a price or line-total column (map "
             "one on the Upload page).")


def display_table(bundles: pd.DataFrame, *, customers: bool = True) -> pd.DataFrame:
    """The bundle table as shown: lists joined (ids as text), the customers column only when the
    dataset has customers."""
    t = bundles.copy()
    t["items"] = t["item_names"].map(" | ".join)
    t["item ids"] = bundles["items"].map(lambda ids: " | ".join(map(str, ids)))
    t["customers"] = t["target_customers"].map(lambda c: ", ".join(map(str, c)))
    cols = [c for c in MAIN_COLUMNS if customers or c != "customers"] + TECH_COLUMNS
    return t[[c for c in cols if c in t]]  # a list built before expected values has none


def table_view(table: pd.DataFrame, *, show_all: bool, priced: bool) -> tuple[list[str], dict]:
    """``column_order`` and ``column_config`` for the bundle table: the main columns (without
    empty price columns) or all of them, each header with its one-line explanation."""
    from ui.glossary import column_config

    main = [c for c in MAIN_COLUMNS if c in table and (priced or ("price" not in c and
                                                                   c != "expected_value"))]
    order = main + [c for c in table.columns if c not in main] if show_all else main
    cfg = column_config(table.columns, FORMATS)
    cfg["item ids"] = st.column_config.TextColumn("Item ids")
    cfg["customers"] = st.column_config.TextColumn(
        "Show it to", help="The customers most likely to take the bundle.")
    return order, cfg


def page_note(note: str, *, has_customers: bool,
              training: bool = False) -> tuple[str | None, bool]:
    """A build note in the pages' words: ``(text, link_to_recommender)``; text None = nothing
    to say. Hints at command lines are left out (the pages have buttons for them).
    ``training``: the models are training in the background (the panel says so already)."""
    if note.startswith(RECOMMENDER_NOTE):
        if not has_customers or training:
            return None, False  # the page says once that customers need a customer column
        return ("No recommender trained on these orders yet: recommender affinity is not used, "
                "and target customers are those who bought part of a bundle. Train one on the "
                "Recommender page for personal targets."), True
    note = re.sub(r"\s*\([^()]*python -m core[^()]*\)", "", note)
    note = re.sub(r"\s*`?python -m core[^,;:)`]*`?", "", note)
    return note, False


def coverage_curve_chart(curve: pd.DataFrame, *, revenue: bool = True) -> go.Figure:
    """Coverage against list length; the revenue line only when the orders have prices."""
    measures = ["orders_share", "revenue_share", "reach_share"] if revenue else \
        ["orders_share", "reach_share"]
    long = curve.melt(id_vars="bundles", value_vars=measures,
                      var_name="measure", value_name="share")
    long["measure"] = long["measure"].map({
        "orders_share": "orders with 2+ bundle items", "revenue_share": "revenue of those orders",
        "reach_share": "orders with any bundle item"})
    fig = px.line(long, x="bundles", y="share", color="measure", markers=True,
                  title="Coverage against the number of bundles",
                  hover_data={"share": ":.1%"})
    fig.update_layout(xaxis_title="Number of bundles (in list order)",
                      yaxis_title="Share of all orders / revenue" if revenue else
                      "Share of all orders", yaxis_tickformat=".0%")
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


def current_or_saved_list(ws, name: str):
    """The list on the Bundles page (this session, this dataset), else the latest saved one:
    ``(bundles, params, source in words)``; stops the page with a hint when there is none or it
    is empty (the Coverage and Over time pages)."""
    from core.bundles.lists import bundle_lists, load_list

    result = st.session_state.get(KEY_RESULT)
    if result is not None and st.session_state.get("bundle_result_dataset") == name:
        bundles, params, source = result.bundles, result.params, "the list on the Bundles page"
    else:
        saved = bundle_lists(ws, name)
        if saved.empty:
            st.info("No bundle list yet: build one on the Bundles page.")
            st.stop()
        bundles, params = load_list(ws, saved["list_id"].iloc[0])
        source = f"saved list {saved['list_id'].iloc[0]} ({saved['label'].iloc[0]})"
    if bundles.empty:
        st.info("The bundle list is empty: build one on the Bundles page.")
        st.stop()
    return bundles, params, source
