"""BundleLab home: the dataset overview. Run with ``streamlit run app.py``."""

import plotly.express as px
import streamlit as st

from ui.common import (KEY_DATASET, chart_text, data_version, dataset_picker, make_progress, md, user_errors,
                       workspace)
from ui.data import SAMPLE_NAME, load_sample, overview

st.set_page_config(page_title="BundleLab", page_icon="🧺", layout="wide")
st.title("BundleLab")
st.write("Find product bundles worth promoting from your order lines. This page shows the data "
         "you loaded: how many orders over time, how big baskets are, what sells most, and what "
         "was cleaned away. Load your own export on the **Upload** page.")

ws = workspace()
with user_errors():
    if ws.datasets().empty and not st.session_state.get("sample_declined"):
        progress, bar = make_progress("Loading the sample data (UCI Online Retail, Jan-Mar 2011)")
        load_sample(ws, progress)
        bar.empty()
        st.session_state[KEY_DATASET] = SAMPLE_NAME

name = dataset_picker(ws)
if st.sidebar.button("Use the sample data", help="Load a 3-month slice of UCI Online Retail"):
    with user_errors():
        progress, bar = make_progress("Loading the sample data")
        load_sample(ws, progress)
        bar.empty()
        st.session_state[KEY_DATASET] = SAMPLE_NAME
        st.rerun()

if name is None:
    st.info("No dataset yet. Use the sample data (sidebar) or upload your own on the Upload page.")
    st.stop()

with user_errors():
    ov = overview(str(ws.root), name, data_version(ws, name))
    s = ov["summary"]
    st.subheader(f"Dataset: {md(name)}")
    cols = st.columns(5)
    cols[0].metric("Orders", f"{s['orders']:,}")
    cols[1].metric("Items", f"{s['items']:,}")
    cols[2].metric("Customers", f"{s['customers']:,}")
    cols[3].metric("Order lines kept", f"{s['rows_kept']:,}",
                   delta=f"-{s['rows_read'] - s['rows_kept']:,} cleaned", delta_color="off")
    cols[4].metric("Period", f"{(s['date_min'] or '—')[:10]} → {(s['date_max'] or '—')[:10]}")
    for w in s.get("warnings", []):
        st.caption(f"⚠️ {md(w)}")

    left, right = st.columns(2)
    if not ov["orders_by_week"].empty:
        fig = px.line(ov["orders_by_week"], x="week", y="orders", markers=True,
                      hover_data={"revenue": ":,.0f"}, title="Orders per week")
        fig.update_layout(xaxis_title="Week", yaxis_title="Orders")
        left.plotly_chart(fig, width="stretch")
    else:
        left.info("No dates in this dataset, so no timeline.")
    sizes = ov["basket_sizes"].copy()
    sizes["n_items"] = sizes["n_items"].clip(upper=50)
    sizes = sizes.groupby("n_items", as_index=False)["orders"].sum()
    fig = px.bar(sizes, x="n_items", y="orders", title="Basket size (distinct items per order; 50 = 50 or more)")
    fig.update_layout(xaxis_title="Distinct items in the order", yaxis_title="Orders")
    right.plotly_chart(fig, width="stretch")

    left, right = st.columns(2)
    top = ov["top_items"].sort_values("orders")
    top = top.assign(item_name=chart_text(top["item_name"]), item_id=chart_text(top["item_id"]))
    fig = px.bar(top, x="orders", y="item_name", orientation="h", hover_data=["item_id", "revenue"],
                 title="Top items by number of orders")
    fig.update_layout(xaxis_title="Orders holding the item", yaxis_title="")
    left.plotly_chart(fig, width="stretch")
    if not ov["customers"].empty:
        cust = ov["customers"].copy()
        cust["orders_per_customer"] = cust["orders_per_customer"].clip(upper=30)
        cust = cust.groupby("orders_per_customer", as_index=False)["customers"].sum()
        fig = px.bar(cust, x="orders_per_customer", y="customers",
                     title="Customers by number of orders (30 = 30 or more)")
        fig.update_layout(xaxis_title="Orders per customer", yaxis_title="Customers")
        right.plotly_chart(fig, width="stretch")
    else:
        right.info("No customer column: customer charts and personal recommendations are skipped.")

    st.subheader("Cleaning report")
    st.write(f"{s['rows_read']:,} order lines read, {s['rows_kept']:,} kept. Every removed line is "
             "counted under its reason; examples are on the Upload page.")
    if ov["dropped"].empty:
        st.success("Nothing was removed.")
    else:
        st.dataframe(ov["dropped"], hide_index=True, width="stretch")
