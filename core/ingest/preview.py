"""Preview of an upload before ingest: what the file is, its columns, the detected mapping and the
first rows, so the user can correct the mapping (Upload page)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from core.ingest import mapping as mp
from core.ingest import parquet
from core.ingest.catalog_text import add_item_names, sample
from core.ingest.sniff import Sniffed, sniff


def preview(path: str | Path, tmp_dir: Path, *, catalog: str | Path | None = None,
            layout: str = "auto", rows: int = 8) -> dict[str, Any]:
    """``{"columns", "catalog_columns", "mapping", "catalog_mapping" ({field: "ColA+ColB"},
    ``core.ingest.mapping.detect`` as ingest runs it without overrides), "explain" (why each
    column was taken), "mapping_notes" (``mapping.Detection.notes``), "rows" (list of dicts),
    "encoding", "delimiter", "layout", "notes"}``.
    Raises the same ``InputError``s as ingest."""
    sn = sniff(path, tmp_dir, layout=layout)
    try:
        mp.check_header(sn.header, Path(path).name)
        rows_shown = [dict(zip(sn.header, row)) for row in _first_rows(sn, tmp_dir, rows)]
        # the same detection as ingest (header synonyms, then the rules, then item names from
        # the catalog's columns), without overrides
        csn = sniff(catalog, tmp_dir, layout="lines", has_mapping=True) \
            if catalog is not None else None
        try:
            found = mp.detect(sn.header, csn.header if csn else None, file=Path(path).name)
            if csn is not None:
                add_item_names(found, csn.header, lambda: sample(csn.path, csn.delimiter))
        finally:
            if csn is not None and csn.temp:
                csn.path.unlink(missing_ok=True)
        return {
            "columns": sn.header, "catalog_columns": csn.header if csn else None,
            "mapping": mp.describe(found.lines), "catalog_mapping": mp.describe(found.catalog),
            "explain": found.explain(), "mapping_notes": found.notes,
            "rows": rows_shown, "encoding": sn.encoding, "delimiter": sn.delimiter,
            "layout": sn.kind, "notes": sn.notes,
        }
    finally:
        if sn.temp:
            sn.path.unlink(missing_ok=True)


def _first_rows(sn: Sniffed, tmp_dir: Path, limit: int) -> list[list[str]]:
    """The first ``limit`` data rows of the sniffed file, as text."""
    if sn.kind == "parquet":
        return parquet.head_rows(sn.path, tmp_dir, limit)
    with open(sn.path, "rb") as fh:
        head = fh.read(256 * 1024)
    if head[:2] == b"\x1f\x8b":
        import gzip

        with gzip.open(sn.path, "rb") as gz:
            head = gz.read(256 * 1024)
    text = head.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=sn.delimiter)
    found: list[list[str]] = []
    try:
        next(reader, None)
        for row in reader:
            found.append(row)
            if len(found) >= limit:
                break
    except csv.Error:  # a field longer than Python's csv limit: show the rows before it
        pass
    return found
