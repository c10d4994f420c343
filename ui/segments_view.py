"""The Bundles page's "Bundles per segment" section (issue 16, item 2): one list per value of a
column of the uploaded file, and which bundles the segments share (``core.bundles.segments``)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.export import table_bytes
from ui.common import md

KEY = "bundles_segments"


@st.cache_data(show_spinner=False, max_entries=4)
def _columns(root: str, dataset: str, version: int) -> list[str]:
    from core.bundles.segments import upload_columns
    from core.workspace import Workspace

    return upload_columns(Workspace(root), dataset)


def segments_section(ws, name: str, version: int, params, *, text: bool) -> None:
    """Column choice, build button, the comparison and the per-segment lists."""
    from core.bundles.segments import MIN_SEGMENT_ORDERS, build_segment_lists
    from ui.common import make_progress

    st.subheader("Bundles per segment")
    columns = _columns(str(ws.root), name, version)
    if not columns:
        st.info("The uploaded file is no longer in the workspace: upload it again to build "
                "lists per store, region or customer segment.")
        return
    c1, c2 = st.columns([2, 1])
    column = c1.selectbox("Segment column (any column of your file: store, region, country, "
                          "customer segment, channel ...)", columns, key="bundles_segment_col")
    if c2.button("Build a list per segment", key="bundles_segment_build"):
        progress, bar = make_progress("Building a list per segment")
        seg = build_segment_lists(ws, name, column, replace(params, text=text),
                                  progress=progress)
        bar.empty()
        st.session_state[KEY] = (name, version, column, seg)
    saved = st.session_state.get(KEY)
    if not saved or saved[:3] != (name, version, column):
        st.caption(f"Each value of the column with at least {MIN_SEGMENT_ORDERS} orders gets its "
                   "own list, built with the settings above.")
        return
    seg = saved[3]
    summary = seg.summary()
    st.write(md(f"{summary['segments']} segment lists of {column}: "
                f"{summary['shared_bundles']} bundle(s) hold in more than one segment, "
                f"{summary['only_one_segment']} in one only."))
    for note in seg.notes[:5]:
        st.caption(md(note))
    comparison = seg.comparison.assign(items=seg.comparison["items"].map(", ".join))
    st.dataframe(comparison, hide_index=True, width="stretch", column_config={
        "items": "Item ids", "name": "Bundle", "segments": "Segments with it",
        "n_segments": "Segments", "shared": "Shared"})
    shown = seg.bundles[["segment", "segment_orders", "bundle_id", "name", "orders_together",
                         "confidence", "lift"]]
    st.dataframe(shown, hide_index=True, width="stretch")
    st.download_button("Download the segment lists (CSV)",
                       table_bytes(seg.bundles, "csv", sheet_name="bundles"),
                       file_name=f"{name}-bundles-by-{column}.csv", mime="text/csv",
                       key="bundles_segment_download")
