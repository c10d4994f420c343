"""File sniffing for ingest: compression, encoding, spreadsheet vs text, delimiter, header and layout.

DuckDB reads UTF-8 CSV (plain or gzip) fast and out of core, but cannot decode GBK/Latin-1 or read
XLSX here without downloading an extension. So this module turns every accepted upload into a
UTF-8 CSV that DuckDB can read, streaming (bounded memory):
- UTF-8 (with or without BOM), plain or gzip: used as it is;
- other encodings: detected with charset-normalizer, transcoded chunk by chunk;
- XLSX: streamed with openpyxl (read-only), cached values, never formulas;
- one basket per line (no header): rewritten as long ``order_id,item_id`` lines;
- an Excel ``sep=;`` first line: used as the delimiter, and the file rewritten without it, so
  ``path`` always has the header as its first line.
Compression comes from the first bytes, never the name (``Sniffed.compression``); DuckDB's
``compression='auto'`` goes by the name, so ingest passes it explicitly.

Sniffing looks only at the first ``SAMPLE_BYTES`` (decompressed) bytes, never at whole lines of
unbounded length, and refuses what is not a table (HTML, UTF-32, EBCDIC, control characters,
a byte or two) with an ``InputError`` that says what was found and what to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import gzip
import io
import os
import re
import unicodedata
import uuid
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from core.errors import InputError, MappingError
from core.progress import Cancelled
from core.files import owned_name

SAMPLE_BYTES = 256 * 1024
CHUNK = 1024 * 1024
DELIMITERS = [",", ";", "\t", "|"]
MAX_LINE_CHARS = 2_000_000  # DuckDB's default max_line_size; longer lines are refused
HEAD_LINES = 200

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
    b"\x28\xb5\x2f\xfd": "a Zstandard-compressed file (decompress it first)",
    b"\xfd7zXZ\x00": "an xz-compressed file (decompress it first)",
}

# gzip.BadGzipFile (bad CRC, bad header) is an OSError; a truncated stream is an EOFError;
# corrupt deflate data is a zlib.error. None of them comes from writing the output.
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_SEP_HINT = re.compile(r'"?sep=(\\t|.)"?[,;|\t ]*', re.IGNORECASE)  # Excel's hint line


@dataclass
class Sniffed:
    """What a file is and how to read it. ``path`` is a UTF-8 CSV (maybe gzip) with ``header``
    as its first line; ``temp`` says whether ``path`` is a temporary file to delete.
    ``compression`` is that of ``path`` (``gzip`` or ``none``) from its first bytes, whatever
    its name says: pass it to DuckDB's ``read_csv``, whose ``'auto'`` goes by the name."""

    original: Path
    path: Path
    kind: str  # "csv", "xlsx", "baskets"
    encoding: str
    delimiter: str
    header: list[str]
    temp: bool = False
    notes: list[str] = field(default_factory=list)
    compression: str = "none"


class _LineTooLong(Exception):
    def __init__(self, line_no: int):
        self.line_no = line_no
        super().__init__(line_no)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _name_compression(path: Path) -> str:
    """The compression DuckDB's ``read_csv`` assumes from the file name."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gzip"
    if name.endswith((".zst", ".zstd")):
        return "zstd"
    return "none"


def _open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when its first bytes say gzip (whatever its name)."""
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _damaged(path: Path, exc: BaseException) -> InputError:
    return InputError(f"{path.name}: the gzip compression is damaged ({exc or type(exc).__name__});"
                      " the file may be truncated by an interrupted download or copy. Download or "
                      "export it again.", file=str(path))


def _head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    try:
        with _open_bytes(path) as fh:
            return fh.read(n)
    except _GZIP_ERRORS as exc:
        raise _damaged(path, exc) from None
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc}). Check the file and export it "
                         "again.", file=str(path)) from None


@contextmanager
def _open_text(path: Path, encoding: str) -> Iterator[IO[str]]:
    """The file decoded from ``encoding`` (bad bytes replaced), a UTF-8 BOM skipped whatever the
    encoding (a BOM'd file with Latin-1 bytes is decoded as cp1252 without the BOM)."""
    with _open_bytes(path) as fh:
        if fh.read(3) != codecs.BOM_UTF8:
            fh.seek(0)
        yield io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")


def _bounded_lines(text: IO[str], limit: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of ``text``; raises ``_LineTooLong`` instead of reading a line over ``limit``
    characters into memory."""
    n = 0
    while line := text.readline(limit):
        n += 1
        if len(line) >= limit and not line.endswith(("\n", "\r")):
            raise _LineTooLong(n)
        yield line


def _normalise_encoding(name: str) -> str:
    name = name.lower().replace("_", "-")
    if name in {"gbk", "gb2312", "gb18030", "hz", "cp936"}:
        return "gb18030"
    if name in {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-8859-15", "cp1252",
                "windows-1252", "ascii", "cp1250", "windows-1250", "mac-roman"}:
        return "cp1252"
    return name


def detect_encoding(path: Path, *, full: bool = False) -> str:
    """``utf-8``, ``utf-8-sig``, ``utf-16``, ``utf-32`` (from its BOM; ``sniff`` refuses it) or the
    charset-normalizer guess (GBK-family -> gb18030, Latin-1-family -> cp1252). Only the first MB
    is checked for UTF-8 unless ``full``; ingest re-sniffs with ``full=True`` when DuckDB meets
    invalid UTF-8 further down, so a Latin-1 byte on line 100,000 is not missed (and UTF-8 files
    are not read twice). A UTF-8 BOM is checked the same way: BOM + Latin-1 bytes is cp1252."""
    head = _head(path, 4)
    if head.startswith(_UTF32_BOMS):  # before UTF-16: the UTF-32 LE BOM starts like UTF-16 LE's
        return "utf-32"
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    bom = head.startswith(codecs.BOM_UTF8)
    decoder = codecs.getincrementaldecoder("utf-8")()
    odd = bytearray()
    valid = True
    try:
        with _open_bytes(path) as fh:
            if bom:
                fh.read(len(codecs.BOM_UTF8))
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
    except _GZIP_ERRORS as exc:
        raise _damaged(path, exc) from None
    if valid:
        return "utf-8-sig" if bom else "utf-8"
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
        even, odd = sample[0::2], sample[1::2]
        if len(sample) >= 8 and (even.count(0) > 0.9 * len(even) or odd.count(0) > 0.9 * len(odd)):
            raise InputError(f"{path.name} looks like UTF-16 or UTF-32 text without a byte-order "
                             "mark, which BundleLab cannot read. Save it again as UTF-8 (Excel: "
                             "'CSV UTF-8 (Comma delimited)').", file=str(path))
        raise InputError(f"{path.name} is a binary file (it holds NUL bytes), not a table of "
                         "order lines. Upload a CSV, TSV or XLSX export.", file=str(path))


def _looks_ebcdic(head: bytes) -> bool:
    """IBM mainframe text: no ASCII line feed (EBCDIC's is 0x25, an ASCII '%'), and it reads as
    plain text only when decoded as EBCDIC (cp500)."""
    sample = head[:16384]
    if len(sample) < 8 or b"\n" in sample:
        return False
    text = sample.decode("cp500")
    plain = sum(1 for c in text if (c.isascii() and (c.isalnum() or c in " ,;|\t\r\n.-_/:'\"()"))
                or c == "\x85")
    return plain >= 0.9 * len(text)


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


def _temp_path(tmp_dir: Path, suffix: str = ".csv") -> Path:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return tmp_dir / owned_name("ingest-", suffix)


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
    out = _temp_path(tmp_dir)
    total = max(1, path.stat().st_size)
    as_bytes = encoding in ("utf-8", "utf-8-sig") and not repair
    lead = _lead(bytes if as_bytes else str, skip_first_line)
    try:
        with open(path, "rb") as raw:
            src = gzip.open(raw, "rb") if _is_gzip(path) else raw
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
    except _GZIP_ERRORS as exc:
        out.unlink(missing_ok=True)
        raise _damaged(path, exc) from None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
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
    out = _temp_path(tmp_dir)
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
    out = _temp_path(tmp_dir)
    reader = None
    try:
        with _open_text(path, encoding) as text, \
                open(out, "w", encoding="utf-8", newline="") as dst:
            lines = _bounded_lines(text)
            if skip_first_line:
                next(lines, None)
            writer = csv.writer(dst)
            writer.writerow(["order_id", "item_id", "item_name"])
            reader = csv.reader(lines, delimiter=delimiter)
            for n, row in enumerate(reader, start=1):
                for item in row:
                    if item.strip():
                        writer.writerow([n, item, item])
    except (csv.Error, _LineTooLong) as exc:
        out.unlink(missing_ok=True)
        if isinstance(exc, _LineTooLong):
            where, what = exc.line_no, f"it is longer than {MAX_LINE_CHARS:,} characters"
        else:
            where = (reader.line_num if reader else 0) + int(skip_first_line)
            what = (f"an item is longer than {csv.field_size_limit():,} characters"
                    if "field limit" in str(exc) else str(exc))
        raise InputError(f"{path.name}: line {where} cannot be read as a basket ({what}). A "
                         "basket-per-line file holds short item names separated by "
                         f"{_delimiter_name(delimiter)}; check the file, or upload order lines "
                         "with a header line.", file=str(path)) from None
    except _GZIP_ERRORS as exc:
        out.unlink(missing_ok=True)
        raise _damaged(path, exc) from None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def iter_ragged(path: Path, delimiter: str, width: int, limit: int = 5, *,
                name: str | None = None) -> Iterator[tuple[int, int]]:
    """(data row number, field count) of rows with more fields than the header. Raises
    ``InputError`` for a damaged gzip file or a line over ``MAX_LINE_CHARS`` (``name``: the file
    name to show, default ``path``'s); stops quietly at a field over Python's csv limit."""
    found = 0
    try:
        with _open_text(path, "utf-8-sig") as text:
            reader = csv.reader(_bounded_lines(text), delimiter=delimiter)
            next(reader, None)
            for n, row in enumerate(reader, start=1):
                if len(row) > width:
                    yield n, len(row)
                    found += 1
                    if found >= limit:
                        return
    except _LineTooLong as exc:
        raise InputError(f"{name or path.name}: line {exc.line_no} is longer than "
                         f"{MAX_LINE_CHARS:,} characters, too long to read as a row of a table. "
                         "If a text field really is that long, shorten it; otherwise check that "
                         "the file is a CSV/TSV export with one order line per line.",
                         file=str(path)) from None
    except csv.Error:
        return  # a field over Python's csv limit (DuckDB's own error then tells the rest)
    except _GZIP_ERRORS as exc:
        raise _damaged(path, exc) from None


def looks_like_header(cells: list[str]) -> bool:
    from core.ingest.mapping import match_columns

    return bool(match_columns(cells))


def _delimiter_name(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "'|'"}.get(delimiter,
                                                                          repr(delimiter))


def _refuse(path: Path, message: str) -> InputError:
    return InputError(f"{path.name} {message}", file=str(path))


def _check_text(path: Path, text: str, encoding: str) -> None:
    """Refuse decoded text that is not a table: HTML/XML, a character or two, no letters or
    digits, many control characters or undecodable bytes, or (read as cp1252) letters that are
    mostly not A-Z, which is what EBCDIC, Cyrillic or Greek bytes look like there."""
    stripped = text.strip().lstrip("\ufeff").strip()
    low = stripped[:64].lower()
    if re.match(r"<(?:!doctype\s+html|html|head|body)\b", low):
        raise _refuse(path, "is a web page (HTML), not a table of order lines: the download may "
                            "have returned a login or error page. Download the export again and "
                            "check that it opens as a table.")
    if low.startswith(("<?xml", "<!doctype")):
        raise _refuse(path, "is an XML document, not a table of order lines. Export the orders "
                            "as CSV, TSV or XLSX.")
    if len(stripped) <= 2:
        raise _refuse(path, f"holds only {len(stripped)} character(s) ({stripped!r}), too little "
                            "for a table of order lines or a basket list. Export the orders "
                            "again.")
    chars = [c for c in text[:65536] if c not in " \t\r\n"]
    bad = sum(1 for c in chars
              if c == "\ufffd" or unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs"))
    alnum = [c for c in chars if c.isalnum()]
    if not alnum:
        raise _refuse(path, f"has no letters or digits in its first {len(chars):,} characters "
                            f"({stripped[:20]!r}...), so it is not a table of order lines or a "
                            "basket list. Export the orders again.")
    if bad > 0.05 * len(chars):
        raise _refuse(path, f"does not look like text: {100 * bad / len(chars):.0f}% of its first "
                            f"{len(chars):,} characters are control characters or bytes that are "
                            f"not text in {encoding}. Upload a CSV, TSV or XLSX export, saved as "
                            "UTF-8 if you can.")
    if encoding == "cp1252" and len(alnum) >= 10:
        share = sum(c.isascii() for c in alnum) / len(alnum)
        if share < 0.5:
            raise _refuse(path, "is not UTF-8, and read as Western European (cp1252) only "
                                f"{100 * share:.0f}% of its letters and digits are plain A-Z/0-9,"
                                " so its encoding cannot be told (EBCDIC, Cyrillic, Greek...?). "
                                "Save it again as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)') "
                                "and upload that.")


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
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file.", file=str(path))
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes). Export the orders again; the file "
                         "should have a header line and one line per order line.", file=str(path))
    head = _head(path, SAMPLE_BYTES + 1)
    size = SAMPLE_BYTES
    if len(head) > size and not re.search(rb"[\r\n]", head):
        # a first line wider than the sample (a header of thousands of columns): look further,
        # up to the longest line DuckDB reads
        head, size = _head(path, MAX_LINE_CHARS + 1), MAX_LINE_CHARS
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
    if head.startswith(_UTF32_BOMS):
        raise _refuse(path, "is saved as UTF-32 text, which BundleLab does not read. Open it and "
                            "save it again as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)'; a text "
                            "editor: encoding UTF-8), then upload that.")
    if not head.startswith(_UTF16_BOMS):
        _reject_binary(path, head)
        if _looks_ebcdic(head):
            raise _refuse(path, "looks like EBCDIC text (an IBM mainframe encoding), which "
                                "BundleLab does not read. Convert it to UTF-8 (for example "
                                "`iconv -f IBM500 -t UTF-8`) and upload it again.")
    encoding = detect_encoding(path, full=full_scan)
    bom_free = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    _check_text(path, codecs.getincrementaldecoder(encoding)(errors="replace").decode(
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
            raise _refuse(path, "holds only a 'sep=' line and no header or data lines. Export "
                                "the orders again.")
        raise _refuse(path, f"has no line break in its first {len(head):,} bytes, so its "
                            "first line is neither a header nor a basket. Check that it is a "
                            "CSV/TSV export with one order line per line.")
    delimiter = None
    if hint is not None and not (hint.isalnum() or hint in "\"' \r\n"):
        rows = _csv_rows(nonblank[:1], hint)
        if rows and len(rows[0]) > 1:  # a hint that does not split the header is ignored
            delimiter = hint
            notes.append(f"delimiter {_delimiter_name(hint)} from the file's 'sep=' first line")
    if delimiter is None:
        delimiter = sniff_delimiter(lines)
    # the header is the first record, which may hold a quoted line break ("line\nbreak")
    start = next(i for i, ln in enumerate(lines) if ln.strip())
    rows = _csv_rows(lines[start:start + 20], delimiter)[:1]
    if not rows:
        raise _refuse(path, f"has a field longer than {csv.field_size_limit():,} characters on "
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
    compression = "gzip" if _is_gzip(path) else "none"
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
