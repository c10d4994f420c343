"""Coverage: how much of the business the bundle list touches, and where."""

import pandas as pd
import plotly.express as px
import streamlit as st

from core.bundles.lists import bundle_lists, load_list
from core.bundles.coverage import coverage_report, network_layout
from ui.bundles_view import KEY_RESULT, coverage_curve_chart, network_chart
from ui.common import chart_text, data_version, md, require_dataset, user_errors, workspace

st.set_page_config(page_title="Coverage · BundleLab", page_icon="🧺", layout="wide")
st.title("Coverage")
st.write("How much of your business the bundle list touches: the share of orders and revenue "
         "with at least two items of a bundle as the list grows, which categories and price "
         "bands it reaches, and how the bundled items connect.")

ws = workspace()
name = require_dataset(ws)


@st.cache_data(show_spinner="Measuring coverage…", max_entries=8)
def report(root: str, dataset: str, version: int, bundles: pd.DataFrame) -> dict:
    from core.workspace import Workspace

    w = Workspace(root)
    rep = coverage_report(w.lines(dataset), w.items(dataset), bundles)
    rep["nodes"] = network_layout(rep["nodes"], rep["edges"])
    return rep


with user_errors():
    version = data_version(ws, name)
    result = st.session_state.get(KEY_RESULT)
    if result is not None and st.session_state.get("bundle_result_dataset") == name:
        bundles, source = result.bundles, "the list on the Bundles page"
    else:
        saved = bundle_lists(ws, name)
        if saved.empty:
            st.info("No bundle list yet: build one on the Bundles page.")
            st.stop()
        bundles, _ = load_list(ws, saved["list_id"].iloc[0])
        source = f"saved list {saved['list_id'].iloc[0]} ({saved['label'].iloc[0]})"
    st.caption(f"Showing {md(source)}: {len(bundles)} bundles, measured on all orders of "
               f"{md(name)}.")
    rep = report(str(ws.root), name, version, bundles)

    st.plotly_chart(coverage_curve_chart(rep["curve"]), width="stretch")
    left, right = st.columns(2)
    cat = rep["by_category"].assign(category=lambda d: chart_text(d["category"].astype(str)))
    fig = px.bar(cat, x="share", y="category", orientation="h",
                 hover_data={"orders": ":,", "covered": ":,", "share": ":.1%"},
                 title="Orders with 2+ bundle items, by category")
    fig.update_layout(xaxis_title="Share of the category's orders", yaxis_title="",
                      xaxis_tickformat=".0%")
    left.plotly_chart(fig, width="stretch")
    band = rep["by_price_band"]
    fig = px.bar(band, x="band", y="share", hover_data={"items": True, "in_bundles": True,
                                                        "revenue": ":,.0f", "share": ":.1%"},
                 title="Revenue of bundled items, by price band")
    fig.update_layout(xaxis_title="Item price band", yaxis_title="Share of the band's revenue",
                      yaxis_tickformat=".0%")
    right.plotly_chart(fig, width="stretch")
    left, right = st.columns(2)
    sc = bundles.assign(items_text=chart_text(bundles["item_names"].map(" | ".join)),
                        name=chart_text(bundles["name"]))
    fig = px.scatter(sc, x="orders_together", y="confidence", color="lift", size="size",
                     hover_name="name", hover_data={"items_text": True, "bundle_id": True},
                     title="Bundles: orders together vs confidence (colour: lift)")
    fig.update_layout(xaxis_title="Orders holding all its items (support)",
                      yaxis_title="Confidence of the best rule")
    left.plotly_chart(fig, width="stretch")
    right.plotly_chart(network_chart(rep["nodes"], rep["edges"]), width="stretch")
