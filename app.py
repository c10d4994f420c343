"""BundleLab: the page navigation (sidebar titles, ``ui.nav.PAGES``) and the home page, the
dataset overview. Run with ``streamlit run app.py``."""

import pandas as pd
import plotly.express as px
import streamlit as st

from ui.common import (KEY_DATASET, chart_text, data_version, dataset_picker, make_progress, md,
                       user_errors, workspace)
from ui.data import SAMPLE_NAME, load_sample, overview
from ui.jobs_view import sidebar_status, start_after_load
from ui.nav import HOME_TITLE, PAGES, page_link


def capped_bars(frame, column: str, count: str, cap: int, title: str, x_title: str,
                y_title: str):
    """Bars of ``count`` per value of ``column``, values above ``cap`` counted at ``cap``."""
    capped = frame.assign(**{column: frame[column].clip(upper=cap)})
    capped = capped.groupby(column, as_index=False)[count].sum()
    fig = px.bar(capped, x=column, y=count, title=title)
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title)
    return fig

SAMPLE_INFO = ("This is the bundled sample (UCI Online Retail, 3 months). Upload your own export "
               "on the Upload page.")
KEY_SAMPLE_DECLINED = "sample_declined"


def _load_sample(ws, label: str) -> None:
    progress, bar = make_progress(label)
    load_sample(ws, progress)
    bar.empty()
    st.session_state[KEY_DATASET] = SAMPLE_NAME
    start_after_load(ws, SAMPLE_NAME)


def _sample_state(ws, name: str | None) -> None:
    """Say when the data shown is the bundled sample, and once the user's own data is in, offer
    to remove the sample."""
    names = ws.datasets()["name"].tolist()
    if SAMPLE_NAME not in names:
        return
    own = [n for n in names if n != SAMPLE_NAME]
    if name == SAMPLE_NAME:
        st.info(SAMPLE_INFO)
        if not own:
            page_link("pages/1_Upload.py", "Upload your own export")
    if own:
        left, right = st.columns([3, 1])
        left.caption("The bundled sample is still in the workspace next to your own data.")
        if right.button("Remove the sample data", key="remove_sample",
                        help="Deletes the sample dataset with its models and bundle lists; your "
                             "own datasets stay."):
            ws.delete(SAMPLE_NAME)
            st.session_state[KEY_SAMPLE_DECLINED] = True  # not loaded again in this session
            if st.session_state.get(KEY_DATASET) == SAMPLE_NAME:
                st.session_state[KEY_DATASET] = own[-1]
            st.rerun()


def _period(s: dict) -> tuple[str, str]:
    """The period as a metric value that fits (days) and a caption with the exact dates."""
    if not s.get("date_min") or not s.get("date_max"):
        return "—", "no dates in this dataset"
    start, end = pd.Timestamp(s["date_min"]), pd.Timestamp(s["date_max"])
    days = (end.normalize() - start.normalize()).days + 1
    return f"{days:,} day{'s' if days != 1 else ''}", f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"


def home() -> None:
    st.title("BundleLab")
    st.write("Find product bundles worth promoting from your order lines. This page shows the "
             "data you loaded: how many orders over time, how big baskets are, what sells most, "
             "and what was cleaned away. Load your own export on the **Upload** page.")

    ws = workspace()
    with user_errors():
        if ws.datasets().empty and not st.session_state.get(KEY_SAMPLE_DECLINED):
            _load_sample(ws, "Loading the sample data (UCI Online Retail, Jan-Mar 2011)")

    name = dataset_picker(ws)
    if SAMPLE_NAME not in ws.datasets()["name"].tolist() and st.sidebar.button(
            "Use the sample data", help="Load a 3-month slice of UCI Online Retail"):
        with user_errors():
            _load_sample(ws, "Loading the sample data")
            st.rerun()

    if name is None:
        st.info("No dataset yet. Use the sample data (sidebar) or upload your own on the Upload "
                "page.")
        st.stop()

    with user_errors():
        _sample_state(ws, name)
        ov = overview(str(ws.root), name, data_version(ws, name))
        s = ov["summary"]
        priced = ov.get("has_prices", True)
        st.subheader(f"Dataset: {md(name)}")
        cols = st.columns(5)
        cols[0].metric("Orders", f"{s['orders']:,}")
        cols[1].metric("Items", f"{s['items']:,}")
        cols[2].metric("Customers", f"{s['customers']:,}")
        removed = s["rows_read"] - s["rows_kept"]
        cols[3].metric("Order lines kept", f"{s['rows_kept']:,}")
        cols[3].caption(f"{removed:,} removed in cleaning" if removed else
                        "none removed in cleaning")
        value, dates = _period(s)
        cols[4].metric("Period", value)
        cols[4].caption(dates)
        for w in s.get("warnings", []):
            st.caption(f"⚠️ {md(w)}")

        left, right = st.columns(2)
        if not ov["orders_by_week"].empty:
            fig = px.line(ov["orders_by_week"], x="week", y="orders", markers=True,
                          hover_data={"revenue": ":,.0f"} if priced else None,
                          title="Orders per week")
            fig.update_layout(xaxis_title="Week", yaxis_title="Orders")
            left.plotly_chart(fig, width="stretch")
        else:
            left.info("No dates in this dataset, so no timeline.")
        right.plotly_chart(capped_bars(
            ov["basket_sizes"], "n_items", "orders", 50,
            "Basket size (distinct items per order; 50 = 50 or more)",
            "Distinct items in the order", "Orders"), width="stretch")

        left, right = st.columns(2)
        top = ov["top_items"].sort_values("orders")
        top = top.assign(item_name=chart_text(top["item_name"]), item_id=chart_text(top["item_id"]))
        fig = px.bar(top, x="orders", y="item_name", orientation="h",
                     hover_data=["item_id", "revenue"] if priced else ["item_id"],
                     title="Top items by number of orders")
        fig.update_layout(xaxis_title="Orders holding the item", yaxis_title="")
        fig.update_yaxes(type="category")  # item names may be numeric ids: labels, not numbers
        left.plotly_chart(fig, width="stretch")
        if not ov["customers"].empty:
            right.plotly_chart(capped_bars(
                ov["customers"], "orders_per_customer", "customers", 30,
                "Customers by number of orders (30 = 30 or more)", "Orders per customer",
                "Customers"), width="stretch")
        else:
            right.info("No customer column: customer charts, personal recommendations and target "
                       "customers need one (map a customer column on the Upload page).")

        st.subheader("Cleaning report")
        st.write(f"{s['rows_read']:,} order lines read, {s['rows_kept']:,} kept. Every removed "
                 "line is counted under its reason; examples are on the Upload page.")
        if ov["dropped"].empty:
            st.success("Nothing was removed.")
        else:
            st.dataframe(ov["dropped"], hide_index=True, width="stretch")


st.set_page_config(page_title="BundleLab", page_icon="🧺", layout="wide")
sidebar_status(workspace())  # background model training: visible and cancellable on every page
st.navigation([st.Page(home, title=HOME_TITLE, default=True)]
              + [st.Page(script, title=title) for script, title in PAGES]).run()
