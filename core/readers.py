"""File sniffing for ingest: compression, encoding, spreadsheet vs text, delimiter, header and layout.

DuckDB reads UTF-8 CSV (plain or gzip) fast and out of core, but cannot decode GBK/Latin-1 or read
XLSX here without downloading an extension. So this module turns every accepted upload into a
UTF-8 CSV that DuckDB can read, streaming (bounded memory):
- UTF-8 (with or without BOM), plain or gzip: used as it is;
- other encodings: detected with charset-normalizer, transcoded chunk by chunk;
- XLSX: streamed with openpyxl (read-only), cached values, never formulas;
- one basket per line (no header): rewritten as long ``order_id,item_id`` lines.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from .errors import InputError, MappingError

SAMPLE_BYTES = 256 * 1024
CHUNK = 1024 * 1024
DELIMITERS = [",", ";", "\t", "|"]

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old-style Excel (.xls) or Office file",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "a program",
    b"SQLite format": "an SQLite database",
    b"PAR1": "a Parquet file",
}


@dataclass
class Sniffed:
    """What a file is and how to read it. ``path`` is a UTF-8 CSV (maybe gzip) with ``header``
    as its first line; ``temp`` says whether ``path`` is a temporary file to delete."""

    original: Path
    path: Path
    kind: str  # "csv", "xlsx", "baskets"
    encoding: str
    delimiter: str
    header: list[str]
    temp: bool = False
    notes: list[str] = field(default_factory=list)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_bytes(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    try:
        with _open_bytes(path) as fh:
            return fh.read(n)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path.name}: cannot be read ({exc}); it may be a damaged gzip file. "
                         "Export it again.", file=str(path)) from None


def _normalise_encoding(name: str) -> str:
    name = name.lower().replace("_", "-")
    if name in {"gbk", "gb2312", "gb18030", "hz", "cp936"}:
        return "gb18030"
    if name in {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-8859-15", "cp1252",
                "windows-1252", "ascii", "cp1250", "windows-1250", "mac-roman"}:
        return "cp1252"
    return name


def detect_encoding(path: Path, *, full: bool = False) -> str:
    """``utf-8``, ``utf-8-sig``, ``utf-16`` or the charset-normalizer guess (GBK-family ->
    gb18030, Latin-1-family -> cp1252). Only the first MB is checked for UTF-8 unless ``full``;
    ingest re-sniffs with ``full=True`` when DuckDB meets invalid UTF-8 further down, so a Latin-1
    byte on line 100,000 is not missed (and UTF-8 files are not read twice)."""
    head = _head(path, 4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    odd = bytearray()
    valid = True
    with _open_bytes(path) as fh:
        while chunk := fh.read(CHUNK):
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
                else:
                    if not full:
                        break  # the head is UTF-8; ingest re-checks if DuckDB disagrees later
                    continue
            # collect lines with high bytes for detection (bounded)
            for line in chunk.split(b"\n"):
                if any(b > 127 for b in line[:2000]):
                    odd += line[:2000] + b"\n"
            if len(odd) > 128 * 1024:
                break
    if valid:
        return "utf-8"
    from charset_normalizer import from_bytes

    # The exports we meet are GBK/GB18030 (Chinese shop systems) or Latin-1/cp1252 (European
    # ERPs); a wider candidate list makes short samples flip to Shift-JIS and the like.
    best = from_bytes(bytes(odd), cp_isolation=["gb18030", "cp1252"]).best()
    guess = _normalise_encoding(best.encoding if best else "cp1252")
    try:
        bytes(odd).decode(guess)
    except (UnicodeDecodeError, LookupError):
        guess = "cp1252"
    return guess


def _reject_binary(path: Path, head: bytes) -> None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path.name} looks like {what}, not a table of order lines. "
                             "Upload a CSV, TSV or XLSX export.", file=str(path))
    sample = head[:8192]
    if b"\x00" in sample:
        raise InputError(f"{path.name} is a binary file (it holds NUL bytes), not a table of "
                         "order lines. Upload a CSV, TSV or XLSX export.", file=str(path))


def _decoded_lines(path: Path, encoding: str, limit: int = 200) -> list[str]:
    with _open_bytes(path) as fh:
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        out = []
        for line in text:
            out.append(line)
            if len(out) >= limit:
                break
        return out


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most consistent field count (> 1) over the first lines."""
    best, best_key = ",", (-1.0, 0)
    sample = [ln for ln in lines if ln.strip()][:100]
    for delim in DELIMITERS:
        counts = [len(r) for r in csv.reader(sample, delimiter=delim)]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        key = (freq / len(counts), mode)
        if key > best_key:
            best, best_key = delim, key
    return best


def field_counts(lines: list[str], delimiter: str) -> list[int]:
    return [len(r) for r in csv.reader([ln for ln in lines if ln.strip()], delimiter=delimiter)]


def _temp_path(tmp_dir: Path, suffix: str = ".csv") -> Path:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return tmp_dir / f"ingest-{uuid.uuid4().hex[:10]}{suffix}"


def transcode(path: Path, encoding: str, tmp_dir: Path, progress=None) -> Path:
    """Stream ``path`` (maybe gzip) from ``encoding`` into a UTF-8 temp file."""
    out = _temp_path(tmp_dir)
    total = max(1, path.stat().st_size)
    with open(path, "rb") as raw:
        src = gzip.open(raw, "rb") if _is_gzip(path) else raw
        reader = io.TextIOWrapper(src, encoding=encoding, errors="replace", newline="")
        with open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := reader.read(CHUNK):
                dst.write(chunk)
                if progress:
                    progress(min(1.0, raw.tell() / total), "converting text to UTF-8")
    return out


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
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
    ws = wb.worksheets[0]
    out = _temp_path(tmp_dir)
    header: list[str] = []
    total = ws.max_row or 0
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
    wb.close()
    return out, header


def baskets_to_long(path: Path, encoding: str, delimiter: str, tmp_dir: Path) -> Path:
    """One basket per line -> ``order_id,item_id,item_name`` lines (order id = the line
    number; the label is both the id and the name)."""
    out = _temp_path(tmp_dir)
    with _open_bytes(path) as fh:
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        with open(out, "w", encoding="utf-8", newline="") as dst:
            writer = csv.writer(dst)
            writer.writerow(["order_id", "item_id", "item_name"])
            for n, row in enumerate(csv.reader(text, delimiter=delimiter), start=1):
                for item in row:
                    if item.strip():
                        writer.writerow([n, item, item])
    return out


def iter_ragged(path: Path, delimiter: str, width: int, limit: int = 5) -> Iterator[tuple[int, int]]:
    """(data row number, field count) of rows with more fields than the header."""
    found = 0
    with _open_bytes(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        next(reader, None)
        for n, row in enumerate(reader, start=1):
            if len(row) > width:
                yield n, len(row)
                found += 1
                if found >= limit:
                    return


def looks_like_header(cells: list[str]) -> bool:
    from .mapping import match_columns

    return bool(match_columns(cells))


def sniff(path: str | os.PathLike, tmp_dir: Path, *, layout: str = "auto",
          has_mapping: bool = False, full_scan: bool = False, progress=None) -> Sniffed:
    """Find out how to read ``path``; converts it to a UTF-8 CSV in ``tmp_dir`` when needed.
    ``full_scan`` checks the whole file for UTF-8 (see ``detect_encoding``)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path.", file=str(path))
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file.", file=str(path))
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes). Export the orders again; the file "
                         "should have a header line and one line per order line.", file=str(path))
    head = _head(path)
    if not head.strip():
        raise InputError(f"{path.name} is empty (no text in it). Export the orders again.",
                         file=str(path))
    if head.startswith(b"PK\x03\x04"):
        csv_path, header = xlsx_to_csv(path, tmp_dir, progress)
        if not header:
            raise InputError(f"{path.name}: the first worksheet is empty. Put the order lines "
                             "on the first sheet, with a header row.", file=str(path))
        return Sniffed(path, csv_path, "xlsx", "xlsx", ",", header, temp=True)
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _reject_binary(path, head)
    encoding = detect_encoding(path, full=full_scan)
    lines = _decoded_lines(path, encoding)
    delimiter = sniff_delimiter(lines)
    rows = list(csv.reader([ln for ln in lines if ln.strip()][:1], delimiter=delimiter))
    first = [c.strip().lstrip("\ufeff") for c in rows[0]] if rows else []
    counts = field_counts(lines, delimiter)
    notes = []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"text decoded from {encoding}")
    is_baskets = layout == "baskets" or (
        layout == "auto" and not has_mapping and not looks_like_header(first)
        and (len(set(counts)) > 1 or max(counts, default=0) == 1))
    if is_baskets:
        out = baskets_to_long(path, encoding, delimiter, tmp_dir)
        notes.append("read as one basket per line (no header)")
        return Sniffed(path, out, "baskets", encoding, ",", ["order_id", "item_id", "item_name"],
                       temp=True, notes=notes)
    if len(first) < 2:
        raise MappingError(
            f"{path.name}: found only one column ({first[0] if first else 'none'!r}); order "
            "lines need at least an order id and an item id column. Check the delimiter (comma, "
            "semicolon, tab) or, for one basket per line, use the baskets layout.",
            file=str(path), columns=first)
    if encoding in ("utf-8", "utf-8-sig"):
        return Sniffed(path, path, "csv", encoding, delimiter, first, notes=notes)
    out = transcode(path, encoding, tmp_dir, progress)
    return Sniffed(path, out, "csv", encoding, delimiter, first, temp=True, notes=notes)
