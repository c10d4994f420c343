"""Preview of an upload before ingest: what the file is, its columns, the detected mapping and the
first rows, so the user can correct the mapping (Upload page)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from core.ingest import mapping as mp
from core.ingest.sniff import sniff


def preview(path: str | Path, tmp_dir: Path, *, catalog: str | Path | None = None,
            layout: str = "auto", rows: int = 8) -> dict[str, Any]:
    """``{"columns", "catalog_columns", "mapping", "catalog_mapping" ({field: "ColA+ColB"},
    ``core.ingest.mapping.detect`` as ingest runs it without overrides), "explain" (why each
    column was taken), "rows" (list of dicts), "encoding", "delimiter", "layout", "notes"}``.
    Raises the same ``InputError``s as ingest."""
    sn = sniff(path, tmp_dir, layout=layout)
    try:
        mp.check_header(sn.header, Path(path).name)
        with open(sn.path, "rb") as fh:
            head = fh.read(256 * 1024)
        if head[:2] == b"\x1f\x8b":
            import gzip

            with gzip.open(sn.path, "rb") as gz:
                head = gz.read(256 * 1024)
        text = head.decode("utf-8-sig", errors="replace")
        reader = csv.reader(io.StringIO(text), delimiter=sn.delimiter)
        sample = []
        try:
            next(reader, None)
            for row in reader:
                sample.append(dict(zip(sn.header, row)))
                if len(sample) >= rows:
                    break
        except csv.Error:  # a field longer than Python's csv limit: show the rows before it
            pass
        cat_cols = None
        if catalog is not None:
            csn = sniff(catalog, tmp_dir, layout="lines", has_mapping=True)
            cat_cols = csn.header
            if csn.temp:
                csn.path.unlink(missing_ok=True)
        # the same detection as ingest (header synonyms, then the rules), without overrides
        found = mp.detect(sn.header, cat_cols, file=Path(path).name)
        return {
            "columns": sn.header, "catalog_columns": cat_cols,
            "mapping": mp.describe(found.lines), "catalog_mapping": mp.describe(found.catalog),
            "explain": found.explain(),
            "rows": sample, "encoding": sn.encoding, "delimiter": sn.delimiter,
            "layout": sn.kind, "notes": sn.notes,
        }
    finally:
        if sn.temp:
            sn.path.unlink(missing_ok=True)
