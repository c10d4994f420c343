"""What an upload's bytes are: its text encoding, and the refusal of what is not a table.

``detect_encoding`` tells UTF-8 (checked in full on demand) from the GBK and Latin-1 families our
shops export; ``reject_binary``, ``looks_ebcdic`` and ``check_text`` refuse PDFs, images,
archives, HTML, UTF-16/32 without a BOM, EBCDIC and control-character soup with an
``InputError`` that says what was found and what to do.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from core.errors import InputError
from core.ingest.streams import CHUNK, GZIP_ERRORS, gzip_damaged, open_bytes, read_head

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

UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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
    head = read_head(path, 4)
    if head.startswith(UTF32_BOMS):  # before UTF-16: the UTF-32 LE BOM starts like UTF-16 LE's
        return "utf-32"
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    bom = head.startswith(codecs.BOM_UTF8)
    decoder = codecs.getincrementaldecoder("utf-8")()
    odd = bytearray()
    valid = True
    try:
        with open_bytes(path) as fh:
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
    except GZIP_ERRORS as exc:
        raise gzip_damaged(path, exc) from None
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


def reject_binary(path: Path, head: bytes) -> None:
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


def looks_ebcdic(head: bytes) -> bool:
    """IBM mainframe text: no ASCII line feed (EBCDIC's is 0x25, an ASCII '%'), and it reads as
    plain text only when decoded as EBCDIC (cp500)."""
    sample = head[:16384]
    if len(sample) < 8 or b"\n" in sample:
        return False
    text = sample.decode("cp500")
    plain = sum(1 for c in text if (c.isascii() and (c.isalnum() or c in " ,;|\t\r\n.-_/:'\"()"))
                or c == "\x85")
    return plain >= 0.9 * len(text)


def refuse(path: Path, message: str) -> InputError:
    return InputError(f"{path.name} {message}", file=str(path))


def check_text(path: Path, text: str, encoding: str) -> None:
    """Refuse decoded text that is not a table: HTML/XML, a character or two, no letters or
    digits, many control characters or undecodable bytes, or (read as cp1252) letters that are
    mostly not A-Z, which is what EBCDIC, Cyrillic or Greek bytes look like there."""
    stripped = text.strip().lstrip("\ufeff").strip()
    low = stripped[:64].lower()
    if re.match(r"<(?:!doctype\s+html|html|head|body)\b", low):
        raise refuse(path, "is a web page (HTML), not a table of order lines: the download may "
                           "have returned a login or error page. Download the export again and "
                           "check that it opens as a table.")
    if low.startswith(("<?xml", "<!doctype")):
        raise refuse(path, "is an XML document, not a table of order lines. Export the orders "
                           "as CSV, TSV or XLSX.")
    if len(stripped) <= 2:
        raise refuse(path, f"holds only {len(stripped)} character(s) ({stripped!r}), too little "
                           "for a table of order lines or a basket list. Export the orders "
                           "again.")
    chars = [c for c in text[:65536] if c not in " \t\r\n"]
    bad = sum(1 for c in chars
              if c == "\ufffd" or unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs"))
    alnum = [c for c in chars if c.isalnum()]
    if not alnum:
        raise refuse(path, f"has no letters or digits in its first {len(chars):,} characters "
                           f"({stripped[:20]!r}...), so it is not a table of order lines or a "
                           "basket list. Export the orders again.")
    if bad > 0.05 * len(chars):
        raise refuse(path, f"does not look like text: {100 * bad / len(chars):.0f}% of its first "
                           f"{len(chars):,} characters are control characters or bytes that are "
                           f"not text in {encoding}. Upload a CSV, TSV or XLSX export, saved as "
                           "UTF-8 if you can.")
    if encoding == "cp1252" and len(alnum) >= 10:
        share = sum(c.isascii() for c in alnum) / len(alnum)
        if share < 0.5:
            raise refuse(path, "is not UTF-8, and read as Western European (cp1252) only "
                               f"{100 * share:.0f}% of its letters and digits are plain A-Z/0-9,"
                               " so its encoding cannot be told (EBCDIC, Cyrillic, Greek...?). "
                               "Save it again as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)') "
                               "and upload that.")
