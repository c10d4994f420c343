"""The Upload page's data check: what loading the upload with the current settings would do
(``core.ingest.check``: a dry run, nothing stored), shown before the one click that loads it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import streamlit as st

from core.ingest.load import IngestOptions
from core.workspace import Workspace
from ui.common import md

SUGGESTED = {"item_name": "Item names", "category": "Categories", "unit_price": "Prices",
             "customer_id": "Customers", "timestamp": "Dates"}


def _stamp(path: Path | None) -> tuple:
    if path is None:
        return ()
    st_ = path.stat()
    return (str(path), st_.st_mtime_ns, st_.st_size)


@st.cache_data(show_spinner="Checking the file (nothing is stored yet) ...", max_entries=8)
def _cached_check(root: str, lines: tuple, catalog: tuple, options: str) -> dict:
    from core.ingest.check import check

    return check(Workspace(root), lines[0], catalog=catalog[0] if catalog else None,
                 options=IngestOptions(**json.loads(options)))


def run_check(ws: Workspace, path: Path, catalog: Path | None, options: IngestOptions) -> dict:
    """``core.ingest.check`` of the upload, cached on the files (path, time, size) and the
    options, so that the page's other widgets do not read the file again."""
    return _cached_check(str(ws.root), _stamp(path), _stamp(catalog),
                         json.dumps(asdict(options), sort_keys=True))


def column_roles(result: dict) -> None:
    """What each column was taken for, and why (header synonym, a rule, your choice)."""
    st.markdown("**What each column is taken for**")
    table = pd.DataFrame(result["explain"], columns=["column", "field", "source", "why"])
    st.dataframe(table, hide_index=True, column_config={
        "why": st.column_config.TextColumn("why", width="large")})


def data_check(result: dict) -> None:
    """Rows kept and dropped by reason (share, examples), what the files' contents decided about
    the mapping (item names built from the catalog's columns), placeholder and duplicate
    findings, the catalog's match, the warnings of the load and the columns worth mapping."""
    read, kept = result["rows_read"], result["rows_kept"]
    dates = (f", {result['date_min'][:10]} to {result['date_max'][:10]}"
             if result.get("date_min") else "")
    st.write(f"**{read:,}** rows read; loading would keep **{kept:,}** ({kept / read:.1%}): "
             f"**{result['orders']:,}** orders, **{result['items']:,}** items, "
             f"**{result['customers']:,}** customers{dates}.")
    for note in result.get("mapping_notes", []):  # e.g. item names built from the catalog
        st.info(md(note))
    if result.get("nothing_kept"):
        st.error(md(result["nothing_kept"]))
    if result["reasons"]:
        table = pd.DataFrame([(r["text"], r["rows"], f"{r['share']:.1%}")
                              for r in result["reasons"]],
                             columns=["would be removed because", "rows", "share"])
        st.dataframe(table, hide_index=True)
        for r in result["reasons"]:
            if r["examples"]:
                with st.expander(f"Examples: {md(r['text'])}"):
                    st.dataframe(pd.DataFrame(r["examples"]), hide_index=True)
    findings = []
    for p in result["placeholders"]:
        findings.append(f"{p['rows']:,} rows hold a placeholder in {p['field']} "
                        f"({p['column']}: {', '.join(p['values'])}): {p['effect']}.")
    dup = result["duplicates"]
    if dup["exact_rows"]:
        findings.append(f"{dup['exact_rows']:,} rows are exact copies of an earlier row.")
    if dup["repeated_lines"]:
        findings.append(f"{dup['repeated_lines']:,} kept lines repeat an item already in the "
                        "same order (an order counts an item once for bundles).")
    if dup["catalog_ids"]:
        findings.append(f"{dup['catalog_ids']:,} catalog item ids appear on several rows; the "
                        "first row of each is used.")
    cat = result.get("catalog")
    if cat:
        findings.append(f"Catalog: {cat['items']:,} items ({cat['named']:,} with a name); "
                        f"{cat['sold_in_catalog']:,} sold items found in it, "
                        f"{cat['sold_not_in_catalog']:,} not; {cat['never_sold']:,} never sold "
                        "(bundled by their text).")
    for f in findings:
        st.caption(md(f))
    for w in result["warnings"]:
        st.warning(md(w))
    if result["suggestions"]:
        st.markdown("**Would add value if mapped**")
        rows = [(SUGGESTED.get(s["field"], s["field"]), s["text"],
                 ", ".join(s["columns"]) or "no column found")
                for s in result["suggestions"]]
        st.dataframe(pd.DataFrame(rows, columns=["missing", "what it costs", "columns to try"]),
                     hide_index=True)
