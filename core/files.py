"""File names the workspace writes: safe names for uploaded files, and temp names that carry the
id of the process that made them, so that what a killed process left behind can be told from work
in progress (``Workspace.sweep_leftovers``).

Temp names hold ``p<PID>-`` in their last dot-separated part, e.g. ``.staging-p4711-1a2b3c4d5e``,
``ingest-p4711-1a2b3c4d5e.csv``, ``.encoder-all-0123abcd.p4711-k2x9_q1z`` (see ``owned_name`` and
``pid_tag``). ``atomic_dir`` writes a folder under a temp name and renames it into place.
Plain file-system functions: no Streamlit, no DuckDB.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MAX_NAME_BYTES = 200          # stored upload names; most file systems allow 255 bytes
DEFAULT_UPLOAD_NAME = "upload.csv"
STALE_SECONDS = 6 * 3600      # a temp entry without a (live) owner is removed after this age
LIVE_OWNER_SECONDS = 7 * 24 * 3600  # ... and one whose owner PID seems alive (PID reuse) after this

_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, bidi/format marks, lone surrogates
_NOT_PORTABLE = re.compile(r'[<>:"|?*]')           # not allowed in Windows file names
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)
_EXTENSION = re.compile(r"(?:\.[A-Za-z0-9]{1,8})?\.(?:gz|bz2|xz|zst|zip)$|\.[A-Za-z0-9]{1,8}$",
                        re.IGNORECASE)
_OWNER = re.compile(r"(?:^|[.-])p(\d{1,10})-[A-Za-z0-9_]*(?:\.[A-Za-z0-9]{1,8})?$")


def safe_upload_name(name: object, *, default: str = DEFAULT_UPLOAD_NAME,
                     max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file name to store an upload under, kept readable: the last path component of ``name``
    without control/format characters, characters Windows forbids, and leading or trailing dots
    and spaces; at most ``max_bytes`` UTF-8 bytes, cut at a character boundary with the extension
    (``.csv``, ``.csv.gz``, ``.xlsx``) kept; ``default`` when nothing usable is left."""
    text = "" if name is None else str(name)
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROP_CATEGORIES)
    text = _NOT_PORTABLE.sub("_", text).strip(" .")
    if not text:
        return default
    match = _EXTENSION.search(text)
    ext = match.group(0) if match and match.start() > 0 else ""
    stem = text[: len(text) - len(ext)]
    budget = max(1, max_bytes - len(ext.encode("utf-8")))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    out = (stem or "upload") + ext
    if _WINDOWS_DEVICE.match(out):
        out = "_" + out
    return out


def pid_tag() -> str:
    """``p<PID>-`` of this process: put it in front of the random part of a temp name."""
    return f"p{os.getpid()}-"


def owned_name(prefix: str, suffix: str = "") -> str:
    """A fresh temp name owned by this process: ``{prefix}p<PID>-<10 hex>{suffix}``."""
    return f"{prefix}{pid_tag()}{uuid.uuid4().hex[:10]}{suffix}"


def owner_pid(name: str) -> int | None:
    """The PID a temp name was made by (see ``owned_name``), or None when it carries none."""
    match = _OWNER.search(name)
    return int(match.group(1)) if match else None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine). Where that cannot be told safely (not
    POSIX) the answer is True, so that only the age decides."""
    if pid == os.getpid():
        return True
    if pid <= 0 or os.name != "posix":
        return pid > 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    try:  # a zombie has exited: only its exit status is left
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def newest_mtime(path: Path) -> float:
    """The latest modification time of ``path`` and, for a folder, of anything in it (symbolic
    links are not followed)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for n in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(folder, n)).st_mtime)
                except OSError:
                    pass
    return newest


def is_stale(path: Path, *, now: float | None = None, max_age: float = STALE_SECONDS) -> bool:
    """A temp entry no process will finish: its owner (PID in the name) has exited, or it names
    no owner and nothing in it changed for ``max_age`` seconds (``LIVE_OWNER_SECONDS`` when the
    owner PID is alive, against PID reuse)."""
    now = time.time() if now is None else now
    pid = owner_pid(path.name)
    if pid is not None and not pid_alive(pid):
        return True
    limit = max_age if pid is None else max(max_age, LIVE_OWNER_SECONDS)
    return now - newest_mtime(path) > limit


def remove(path: Path) -> None:
    """Delete a file or folder (a link itself, never what it points to)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Write a directory atomically: yields a temp directory next to ``target`` (named with this
    process's ``pid_tag``); on success it replaces ``target`` by rename, on any exception
    (``Cancelled`` included) it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{pid_tag()}", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{pid_tag()}{uuid.uuid4().hex[:6]}")
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
