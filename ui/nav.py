"""The app's pages with their sidebar titles (``app.py`` builds ``st.navigation`` from them) and
links between pages."""

from __future__ import annotations

import streamlit as st

# (script, title shown in the sidebar and in links); the home page is app.py's own function
PAGES = [
    ("pages/1_Upload.py", "Upload"),
    ("pages/2_Rules.py", "Rules"),
    ("pages/3_Item_similarity.py", "Item similarity"),
    ("pages/4_Recommender.py", "Recommender"),
    ("pages/5_Bundles.py", "Bundles"),
    ("pages/6_Coverage.py", "Coverage"),
    ("pages/7_Evaluate_Export.py", "Evaluate & Export"),
    ("pages/8_Over_time.py", "Over time"),
]
TITLES = dict(PAGES)
HOME_TITLE = "Home"


def page_link(script: str, label: str | None = None, container=None) -> None:
    """A link to the page ``script`` (a path of ``PAGES``). A page run on its own (``streamlit
    run pages/...``, a page test) has no navigation to link into: it names the page instead."""
    from streamlit.errors import StreamlitPageNotFoundError

    where = container or st
    label = label or f"Open the {TITLES[script]} page"
    try:
        where.page_link(script, label=label, icon=":material/arrow_forward:")
    except StreamlitPageNotFoundError:
        where.caption(f"→ {label} (in the sidebar)")
