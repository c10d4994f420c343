"""Over time: will each bundle of the list still work next month? Steady, seasonal, rising,
fading or new, from the bundle re-counted per calendar month or quarter."""

import streamlit as st

from core.bundles.stability import LABELS
from core.errors import BundleLabError
from ui.bundles_view import current_or_saved_list
from ui.common import data_version, md, require_dataset, user_errors, workspace
from ui.stability_view import (RULES, bundle_key, label_metrics, stability, trend_grid)

TOP = 10  # bundles drawn as small multiples

st.set_page_config(page_title="Over time · BundleLab", page_icon="🧺", layout="wide")
st.title("Over time")
st.write("Will each bundle still work next month? Every bundle of the list re-counted in each "
         "calendar month or quarter of your orders: how many orders held all its items, its "
         "confidence, and whether it held up there; then one word for the pattern: steady, "
         "seasonal, rising, fading, new (or none: too rare per window to tell).")

ws = workspace()
name = require_dataset(ws)

with user_errors():
    version = data_version(ws, name)
    bundles, params, source = current_or_saved_list(ws, name)
    min_orders = params.get("min_orders_used")
    window = st.radio("Window", ["month", "quarter"], horizontal=True, key="overtime_window")
    plural = "" if len(bundles) == 1 else "s"
    st.caption(f"Showing {md(source)}: {len(bundles)} bundle{plural}, counted per calendar "
               f"{window} on all orders of {md(name)}.")
    try:
        stab = stability(str(ws.root), name, version, bundle_key(bundles), window,
                         int(min_orders) if min_orders else None)
    except BundleLabError as exc:  # no dates: a note, not an error
        st.info(md(exc))
        st.stop()
    n = int(stab.table["windows"].max())
    if n < 2:
        st.info(f"The orders span only {n} {window}: stability needs at least two windows. "
                "Try months, or load a longer period.")
    label_metrics(stab.table)
    with st.expander("How stability is decided"):
        st.markdown(RULES)
        st.caption("With about a year of orders, 'seasonal' can only mean 'holds in one part of "
                   "the year' (plus the months seen twice): a yearly pattern needs two years.")

    table = bundles[["bundle_id", "name", "orders_together"]].merge(stab.table, on="bundle_id")
    shown = st.multiselect("Labels", list(LABELS), default=list(LABELS), key="overtime_labels")
    table = table[table["stability"].isin(shown)]
    names = dict(zip(table["bundle_id"].astype(str), table["name"].astype(str)))
    top = table["bundle_id"].astype(str).head(TOP).tolist()
    if top:
        st.plotly_chart(trend_grid(stab.series, names, top, window), width="stretch")
        if len(table) > TOP:
            st.caption(f"The first {TOP} bundles of the list with these labels; all are in the "
                       "table below.")
    else:
        st.info("No bundle with these labels.")
    table = table.assign(held=table["windows_held"].astype(str) + " of "
                         + table["windows"].astype(str))
    cfg = {
        "bundle_id": st.column_config.TextColumn("Bundle"),
        "name": st.column_config.TextColumn("Name"),
        "orders_together": st.column_config.NumberColumn("Orders together"),
        "stability": st.column_config.TextColumn("Stability"),
        "held": st.column_config.TextColumn("Windows held", help="Windows where the bundle held, "
                                            "of those with orders."),
        "season": st.column_config.TextColumn("Season", help="Seasonal bundles: the calendar "
                                              "months or quarters where they hold."),
        "evidence": st.column_config.TextColumn("Why"),
        "trend": st.column_config.NumberColumn(
            "Trend", format="%.2f", help="The fitted change of its share of orders from the "
            "first window to the last, relative to its average share (+1: it rises by its "
            "average)."),
        "first_held": st.column_config.TextColumn("First held"),
        "last_held": st.column_config.TextColumn("Last held"),
        "anchor": st.column_config.TextColumn("Anchor item", help="Its best-selling item: "
                                              "confidence is counted from its orders."),
    }
    st.dataframe(table, hide_index=True, width="stretch", column_order=list(cfg),
                 column_config=cfg)
    st.download_button("Download the counts per window (CSV)",
                       stab.series.to_csv(index=False).encode(),
                       file_name=f"{name}-bundles-{window}.csv", mime="text/csv",
                       key="overtime_download")
