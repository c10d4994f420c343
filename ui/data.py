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


def load_sample(ws: Workspace, progress=None) -> dict:
    """Ingest the bundled sample (a slice of UCI Online Retail) as ``sample_online_retail``."""
    from core.ingest.load import ingest

    return ingest(ws, SAMPLE_FILE, dataset=SAMPLE_NAME, progress=progress)
