"""Bounded byte and text streams over an upload, shared by sniffing, converting and reading.

Compression comes from the first bytes, never the name: a gzip file is decompressed whatever it
is called. Lines are read with a bound (``MAX_LINE_CHARS``) so that a file without line breaks is
never read into memory whole. A damaged gzip stream becomes an ``InputError`` that says so.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import shutil
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from core.errors import InputError
from core.files import owned_name

CHUNK = 1024 * 1024
MAX_LINE_CHARS = 2_000_000  # DuckDB's default max_line_size; longer lines are refused
GLOB_CHARS = frozenset("*?[]{}")  # DuckDB's readers take a path holding one for a pattern

# gzip.BadGzipFile (bad CRC, bad header) is an OSError; a truncated stream is an EOFError;
# corrupt deflate data is a zlib.error. None of them comes from writing the output.
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


class LineTooLong(Exception):
    """A line over ``MAX_LINE_CHARS``; ``line_no`` counts from 1."""

    def __init__(self, line_no: int):
        self.line_no = line_no
        super().__init__(line_no)


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when its first bytes say gzip (whatever its name)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def gzip_damaged(path: Path, exc: BaseException) -> InputError:
    return InputError(f"{path.name}: the gzip compression is damaged ({exc or type(exc).__name__});"
                      " the file may be truncated by an interrupted download or copy. Download or "
                      "export it again.", file=str(path))


def read_head(path: Path, n: int) -> bytes:
    """The first ``n`` (decompressed) bytes of ``path``."""
    try:
        with open_bytes(path) as fh:
            return fh.read(n)
    except GZIP_ERRORS as exc:
        raise gzip_damaged(path, exc) from None
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc}). Check the file and export it "
                         "again.", file=str(path)) from None


@contextmanager
def open_text(path: Path, encoding: str) -> Iterator[IO[str]]:
    """The file decoded from ``encoding`` (bad bytes replaced), a UTF-8 BOM skipped whatever the
    encoding (a BOM'd file with Latin-1 bytes is decoded as cp1252 without the BOM)."""
    with open_bytes(path) as fh:
        if fh.read(3) != codecs.BOM_UTF8:
            fh.seek(0)
        yield io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")


def bounded_lines(text: IO[str], limit: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of ``text``; raises ``LineTooLong`` instead of reading a line over ``limit``
    characters into memory."""
    n = 0
    while line := text.readline(limit):
        n += 1
        if len(line) >= limit and not line.endswith(("\n", "\r")):
            raise LineTooLong(n)
        yield line


def temp_csv(tmp_dir: Path, suffix: str = ".csv") -> Path:
    """A new temp file name under ``tmp_dir`` (created), owned by this process."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return tmp_dir / owned_name("ingest-", suffix)


def delimiter_name(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "'|'"}.get(delimiter,
                                                                          repr(delimiter))


@contextmanager
def temp_output(path: Path, tmp_dir: Path) -> Iterator[Path]:
    """A temp CSV to convert ``path`` into; removed when the conversion fails (a damaged gzip
    becomes the clear ``gzip_damaged`` error), a cancel or a full disk included."""
    out = temp_csv(tmp_dir)
    try:
        yield out
    except GZIP_ERRORS as exc:
        out.unlink(missing_ok=True)
        raise gzip_damaged(path, exc) from None
    except BaseException:
        out.unlink(missing_ok=True)
        raise


@contextmanager
def literal_path(path: Path, tmp_dir: Path, suffix: str = ".csv") -> Iterator[Path]:
    """``path``, or a hard link (else a copy) to it under a plain name ending in ``suffix`` when
    the path holds a character DuckDB's readers (``read_csv``, ``read_parquet``) would take for a
    glob pattern (``x*.csv`` must read exactly that one file). The link is removed afterwards."""
    if not GLOB_CHARS.intersection(path.resolve().as_posix()):
        yield path
        return
    folder = next((d for d in (tmp_dir, Path(tempfile.gettempdir()))
                   if not GLOB_CHARS.intersection(d.resolve().as_posix())), None)
    if folder is None:
        raise InputError(f"{path.name}: the workspace path and the temp folder both contain one "
                         f"of {''.join(sorted(GLOB_CHARS))}; use a workspace folder without them.",
                         file=str(path))
    link = temp_csv(folder, suffix)
    try:
        try:
            os.link(path, link)
        except OSError:
            shutil.copyfile(path, link)
        yield link
    finally:
        link.unlink(missing_ok=True)
