"""Conversions into the one form DuckDB reads here: a plain UTF-8 CSV that starts with the header.

DuckDB reads UTF-8 CSV (plain or gzip) fast and out of core, but cannot decode GBK/Latin-1 or read
XLSX without downloading an extension. Each conversion streams (bounded memory) into a temp file
under the workspace ``tmp/`` and removes it again on any failure:
- ``transcode``: other encodings decoded chunk by chunk; a UTF-8 BOM, leading blank lines and
  Excel's ``sep=;`` first line cut;
- ``xlsx_to_csv``: the first worksheet via openpyxl (read-only), cached values, never formulas;
- ``baskets_to_long``: one basket per line rewritten as long ``order_id,item_id,item_name`` lines.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import gzip
import io
import re
from pathlib import Path

from core.errors import InputError
from core.ingest.streams import (CHUNK, MAX_LINE_CHARS, LineTooLong, bounded_lines, delimiter_name,
                                 is_gzip, open_text, temp_csv, temp_output)
from core.progress import Cancelled


def _lead(kind: type, first_line: bool) -> re.Pattern:
    """What to cut from the start of a rewritten file: blank lines, after the first line when
    ``first_line`` (Excel's ``sep=`` line)."""
    pattern = (r"\A[^\r\n]*(?:\r\n|\r|\n)" if first_line else r"\A") + r"(?:[ \t]*(?:\r\n|\r|\n))*"
    return re.compile(pattern.encode() if kind is bytes else pattern)


def transcode(path: Path, encoding: str, tmp_dir: Path, progress=None, *,
              skip_first_line: bool = False, repair: bool = False) -> Path:
    """Stream ``path`` (maybe gzip, whatever its name) from ``encoding`` into a plain UTF-8 temp
    file that starts with the header: without a UTF-8 BOM, blank lines before the header or,
    with ``skip_first_line``, the first line (Excel's ``sep=``). UTF-8 is copied as bytes, so
    invalid UTF-8 further down still reaches DuckDB (and ingest's full re-sniff) instead of
    being replaced silently; ``repair`` decodes it too, replacing what is not UTF-8 (a file cut
    inside a character)."""
    total = max(1, path.stat().st_size)
    as_bytes = encoding in ("utf-8", "utf-8-sig") and not repair
    lead = _lead(bytes if as_bytes else str, skip_first_line)
    with temp_output(path, tmp_dir) as out, open(path, "rb") as raw:
        src = gzip.open(raw, "rb") if is_gzip(path) else raw
        if src.read(3) != codecs.BOM_UTF8:
            src.seek(0)
        if as_bytes:
            reader, dst = src, open(out, "wb")
        else:
            reader = io.TextIOWrapper(src, encoding=encoding, errors="replace", newline="")
            dst = open(out, "w", encoding="utf-8", newline="")
        with dst:
            first = True
            while chunk := reader.read(CHUNK):
                if first:
                    chunk, first = lead.sub(chunk[:0], chunk, count=1), False
                dst.write(chunk)
                if progress:
                    progress(min(1.0, raw.tell() / total), "converting text to UTF-8")
    return out


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):  # Excel stores a date as midnight of that day
        return value.date().isoformat() if value.time() == datetime.time() else \
            value.isoformat(sep=" ")
    if hasattr(value, "isoformat"):  # a date or a time of day
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_to_csv(path: Path, tmp_dir: Path, progress=None) -> tuple[Path, list[str]]:
    """Stream the first worksheet of an XLSX file into a UTF-8 CSV; formulas give their cached
    values, text that looks like a formula stays text. Returns (csv path, header)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip but not a workbook, damaged file
        raise InputError(f"{path.name} cannot be opened as an Excel workbook ({exc}). Save it "
                         "again as .xlsx or export it as CSV.", file=str(path)) from None
    if not wb.worksheets:
        wb.close()
        raise InputError(f"{path.name}: the workbook has no worksheet. Put the order lines on the "
                         "first sheet, with a header row.", file=str(path))
    ws = wb.worksheets[0]
    out = temp_csv(tmp_dir)
    header: list[str] = []
    total = ws.max_row or 0
    try:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for i, row in enumerate(ws.iter_rows(values_only=True)):
                cells = [_cell_text(v) for v in row]
                while cells and cells[-1] == "":
                    cells.pop()
                if i == 0:
                    header = cells
                elif not any(cells):
                    continue
                writer.writerow(cells)
                if progress and total and i % 5000 == 0:
                    progress(i / total, "reading the spreadsheet")
    except BaseException as exc:  # a damaged sheet, a full disk, a cancel: leave no temp file
        out.unlink(missing_ok=True)
        if isinstance(exc, Exception) and not isinstance(exc, (InputError, OSError, Cancelled)):
            raise InputError(f"{path.name}: the first worksheet cannot be read ({exc}). Save it "
                             "again as .xlsx or export it as CSV.", file=str(path)) from None
        raise
    finally:
        wb.close()
    if not header:
        out.unlink(missing_ok=True)
    return out, header


def baskets_to_long(path: Path, encoding: str, delimiter: str, tmp_dir: Path, *,
                    skip_first_line: bool = False) -> Path:
    """One basket per line -> ``order_id,item_id,item_name`` lines (order id = the line
    number; the label is both the id and the name). Refuses (``InputError``) a line over
    ``MAX_LINE_CHARS`` or an item over Python's csv field limit instead of reading it whole."""
    with temp_output(path, tmp_dir) as out:
        reader = None
        try:
            with open_text(path, encoding) as text, \
                    open(out, "w", encoding="utf-8", newline="") as dst:
                lines = bounded_lines(text)
                if skip_first_line:
                    next(lines, None)
                writer = csv.writer(dst)
                writer.writerow(["order_id", "item_id", "item_name"])
                reader = csv.reader(lines, delimiter=delimiter)
                for n, row in enumerate(reader, start=1):
                    for item in row:
                        if item.strip():
                            writer.writerow([n, item, item])
        except (csv.Error, LineTooLong) as exc:
            if isinstance(exc, LineTooLong):
                where, what = exc.line_no, f"it is longer than {MAX_LINE_CHARS:,} characters"
            else:
                where = (reader.line_num if reader else 0) + int(skip_first_line)
                what = (f"an item is longer than {csv.field_size_limit():,} characters"
                        if "field limit" in str(exc) else str(exc))
            raise InputError(f"{path.name}: line {where} cannot be read as a basket ({what}). A "
                             "basket-per-line file holds short item names separated by "
                             f"{delimiter_name(delimiter)}; check the file, or upload order "
                             "lines with a header line.", file=str(path)) from None
    return out
