"""Cached wrappers around core functions (keys: workspace, dataset, data version, params)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.workspace import Workspace

SAMPLE_FILE = Path(__file__).resolve().parents[1] / "sample_data" / "online_retail_2011Q1.csv.gz"
SAMPLE_NAME = "sample_online_retail"


@st.cache_data(show_spinner=False, max_entries=16)
def overview(root: str, dataset: str, version: int) -> dict:
    from core.ingest.overview import overview as _overview

    return _overview(Workspace(root), dataset)


@st.cache_data(show_spinner=False, max_entries=8)
def default_cut(root: str, dataset: str, version: int) -> str | None:
    """The suggested first day of the test period (``core.baskets.default_cut``) as
    ``YYYY-MM-DD``, or None when the dataset has no dates that split."""
    from core.baskets import default_cut as _default_cut

    cut = _default_cut(Workspace(root).lines(dataset, columns=["order_id", "timestamp"]))
    return None if cut is None else cut.date().isoformat()


def load_sample(ws: Workspace, progress=None) -> dict:
    """Ingest the bundled sample (a slice of UCI Online Retail) as ``sample_online_retail``."""
    from core.ingest.load import ingest

    return ingest(ws, SAMPLE_FILE, dataset=SAMPLE_NAME, progress=progress)


def evaluation_section(ws, name: str, version: int, *, block: str, key: str, button: str,
                       running: str, options: dict | None = None):
    """The "scored on later orders" widget of the Item similarity and Recommender pages: a test
    start date and a button that runs ``block`` of the held-out evaluation; returns the right-
    hand column and the latest ``(metrics, about)`` of that block (None before the first run)."""
    from core.evaluate import evaluate
    from core.runs import latest_metrics
    from ui.common import make_progress

    left, right = st.columns([1, 3])
    cut = left.text_input("Test period starts", key=f"{key}_cut",
                          value=default_cut(str(ws.root), name, version) or "",
                          help="YYYY-MM-DD; empty = the last 20% of orders")
    if left.button(button, key=key):
        progress, bar = make_progress(running)
        evaluate(ws, name, cut=cut or None, blocks=[block], options={block: options or {}},
                 progress=progress)
        bar.empty()
    return right, latest_metrics(ws, name, block)
