"""Upload page widgets: saving the upload, the mapping editor, the cleaning report."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from core.mapping import FIELDS
from core.sqlclean import REASON_TEXT
from core.workspace import Workspace

NONE = "(none)"
MULTI = {"item_name", "timestamp", "category"}  # text fields that may join several columns
LABELS = {
    "order_id": "Order id (required)", "item_id": "Item id (required)",
    "item_name": "Item name (several columns are joined)", "quantity": "Quantity",
    "unit_price": "Unit price", "customer_id": "Customer", "timestamp": "Date / time (e.g. Date + Time)",
    "category": "Category",
}


def save_upload(ws: Workspace, uploaded, slot: str) -> Path:
    """Write an ``UploadedFile`` to ``uploads/.incoming/`` at once (once per file id)."""
    key = f"saved_{slot}"
    saved = st.session_state.get(key)
    if saved and saved["id"] == uploaded.file_id and Path(saved["path"]).exists():
        return Path(saved["path"])
    folder = ws.uploads_dir / ".incoming" / uuid.uuid4().hex[:10]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(uploaded.name).name
    uploaded.seek(0)
    with open(path, "wb") as fh:
        shutil.copyfileobj(uploaded, fh, length=1024 * 1024)
    st.session_state[key] = {"id": uploaded.file_id, "path": str(path)}
    return path


def mapping_editor(columns: list[str], detected: dict[str, str],
                   catalog_columns: list[str] | None) -> dict[str, str]:
    """One selector per field, preset to the detected mapping; returns overrides for every field
    (empty string = not mapped)."""
    options = list(columns) + [c for c in (catalog_columns or []) if c not in columns]
    out: dict[str, str] = {}
    grid = st.columns(4)
    for i, field in enumerate(FIELDS):
        preset = [p for p in detected.get(field, "").split("+") if p in options]
        box = grid[i % 4]
        if field in MULTI:
            chosen = box.multiselect(LABELS[field], options, default=preset, key=f"map_{field}")
            out[field] = "+".join(chosen)
        else:
            choices = [NONE] + options
            index = choices.index(preset[0]) if preset else 0
            chosen = box.selectbox(LABELS[field], choices, index=index, key=f"map_{field}")
            out[field] = "" if chosen == NONE else chosen
    return out


def cleaning_report(summary: dict, examples: pd.DataFrame) -> None:
    """Kept/dropped by named reason, with example rows (row numbers of the file's data rows)."""
    dropped = summary.get("dropped", {})
    st.write(f"**{summary['rows_read']:,}** order lines read, **{summary['rows_kept']:,}** kept, "
             f"**{sum(dropped.values()):,}** removed.")
    if dropped:
        table = pd.DataFrame([(REASON_TEXT.get(r, r), n) for r, n in dropped.items()],
                             columns=["reason", "rows"])
        st.dataframe(table, hide_index=True)
        for reason in dropped:
            ex = examples[examples["reason"] == reason]
            if ex.empty:
                continue
            with st.expander(f"Examples: {REASON_TEXT.get(reason, reason)}"):
                rows = [dict(row=int(r.line_no), **json.loads(r.detail or "{}"))
                        for r in ex.itertuples()]
                st.dataframe(pd.DataFrame(rows), hide_index=True)
    for w in summary.get("warnings", []):
        st.warning(w)
