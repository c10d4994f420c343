"""Ingest: an order-lines export (or a basket-per-line file) plus an optional catalog into a
workspace dataset, with a cleaning report.

``ingest(ws, path, catalog=..., dataset=..., options=..., progress=...)`` returns the summary of
docs/ARCHITECTURE.md §7: ``dataset, rows_read, rows_kept, dropped {reason: count}, orders, items,
customers, date_min, date_max, mapping {field: column}`` plus ``warnings``, ``encoding``,
``delimiter``, ``layout``, ``catalog_items`` and ``seconds``. ``rows_read == rows_kept +
sum(dropped)`` always.

The steps: ``sniff`` (and convert) the file, resolve the column mapping, ``read_raw`` it into
DuckDB, ``clean_and_store``. Reading and cleaning run inside DuckDB (out of core); the new dataset
replaces an old one of the same name in one transaction, only after everything succeeded. The raw
upload is kept under ``uploads/<dataset>/`` so a different cleaning choice can be re-run
(``reclean``); it is staged first and promoted only after the dataset was committed.
"""

from __future__ import annotations

import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import duckdb

from core.errors import BundleLabError, InputError
from core.files import owned_name
from core.ingest import mapping as mp
from core.ingest.catalog_text import add_item_names, sample
from core.ingest.rawread import WIDE_COLUMNS, NotUtf8, configure, narrow, read_raw
from core.ingest.sniff import Sniffed, sniff
from core.ingest.store import clean_and_store
from core.progress import Progress, report, sub_progress
from core.workspace import Workspace, check_dataset_name


@dataclass(frozen=True)
class IngestOptions:
    """Cleaning choices. ``mapping``: field -> column(s) overrides (``"Date+Time"``);
    ``bad_dates``: ``drop`` rows whose timestamp cannot be parsed, or ``keep`` them without one;
    ``layout``: ``auto``, ``lines`` (header + order lines) or ``baskets`` (one basket per line)."""

    mapping: dict[str, str] = field(default_factory=dict)
    bad_dates: str = "drop"
    drop_duplicates: bool = True
    drop_cancellations: bool = True
    drop_non_products: bool = True
    drop_placeholders: bool = True
    layout: str = "auto"

    def __post_init__(self) -> None:
        if self.bad_dates not in ("drop", "keep"):
            raise BundleLabError(f"bad_dates must be 'drop' or 'keep', not {self.bad_dates!r}")
        if self.layout not in ("auto", "lines", "baskets"):
            raise BundleLabError(f"layout must be auto, lines or baskets, not {self.layout!r}")


def default_name(path: str | Path) -> str:
    """The file's stem without compression/format suffixes, made a valid dataset name."""
    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    name = re.sub(r"[^A-Za-z0-9_.\- ]+", "_", name).strip(" ._-") or "dataset"
    return name[:80]


def _stage_uploads(ws: Workspace, paths: list[Path]) -> Path | None:
    """Copy the raw upload(s) into ``uploads/.staging-*``; None when they already live in the
    workspace (a re-clean)."""
    if all(ws.uploads_dir in p.resolve().parents for p in paths):
        return None
    staging = ws.uploads_dir / owned_name(".staging-")
    staging.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        if p.is_dir():  # a folder of Parquet part files
            shutil.copytree(p, staging / _stored_name(p, i))
        else:
            shutil.copyfile(p, staging / _stored_name(p, i))
    return staging


def _stored_name(p: Path, i: int) -> str:
    return p.name if i == 0 else f"catalog-{p.name}"


def _final_sources(ws: Workspace, name: str, paths: list[Path], staging: Path | None) -> list[str]:
    if staging is None:
        return [str(p.resolve().relative_to(ws.root)) for p in paths]
    return [str((ws.uploads_dir / name / _stored_name(p, i)).relative_to(ws.root))
            for i, p in enumerate(paths)]


def _promote(ws: Workspace, name: str, staging: Path | None) -> None:
    """Replace ``uploads/<name>`` by the staged upload (after the dataset was committed)."""
    if staging is None:
        return
    final = ws.uploads_dir / name
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


@dataclass
class Inputs:
    """An upload ready to read: the sniffed order lines (and catalog), the column detection, and
    the temp files to delete afterwards."""

    sn: Sniffed
    cat_sn: Sniffed | None
    detection: mp.Detection
    tmp: list[Path] = field(default_factory=list)

    @property
    def lines_map(self) -> dict[str, list[str]]:
        return self.detection.lines

    @property
    def cat_map(self) -> dict[str, list[str]]:
        return self.detection.catalog


@contextmanager
def opened(ws: Workspace, path: Path, catalog: Path | None, options: IngestOptions,
           progress: Progress | None = None) -> Iterator[Inputs]:
    """Sniff the upload (and catalog), check the headers, resolve the mapping (``strict``) and
    cut very wide files down to the mapped columns; the temp files go on exit. Shared by
    ``ingest`` and the data check (``core.ingest.check``)."""
    inp = Inputs(None, None, mp.Detection({}, {}))  # type: ignore[arg-type]
    try:
        inp.sn = sniff(path, ws.tmp_dir, layout=options.layout,
                       has_mapping=bool(options.mapping), progress=progress)
        if inp.sn.temp:
            inp.tmp.append(inp.sn.path)
        mp.check_header(inp.sn.header, path.name)
        if catalog is not None:
            inp.cat_sn = sniff(catalog, ws.tmp_dir, layout="lines", has_mapping=True)
            if inp.cat_sn.temp:
                inp.tmp.append(inp.cat_sn.path)
            mp.check_header(inp.cat_sn.header, catalog.name)
        inp.detection = mp.detect(inp.sn.header, inp.cat_sn.header if inp.cat_sn else None,
                                  options.mapping, file=path.name,
                                  catalog_file=catalog.name if catalog else None, strict=True)
        if inp.cat_sn is not None:  # no name column anywhere: names from the catalog's text
            cat_sn = inp.cat_sn
            add_item_names(inp.detection, cat_sn.header,
                           lambda: sample(cat_sn.path, cat_sn.delimiter), options.mapping)
        if len(inp.sn.header) > WIDE_COLUMNS:
            inp.sn = narrow(inp.sn, [c for cols in inp.lines_map.values() for c in cols],
                            ws.tmp_dir)
            inp.tmp.append(inp.sn.path)
        if inp.cat_sn is not None and len(inp.cat_sn.header) > WIDE_COLUMNS:
            inp.cat_sn = narrow(inp.cat_sn, [c for cols in inp.cat_map.values() for c in cols],
                                ws.tmp_dir)
            inp.tmp.append(inp.cat_sn.path)
        yield inp
    finally:
        for p in inp.tmp:
            p.unlink(missing_ok=True)


def read_inputs(con: duckdb.DuckDBPyConnection, inp: Inputs, path: Path, options: IngestOptions,
                tmp_dir: Path) -> tuple[int, int]:
    """Read the order lines into temp table ``raw`` (and the catalog into ``cat_raw``); returns
    the row counts. Invalid UTF-8 past the sniffed head: sniff again, scanning the whole file."""
    configure(con)
    try:
        rows_read = read_raw(con, inp.sn, "raw", tmp_dir)
    except NotUtf8:  # invalid UTF-8 past the sniffed head: convert the whole file
        inp.sn = sniff(path, tmp_dir, layout=options.layout, full_scan=True,
                       has_mapping=bool(options.mapping))
        if inp.sn.temp:
            inp.tmp.append(inp.sn.path)
        try:
            rows_read = read_raw(con, inp.sn, "raw", tmp_dir)
        except NotUtf8:
            raise InputError(
                f"{path.name}: its text cannot be read as UTF-8, even after repairing the bytes "
                "that are not UTF-8. Open it and save it again as UTF-8 (Excel: 'CSV UTF-8'), "
                "then upload that.", file=str(path), columns=inp.sn.header) from None
    if rows_read == 0:
        raise InputError(f"{path.name} has a header ({', '.join(inp.sn.header[:8])}) but no "
                         "data rows. Export the orders again with the data included.",
                         file=str(path), columns=inp.sn.header)
    cat_rows = read_raw(con, inp.cat_sn, "cat_raw", tmp_dir) if inp.cat_sn is not None else 0
    return rows_read, cat_rows


def ingest(ws: Workspace, path: str | Path, *, catalog: str | Path | None = None,
           dataset: str | None = None, options: IngestOptions | None = None,
           progress: Progress | None = None) -> dict[str, Any]:
    """Read, validate, clean and store order lines as dataset ``dataset`` (default: the file's
    stem). Raises ``InputError``/``MappingError`` for structural problems, naming the file and
    the columns seen; row-level problems go to the report. Nothing in the workspace changes
    unless the whole ingest succeeds."""
    t0 = time.perf_counter()
    options = options or IngestOptions()
    path = Path(path)
    catalog = Path(catalog) if catalog is not None else None
    name = check_dataset_name(dataset or default_name(path))
    report(progress, 0.0, f"reading {path.name}")
    staging: Path | None = None
    try:
        with opened(ws, path, catalog, options, sub_progress(progress, 0.0, 0.2)) as inp:
            report(progress, 0.2, "loading rows")
            inputs = [path] + ([catalog] if catalog else [])
            staging = _stage_uploads(ws, inputs)
            sources = _final_sources(ws, name, inputs, staging)
            with ws.connect() as con:
                rows_read, cat_rows = read_inputs(con, inp, path, options, ws.tmp_dir)
                report(progress, 0.45, f"cleaning {rows_read:,} rows")
                summary = clean_and_store(con, name, inp.sn, inp.cat_sn, inp.lines_map,
                                          inp.cat_map, options, rows_read, sources,
                                          sub_progress(progress, 0.45, 0.95),
                                          mapping_notes=inp.detection.notes)
        summary["catalog_rows"] = cat_rows
        _promote(ws, name, staging)
        staging = None
        # the Spark engine's Parquet copy of an earlier version (lake/<dataset>) is stale now
        shutil.rmtree(ws.lake_dir / name, ignore_errors=True)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    report(progress, 1.0, "done")
    return summary


def reclean(ws: Workspace, dataset: str | None = None, *, options: IngestOptions | None = None,
            progress: Progress | None = None) -> dict[str, Any]:
    """Re-run ingest from the raw upload stored in the workspace with other cleaning options."""
    info = ws.info(dataset)
    src = ws.root / info["source"]
    cat = ws.root / info["catalog"] if info.get("catalog") else None
    if not src.exists():
        raise InputError(f"the raw upload of {info['dataset']} is no longer in the workspace "
                         f"({src}); upload the file again.")
    return ingest(ws, src, catalog=cat, dataset=info["dataset"], options=options,
                  progress=progress)
