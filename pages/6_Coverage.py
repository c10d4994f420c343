"""Coverage: how much of the business the bundle list touches, and where."""

import pandas as pd
import plotly.express as px
import streamlit as st

from core.bundles.coverage import coverage_report, network_layout
from ui.bundles_view import coverage_curve_chart, current_or_saved_list, network_chart
from ui.common import chart_text, data_version, md, require_dataset, user_errors, workspace
from ui.glossary import glossary_expander

NO_PRICES = ("No prices in this dataset, so no revenue share and no price bands. Map a price or "
             "line-total column on the Upload page to see them.")
NO_CATEGORIES = ("No categories in this dataset, so no coverage by category. Map a category "
                 "column on the Upload page (or upload a catalog with categories) to see it.")

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
    bundles, _, source = current_or_saved_list(ws, name)
    plural = "" if len(bundles) == 1 else "s"
    st.caption(f"Showing {md(source)}: {len(bundles)} bundle{plural}, measured on all orders of "
               f"{md(name)}.")
    rep = report(str(ws.root), name, version, bundles)

    priced = rep.get("has_prices", True)
    st.plotly_chart(coverage_curve_chart(rep["curve"], revenue=priced), width="stretch")
    left, right = st.columns(2)
    if rep.get("has_categories", True):
        cat = rep["by_category"].assign(category=lambda d: chart_text(d["category"].astype(str)))
        fig = px.bar(cat, x="share", y="category", orientation="h",
                     hover_data={"orders": ":,", "covered": ":,", "share": ":.1%"},
                     title="Orders with 2+ bundle items, by category")
        fig.update_layout(xaxis_title="Share of the category's orders", yaxis_title="",
                          xaxis_tickformat=".0%")
        fig.update_yaxes(type="category")  # category codes ("24") are labels, not numbers
        left.plotly_chart(fig, width="stretch")
    else:
        left.info(NO_CATEGORIES)
    if priced:
        band = rep["by_price_band"]
        fig = px.bar(band, x="band", y="share", hover_data={"items": True, "in_bundles": True,
                                                            "revenue": ":,.0f", "share": ":.1%"},
                     title="Revenue of bundled items, by price band")
        fig.update_layout(xaxis_title="Item price band", yaxis_title="Share of the band's revenue",
                          yaxis_tickformat=".0%")
        fig.update_xaxes(type="category")
        right.plotly_chart(fig, width="stretch")
    else:
        right.info(NO_PRICES)  # where the price bands would be
    left, right = st.columns(2)
    sc = bundles.assign(items_text=chart_text(bundles["item_names"].map(" | ".join)),
                        name=chart_text(bundles["name"]))
    sc["item_ids"] = chart_text(bundles["items"].map(lambda ids: " | ".join(map(str, ids))))
    fig = px.scatter(sc, x="orders_together", y="confidence", color="lift", size="size",
                     hover_name="name", hover_data={"items_text": True, "item_ids": True,
                                                    "bundle_id": True},
                     title="Bundles: orders together vs confidence (colour: lift)")
    fig.update_layout(xaxis_title="Orders holding all its items (support)",
                      yaxis_title="Confidence of the best rule")
    left.plotly_chart(fig, width="stretch")
    right.plotly_chart(network_chart(rep["nodes"], rep["edges"]), width="stretch")
    keys = ["orders_share", "revenue_share", "reach_share", "band_share", "orders_together",
            "confidence", "lift"]
    glossary_expander([k for k in keys if priced or k not in ("revenue_share", "band_share")])
