"""Upload page widgets: saving the upload, the mapping editor, the cleaning report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import streamlit as st

from core.files import owned_name, safe_upload_name
from core.ingest.mapping import CUSTOMER_DAY, FIELDS, split_spec
from core.ingest.cleaning import REASON_TEXT
from core.workspace import Workspace
from ui.common import md

NONE = "(none)"
MULTI = {"item_name", "timestamp", "category"}  # text fields that may join several columns
LABELS = {
    "order_id": "Order id (required)", "item_id": "Item id (required)",
    "item_name": "Item name (several columns are joined)", "quantity": "Quantity",
    "unit_price": "Unit price", "line_total": "Line total (when no unit price)",
    "customer_id": "Customer", "timestamp": "Date / time (e.g. Date + Time)",
    "category": "Category",
}


def _incoming_folder(ws: Workspace, path: str | Path) -> Path | None:
    """The ``incoming/<owned name>`` folder holding ``path``, or None when it lies elsewhere."""
    path = Path(path)
    return path.parent if path.parent.parent == ws.incoming_dir else None


def save_upload(ws: Workspace, uploaded, slot: str, *, for_ingest: bool = False) -> Path:
    """Write an ``UploadedFile`` to ``incoming/p<PID>-<hex>/`` at once (once per file id), under
    a safe name (``core.files.safe_upload_name``; the original name is only shown). A newer file
    in the same ``slot`` replaces the older one's copy. After a load (``finish_upload``) the slot
    reads the stored upload; ``for_ingest`` then writes a fresh incoming copy, so that a second
    load gets its own stored upload."""
    key = f"saved_{slot}"
    saved = st.session_state.get(key)
    if saved and saved["id"] == uploaded.file_id and Path(saved["path"]).exists() and (
            not for_ingest or _incoming_folder(ws, saved["path"]) is not None):
        return Path(saved["path"])
    discard_upload(ws, slot)
    folder = ws.incoming_dir / owned_name("")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_upload_name(uploaded.name)
    uploaded.seek(0)
    with open(path, "wb") as fh:
        shutil.copyfileobj(uploaded, fh, length=1024 * 1024)
    st.session_state[key] = {"id": uploaded.file_id, "path": str(path)}
    return path


def discard_upload(ws: Workspace, slot: str) -> None:
    """Forget the slot's file, deleting its incoming copy (never a stored upload)."""
    saved = st.session_state.pop(f"saved_{slot}", None)
    folder = _incoming_folder(ws, saved["path"]) if saved else None
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def finish_upload(ws: Workspace, slot: str, stored: Path | None) -> None:
    """After a successful load: delete the slot's incoming copy (ingest copied it to
    ``uploads/<dataset>/``, ``stored``); the slot then reads ``stored`` for the preview."""
    saved = st.session_state.get(f"saved_{slot}")
    if not saved or stored is None or not stored.exists() or _incoming_folder(ws, stored):
        return  # the dataset may read from the incoming copy itself: keep it
    discard_upload(ws, slot)
    st.session_state[f"saved_{slot}"] = {"id": saved["id"], "path": str(stored)}


def mapping_editor(columns: list[str], catalog_columns: list[str] | None,
                   detected: dict[str, str], catalog_detected: dict[str, str]) -> dict[str, str]:
    """One selector per field, preset to the detection ingest runs itself
    (``core.ingest.mapping.detect``, via the preview): the order lines' column, else the
    catalog's (a catalog's product names show under "Item name"). Returns overrides only for the
    fields the user changed (``""`` = unmapped on purpose): an untouched field is left to the
    detection, so a catalog mapping is never removed by a selector nobody used. A selector is
    reset to the new preset whenever the files (their columns) or the detection change, e.g. when
    a catalog is added after the order lines."""
    options = list(columns) + [c for c in (catalog_columns or []) if c not in columns]
    out: dict[str, str] = {}
    grid = st.columns(4)
    for i, field in enumerate(FIELDS):
        spec = detected.get(field) or catalog_detected.get(field, "")
        key, box = f"map_{field}", grid[i % 4]
        if field in MULTI:
            preset: list[str] | str = [p for p in split_spec(spec) if p in options]
            choices = options
        else:
            choices = [NONE] + ([CUSTOMER_DAY] if field == "order_id" else []) + options
            preset = spec if spec in choices else NONE
        signature = (tuple(choices), str(preset))
        # new files or detection, or the selector's state is gone (the page was left)
        if key not in st.session_state or st.session_state.get(f"{key}_preset") != signature:
            st.session_state[key] = preset
            st.session_state[f"{key}_preset"] = signature
        if field in MULTI:
            chosen = box.multiselect(LABELS[field], choices, key=key)
            if chosen != preset:
                out[field] = "+".join(chosen)
        else:
            chosen = box.selectbox(LABELS[field], choices, key=key)
            if chosen != preset:
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
        st.warning(md(w))
