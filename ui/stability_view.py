"""Bundle stability over time (``core.bundles.stability``) on the pages: the cached count, the
Bundles page's option and the Over time page's small multiples."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.bundles.stability import LABELS, Stability
from core.errors import BundleLabError
from ui.common import chart_text, md

WINDOW_WORDS = {"month": "calendar months", "quarter": "calendar quarters"}
RULES = ("A bundle **holds** in a window when it is bought together in at least half its usual "
         "share of that window's orders (and in at least 2 orders, and half the list's minimum "
         "scaled to the window's size), with at least half its usual confidence. **steady**: "
         "holds in (nearly) every window with no clear trend; **seasonal**: holds in the same "
         "part of the year only (\"repeats\" when one month or quarter held in two years; with "
         "one year of data it is only \"holds in one part of the year\"); **rising** / "
         "**fading**: a clear trend in its share of orders; **new**: first holds, or its items "
         "first sold, in the last quarter of the windows; **none**: holds in fewer than two "
         "windows. A bundle launched after the data starts is judged from its launch on.")
COLUMNS = {
    "stability": st.column_config.TextColumn(
        "Stability", help="steady, seasonal, rising, fading, new or none: how the bundle did in each "
        "calendar window (see 'How stability is decided')."),
    "windows held": st.column_config.TextColumn(
        "Windows held", help="In how many calendar windows the bundle held, of those with "
        "orders."),
}


@st.cache_data(show_spinner="Counting bundles per window…", max_entries=16)
def stability(root: str, dataset: str, version: int, bundles: tuple, window: str,
              min_orders: int | None) -> Stability:
    """``stability_for_dataset`` for ``bundles`` ((bundle_id, items, orders_together), ...),
    cached per dataset version; raises ``BundleLabError`` for data without dates."""
    from core.bundles.stability import stability_for_dataset
    from core.workspace import Workspace

    frame = pd.DataFrame(list(bundles), columns=["bundle_id", "items", "orders_together"])
    frame["items"] = frame["items"].map(list)
    return stability_for_dataset(Workspace(root), dataset, frame, window, min_orders=min_orders)


def bundle_key(bundles: pd.DataFrame) -> tuple:
    """The hashable part of a bundle list that stability reads."""
    together = bundles["orders_together"] if "orders_together" in bundles else [0] * len(bundles)
    return tuple((str(b), tuple(map(str, its)), int(o) if pd.notna(o) else 0)
                 for b, its, o in zip(bundles["bundle_id"], bundles["items"], together))


def stability_option(ws, name: str, version: int, bundles: pd.DataFrame, table: pd.DataFrame,
                     order: list[str], config: dict, params: dict
                     ) -> tuple[pd.DataFrame, list[str]]:
    """The Bundles page's "Stability over time" option: the label and windows-held columns
    after the name (their headers put in ``config``), and a "steady bundles only" filter.
    Returns the table and column order."""
    c1, c2, c3 = st.columns([2, 2, 3])
    if not c1.toggle("Stability over time", key="bundles_stability",
                     help="Re-count each bundle per calendar month or quarter: is it steady, "
                          "seasonal, rising, fading or new? (the Over time page shows why)"):
        return table, order
    window = c2.radio("Window", ["month", "quarter"], horizontal=True,
                      key="bundles_stability_window")
    try:
        stab = stability(str(ws.root), name, version, bundle_key(bundles), window,
                         params.get("min_orders_used"))
    except BundleLabError as exc:
        st.info(md(exc))
        return table, order
    s = stab.table.set_index("bundle_id")
    ids = table["bundle_id"].astype(str)
    table = table.assign(**{
        "stability": ids.map(s["stability"]).to_numpy(),
        "windows held": ids.map(s["windows_held"].astype(str) + " of "
                                + s["windows"].astype(str)).to_numpy()})
    if c3.checkbox("Steady bundles only", key="bundles_steady_only"):
        table = table[table["stability"] == "steady"]
    config.update(COLUMNS)
    at = order.index("name") + 1 if "name" in order else len(order)
    return table, order[:at] + ["stability", "windows held"] + order[at:]


def label_metrics(table: pd.DataFrame) -> None:
    """One metric per label: how many bundles carry it."""
    counts = table["stability"].value_counts()
    for col, lab in zip(st.columns(len(LABELS)), LABELS):
        col.metric(lab.capitalize(), int(counts.get(lab, 0)))


def trend_grid(series: pd.DataFrame, names: dict[str, str], bundle_ids: list[str],
               window: str) -> go.Figure:
    """Small multiples: per bundle, orders together (left axis, filled marker where it held)
    and confidence (right axis, dashed) per window."""
    cols = 5 if len(bundle_ids) > 4 else max(1, len(bundle_ids))
    rows = -(-len(bundle_ids) // cols)
    titles = [chart_text(f"{b} · {names.get(b, '')}"[:38]) for b in bundle_ids]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, shared_xaxes=True,
                        specs=[[{"secondary_y": True}] * cols] * rows,
                        vertical_spacing=0.12 if rows > 1 else 0.2, horizontal_spacing=0.06)
    for k, b in enumerate(bundle_ids):
        s = series[series["bundle_id"] == b]
        r, c = k // cols + 1, k % cols + 1
        fig.add_trace(go.Scatter(
            x=s["window"], y=s["together"], mode="lines+markers", name="orders together",
            legendgroup="together", showlegend=k == 0, line=dict(color="#1f77b4"),
            marker=dict(symbol=["circle" if h else "circle-open" for h in s["held"]], size=7),
            customdata=s[["orders", "held"]].assign(held=s["held"].map({True: "holds",
                                                                         False: "does not hold"})),
            hovertemplate="%{x}: %{y} of %{customdata[0]} orders (%{customdata[1]})<extra></extra>"),
            row=r, col=c, secondary_y=False)
        fig.add_trace(go.Scatter(
            x=s["window"], y=s["confidence"], mode="lines", name="confidence",
            legendgroup="confidence", showlegend=k == 0,
            line=dict(color="#ff7f0e", dash="dot"),
            hovertemplate="%{x}: confidence %{y:.0%}<extra></extra>"),
            row=r, col=c, secondary_y=True)
    fig.update_yaxes(rangemode="tozero", secondary_y=False)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", secondary_y=True, showgrid=False)
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_layout(height=260 * rows + 80, margin=dict(t=60, b=40),
                      title=f"Orders together (filled: holds) and confidence per "
                            f"{window}", legend=dict(orientation="h", y=1.08))
    return fig
