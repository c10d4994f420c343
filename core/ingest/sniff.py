"""Sniffing an upload: spreadsheet or text, compression, encoding, delimiter, header and layout.

``sniff`` decides how to read a file and, where DuckDB cannot read it as it is, has it converted
(``core.ingest.convert``) into a UTF-8 CSV whose first line is the header:
- UTF-8 (with or without BOM), plain or gzip: used as it is;
- other encodings: detected (``core.ingest.content``) and transcoded;
- XLSX: streamed to CSV;
- one basket per line (no header): rewritten as long ``order_id,item_id`` lines;
- an Excel ``sep=;`` first line: used as the delimiter, and the file rewritten without it, so
  ``path`` always has the header as its first line;
- Parquet (first bytes ``PAR1``), or a folder of Parquet part files: read by DuckDB as it is
  (``core.ingest.parquet``), ``path`` the file or folder and ``header`` its column names.
Compression comes from the first bytes, never the name (``Sniffed.compression``); DuckDB's
``compression='auto'`` goes by the name, so ingest passes it explicitly.

Sniffing looks only at the first ``SAMPLE_BYTES`` (decompressed) bytes, never at whole lines of
unbounded length, and refuses what is not a table (HTML, UTF-32, EBCDIC, control characters,
a byte or two) with an ``InputError`` that says what was found and what to do.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from core.errors import InputError, MappingError
from core.ingest.content import (UTF16_BOMS, UTF32_BOMS, check_text, detect_encoding,
                                 looks_ebcdic, refuse, reject_binary)
from core.ingest.convert import baskets_to_long, transcode, xlsx_to_csv
from core.ingest import parquet
from core.ingest.mapping import match_columns
from core.ingest.streams import MAX_LINE_CHARS, delimiter_name, is_gzip, read_head

SAMPLE_BYTES = 256 * 1024
DELIMITERS = [",", ";", "\t", "|"]
HEAD_LINES = 200

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_SEP_HINT = re.compile(r'"?sep=(\\t|.)"?[,;|\t ]*', re.IGNORECASE)  # Excel's hint line


@dataclass
class Sniffed:
    """What a file is and how to read it. ``path`` is a UTF-8 CSV (maybe gzip) with ``header``
    as its first line (kind ``parquet``: the Parquet file or folder of part files); ``temp`` says whether ``path`` is a temporary file to delete.
    ``compression`` is that of ``path`` (``gzip`` or ``none``) from its first bytes, whatever
    its name says: pass it to DuckDB's ``read_csv``, whose ``'auto'`` goes by the name."""

    original: Path
    path: Path
    kind: str  # "csv", "xlsx", "baskets", "parquet"
    encoding: str
    delimiter: str
    header: list[str]
    temp: bool = False
    notes: list[str] = field(default_factory=list)
    compression: str = "none"


def _name_compression(path: Path) -> str:
    """The compression DuckDB's ``read_csv`` assumes from the file name."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gzip"
    if name.endswith((".zst", ".zstd")):
        return "zstd"
    return "none"


def _head_lines(head: bytes, complete: bool, encoding: str,
                limit: int = HEAD_LINES) -> list[str]:
    """The first whole lines of ``head`` (the first bytes of the file, ``complete`` when that is
    all of it) decoded from ``encoding``, a UTF-8 BOM skipped. A line cut by the end of the head
    is dropped: sniffing never reads more than ``SAMPLE_BYTES``, however long a line is."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=complete)
    lines = []
    for m in _LINE.finditer(text):
        line = m.group()
        if not complete and m.end() == len(text) and not line.endswith("\n"):
            break  # cut by the end of the sample ("\r" too: it may be half of "\r\n")
        lines.append(line)
        if len(lines) >= limit:
            break
    return lines


def _csv_rows(lines: Iterable[str], delimiter: str) -> list[list[str]]:
    """The rows of ``lines``, leaving out those Python's csv cannot parse (a field over
    ``csv.field_size_limit()``, 131,072 characters)."""
    rows: list[list[str]] = []
    it = iter(lines)
    for _ in range(HEAD_LINES):
        try:
            rows.extend(csv.reader(it, delimiter=delimiter))
            break
        except csv.Error:
            continue  # that line is consumed; go on with a fresh reader on the rest
    return rows


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most consistent field count (> 1) over the first lines."""
    best, best_key = ",", (-1.0, 0)
    sample = [ln for ln in lines if ln.strip()][:100]
    for delim in DELIMITERS:
        counts = [len(r) for r in _csv_rows(sample, delim)]
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
    return [len(r) for r in _csv_rows([ln for ln in lines if ln.strip()], delimiter)]


def looks_like_header(cells: list[str]) -> bool:
    return bool(match_columns(cells))


def _sep_hint(lines: list[str]) -> str | None:
    """The delimiter named by Excel's ``sep=;`` first line, or None."""
    if not lines:
        return None
    m = _SEP_HINT.fullmatch(lines[0].rstrip("\r\n").lstrip("\ufeff"))
    if not m:
        return None
    return "\t" if m.group(1) in ("\\t", "\t") else m.group(1)


def sniff(path: str | os.PathLike, tmp_dir: Path, *, layout: str = "auto",
          has_mapping: bool = False, full_scan: bool = False, progress=None) -> Sniffed:
    """Find out how to read ``path``; converts it to a UTF-8 CSV in ``tmp_dir`` when needed.
    ``full_scan`` checks the whole file for UTF-8 (see ``detect_encoding``). Reads at most
    ``SAMPLE_BYTES`` (decompressed) to decide; raises ``InputError`` for what is not a table."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path.", file=str(path))
    if path.is_dir() or parquet.has_magic(path):  # a folder: Parquet part files, or an error
        return _sniff_parquet(path, tmp_dir)
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes). Export the orders again; the file "
                         "should have a header line and one line per order line.", file=str(path))
    if parquet.named_parquet(path):
        raise InputError(f"{path.name} is named like a Parquet file but does not start with "
                         "Parquet's 'PAR1' marker: it is damaged or not Parquet. Export or copy "
                         "it again; if it is a CSV, rename it to .csv.", file=str(path))
    head = read_head(path, SAMPLE_BYTES + 1)
    size = SAMPLE_BYTES
    if len(head) > size and not re.search(rb"[\r\n]", head):
        # a first line wider than the sample (a header of thousands of columns): look further,
        # up to the longest line DuckDB reads
        head, size = read_head(path, MAX_LINE_CHARS + 1), MAX_LINE_CHARS
    complete = len(head) <= size
    head = head[:size]
    if not head.strip():
        raise InputError(f"{path.name} is empty (no text in it). Export the orders again.",
                         file=str(path))
    if head.startswith(b"PK\x03\x04"):
        csv_path, header = xlsx_to_csv(path, tmp_dir, progress)
        if not header:
            raise InputError(f"{path.name}: the first worksheet is empty. Put the order lines "
                             "on the first sheet, with a header row.", file=str(path))
        return Sniffed(path, csv_path, "xlsx", "xlsx", ",", header, temp=True)
    if head.startswith(UTF32_BOMS):
        raise refuse(path, "is saved as UTF-32 text, which BundleLab does not read. Open it and "
                           "save it again as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)'; a text "
                           "editor: encoding UTF-8), then upload that.")
    if not head.startswith(UTF16_BOMS):
        reject_binary(path, head)
        if looks_ebcdic(head):
            raise refuse(path, "looks like EBCDIC text (an IBM mainframe encoding), which "
                               "BundleLab does not read. Convert it to UTF-8 (for example "
                               "`iconv -f IBM500 -t UTF-8`) and upload it again.")
    encoding = detect_encoding(path, full=full_scan)
    bom_free = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    check_text(path, codecs.getincrementaldecoder(encoding)(errors="replace").decode(
        bom_free[:65536], final=complete and len(bom_free) <= 65536), encoding)
    lines = _head_lines(head, complete, encoding)
    notes = []
    hint = _sep_hint(lines)
    skip = hint is not None  # Excel's 'sep=' line: the delimiter, not the header; skipped
    if skip:
        lines = lines[1:]
    nonblank = [ln for ln in lines if ln.strip()]
    if not nonblank:
        if skip:
            raise refuse(path, "holds only a 'sep=' line and no header or data lines. Export "
                               "the orders again.")
        raise refuse(path, f"has no line break in its first {len(head):,} bytes, so its "
                           "first line is neither a header nor a basket. Check that it is a "
                           "CSV/TSV export with one order line per line.")
    delimiter = None
    if hint is not None and not (hint.isalnum() or hint in "\"' \r\n"):
        rows = _csv_rows(nonblank[:1], hint)
        if rows and len(rows[0]) > 1:  # a hint that does not split the header is ignored
            delimiter = hint
            notes.append(f"delimiter {delimiter_name(hint)} from the file's 'sep=' first line")
    if delimiter is None:
        delimiter = sniff_delimiter(lines)
    # the header is the first record, which may hold a quoted line break ("line\nbreak")
    start = next(i for i, ln in enumerate(lines) if ln.strip())
    rows = _csv_rows(lines[start:start + 20], delimiter)[:1]
    if not rows:
        raise refuse(path, f"has a field longer than {csv.field_size_limit():,} characters on "
                           "its first line, which cannot be a column name or an item. Check "
                           "that it is a CSV/TSV export with a header line.")
    first = [c.strip().lstrip("\ufeff") for c in rows[0]]
    counts = field_counts(lines, delimiter)
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"text decoded from {encoding}")
    is_baskets = layout == "baskets" or (
        layout == "auto" and not has_mapping and not looks_like_header(first)
        and (len(set(counts)) > 1 or max(counts, default=0) == 1))
    if is_baskets:
        out = baskets_to_long(path, encoding, delimiter, tmp_dir, skip_first_line=skip)
        notes.append("read as one basket per line (no header)")
        return Sniffed(path, out, "baskets", encoding, ",", ["order_id", "item_id", "item_name"],
                       temp=True, notes=notes)
    if len(first) < 2:
        raise MappingError(
            f"{path.name}: found only one column ({first[0] if first else 'none'!r}); order "
            "lines need at least an order id and an item id column. Check the delimiter (comma, "
            "semicolon, tab) or, for one basket per line, use the baskets layout.",
            file=str(path), columns=first)
    compression = "gzip" if is_gzip(path) else "none"
    if compression != _name_compression(path):
        notes.append("gzip-compressed although its name does not end in .gz" if compression ==
                     "gzip" else "not compressed although its name says so")
    lead_blank = not lines[0].strip()  # DuckDB would skip the blank line, not the header
    if encoding in ("utf-8", "utf-8-sig") and not (skip or lead_blank or full_scan):
        return Sniffed(path, path, "csv", encoding, delimiter, first, notes=notes,
                       compression=compression)
    # a plain UTF-8 copy starting with the header: decoded, without the 'sep=' line or leading
    # blank lines, or repaired where DuckDB met invalid UTF-8 that a full scan did not find
    out = transcode(path, encoding, tmp_dir, progress, skip_first_line=skip,
                    repair=full_scan and encoding in ("utf-8", "utf-8-sig"))
    return Sniffed(path, out, "csv", encoding, delimiter, first, temp=True, notes=notes)


def _sniff_parquet(path: Path, tmp_dir: Path) -> Sniffed:
    """A Parquet file or a folder of part files: its column names, read from the footers."""
    notes = []
    if path.is_dir():
        parts = parquet.sources(path)  # InputError for a folder without part files
        notes.append(f"Parquet folder: {len(parts)} part file{'s' if len(parts) > 1 else ''}")
    header = parquet.header(path, tmp_dir)
    if not header:
        raise InputError(f"{path.name}: the Parquet data has no columns. Export the orders "
                         "again.", file=str(path))
    return Sniffed(path, path, "parquet", "utf-8", ",", header, notes=notes)
