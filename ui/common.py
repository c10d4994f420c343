"""Workspace/dataset state, progress bars and error display shared by every page."""

from __future__ import annotations

import html
import re
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pandas as pd
import streamlit as st

from core.errors import BundleLabError, friendly
from core.progress import Cancelled
from core.workspace import Workspace

KEY_WORKSPACE = "workspace_dir"
KEY_DATASET = "dataset"

# Characters that can start Markdown, HTML or Streamlit syntax wherever they stand: links and
# images ([ ]), autolinks and HTML (< >), emphasis (*), code (`), strikethrough (~), math ($),
# tables (|), headings (#), directives and icons (:red[..], :material/x:), URL and e-mail
# autolinks (http://, a@b.c), and the backslash itself.
_MD_ALWAYS = re.compile(r"([\\`*\[\]<>$~|#{}:@])")
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # "_" not inside a word: emphasis
_MD_LINE_START = re.compile(r"^([ \t]*)([-+=])", re.MULTILINE)  # lists, rules, setext headings
_MD_NUMBERED = re.compile(r"^([ \t]*\d{1,9})([.)])(?=\s|$)", re.MULTILINE)  # "1. " lists
_MD_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)  # "www.host.com" autolinks


def md(value: object) -> str:
    """``value`` as literal text inside Markdown (st.write/markdown/caption/info/warning/error/
    success/subheader, widget and expander labels, metric labels, progress text). Every user
    value shown in Markdown goes through here (item names and ids, customer ids, file, column,
    category and dataset names, messages quoting them): the characters that could start a link,
    an image (a remote fetch), HTML, emphasis, code, math or a Streamlit directive are
    backslash-escaped, so the text renders exactly as given; ordinary sentence punctuation
    (. , ; ' ( ) - and "_" inside words) is left as it is. Tables (st.dataframe) and select box
    options are plain text already."""
    text = _MD_ALWAYS.sub(r"\\\1", str(value))
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_LINE_START.sub(r"\1\\\2", text)
    text = _MD_NUMBERED.sub(r"\1\\\2", text)
    return _MD_WWW.sub(r"\1\\.", text)


def chart_text(values):
    """User values (item names and ids, categories) as text inside a Plotly chart: Plotly renders
    a subset of HTML in labels, hover text and axis ticks (``<a href>``, ``<b>``, ``<br>``), so
    ``<``, ``>`` and ``&`` are escaped. Takes one value, a list or a pandas Series."""
    if isinstance(values, pd.Series):
        return values.map(lambda v: html.escape(str(v), quote=False))
    if isinstance(values, (list, tuple)):
        return [html.escape(str(v), quote=False) for v in values]
    return html.escape(str(values), quote=False)


def workspace() -> Workspace:
    """The workspace of this session ($BUNDLELAB_WORKSPACE or ./workspace unless set)."""
    return Workspace(st.session_state.get(KEY_WORKSPACE))


def data_version(ws: Workspace, name: str) -> int:
    """The dataset's version: part of every cache key, so a re-ingest invalidates caches."""
    return int(ws.info(name)["version"])


def dataset_picker(ws: Workspace | None = None) -> str | None:
    """Sidebar select box of the workspace's datasets; returns the chosen name (or None when the
    workspace is empty, after telling the user where to load data)."""
    ws = ws or workspace()
    try:
        names = ws.datasets()["name"].tolist()
    except BundleLabError as exc:
        st.sidebar.error(md(exc))
        return None
    if not names:
        st.sidebar.info("No dataset yet: load one on the Upload page, or use the sample data on "
                        "the home page.")
        return None
    current = st.session_state.get(KEY_DATASET)
    # the chosen dataset follows the session (e.g. just uploaded), the box follows the choice
    st.session_state["dataset_select"] = current if current in names else names[-1]

    def changed() -> None:
        st.session_state[KEY_DATASET] = st.session_state["dataset_select"]

    choice = st.sidebar.selectbox("Dataset", names, key="dataset_select", on_change=changed)
    st.session_state[KEY_DATASET] = choice
    return choice


def require_dataset(ws: Workspace | None = None) -> str:
    """The chosen dataset; stops the page with a hint when the workspace has none."""
    name = dataset_picker(ws)
    if name is None:
        st.info("No dataset yet: load one on the Upload page, or use the sample data on the "
                "home page.")
        st.stop()
    return name


def make_progress(label: str) -> tuple[Callable[[float, str], None], Any]:
    """A ``progress(fraction, message)`` callback drawing a bar with a time estimate. ``label``
    and the messages are shown as plain text (they may hold file and item names)."""
    label = md(label)
    bar = st.progress(0.0, text=label)
    start = time.monotonic()

    def progress(fraction: float, message: str) -> None:
        elapsed = time.monotonic() - start
        eta = ""
        if 0.02 < fraction < 1:
            eta = f" (about {elapsed * (1 - fraction) / fraction:.0f}s left)"
        bar.progress(min(1.0, max(0.0, fraction)), text=f"{label}: {md(message)}{eta}")

    return progress, bar


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a ``BundleLabError`` as ``st.error`` (one clear message, never a traceback; plain
    text: it may quote file, column and item names) and a cancellation as an info line."""
    try:
        yield
    except BundleLabError as exc:
        st.error(md(exc))
    except Cancelled:
        st.info("Cancelled: nothing in the workspace was changed.")
    except Exception as exc:  # a full disk, a damaged workspace: the same words as the CLI's
        mapped = friendly(exc)
        if mapped is None:
            raise
        st.error(md(mapped))
