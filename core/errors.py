"""Typed errors. A ``BundleLabError`` is the user's to fix: its message says what was found and
what to do, and front ends show it as one line (CLI: ``error: ...`` and exit 2; UI: ``st.error``).
Anything else escaping ``core`` is a bug."""

from __future__ import annotations

import re
from typing import Optional


class BundleLabError(Exception):
    """A problem the user can fix (bad input, missing dataset, busy workspace, too-large setting)."""


class InputError(BundleLabError):
    """A file cannot be read as order lines, a basket list or a catalog."""

    def __init__(self, message: str, *, file: str | None = None, columns: list[str] | None = None):
        self.file = file
        self.columns = columns
        super().__init__(message)


class MappingError(InputError):
    """No column (or a wrong column) for a required field."""


class DatasetNotFound(BundleLabError):
    """The named dataset is not in the workspace."""


class WorkspaceBusy(BundleLabError):
    """Another process holds the workspace's write lock (DuckDB allows one writer per file)."""


class TooManyItemsets(BundleLabError):
    """A mining setting would produce more itemsets than the configured limit."""


class ModelNotTrained(BundleLabError):
    """A step needs a model that has not been trained for this dataset yet."""


class DatasetChanged(BundleLabError):
    """The dataset was re-loaded (or deleted) while a stage was working on it: what the stage
    read no longer matches the workspace, so nothing was saved."""


class WorkspaceDamaged(BundleLabError):
    """The workspace database file cannot be read (overwritten, truncated, checksum errors)."""


class ModelDamaged(BundleLabError):
    """A saved model's files (fine-tuned encoder, recommender weights) cannot be read."""


class DiskFull(BundleLabError):
    """A write failed because the disk is full (or over its quota)."""


def check_version(ws, dataset: str, version: int, *, doing: str, again: str) -> None:
    """Raise ``DatasetChanged`` unless ``dataset`` in the workspace ``ws`` is still at
    ``version`` (the ``datasets.version`` read when the work started). ``doing``: what was
    running ("bundles were being built"); ``again``: what to do ("run bundles again")."""
    try:
        now = ws.info(dataset)["version"]
    except DatasetNotFound:
        raise DatasetChanged(f"dataset {dataset} was deleted while {doing}; nothing was saved. "
                             "Load it again, then " + again) from None
    if now != version:
        raise DatasetChanged(f"dataset {dataset} was re-loaded while {doing} (version {version} "
                             f"-> {now}); nothing was saved: {again}")


_NO_SPACE = ("no space left on device", "os error 28", "disk quota exceeded",
             "not enough space on the disk", "database or disk is full")
_FILE_IN_MESSAGE = re.compile(r'file "([^"]+)"', re.IGNORECASE)
DB_NAME = "bundlelab.duckdb"  # == core.config.DB_FILE (errors.py imports no core module)
_DB_DAMAGED = ("not a valid duckdb database file", "corrupt database file",
               "could not read enough bytes from file", "does not match stored checksum")


def _human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def _free_space(path) -> str:
    """``"12.3 MB free"`` on the disk holding ``path`` (its nearest existing parent)."""
    import shutil
    from pathlib import Path

    p = Path(path).resolve() if path is not None else Path.cwd()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return f"{_human_bytes(shutil.disk_usage(p).free)} free"
    except OSError:
        return "free space unknown"


def _inside(path, root) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (OSError, ValueError):
        return False


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 10:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def friendly(exc: BaseException, workspace=None) -> Optional[BundleLabError]:
    """The user's-to-fix error behind ``exc``, or None when ``exc`` is a bug.

    A ``BundleLabError`` is returned as is. Known failures of the machine or of the workspace's
    files become one: a full disk (``OSError`` ENOSPC/EDQUOT, DuckDB's "No space left on device"
    or "Could not write file", safetensors' "os error 28") -> ``DiskFull``; a damaged workspace
    database (DuckDB: "not a valid DuckDB database file", "Corrupt database file", checksum
    errors, a truncated file) -> ``WorkspaceDamaged``. ``workspace``: the ``Workspace`` (or its
    directory) the work ran in, named in the message. Front ends call it on any exception that
    is not a ``BundleLabError``: the CLI in ``main``, the app around each page's work::

        try:
            ...
        except Exception as exc:
            err = friendly(exc, ws)
            if err is None:
                raise          # a bug: keep the traceback
            st.error(str(err))
    """
    import errno
    from pathlib import Path

    if isinstance(exc, BundleLabError):
        return exc
    root = getattr(workspace, "root", workspace)
    root = Path(root) if root is not None else None
    db_path = getattr(workspace, "db_path", None)
    if db_path is None and root is not None:
        db_path = root / DB_NAME
    where = f"the workspace {root}" if root is not None else "the workspace"
    for e in _chain(exc):
        msg = str(e)
        low = msg.lower()
        kind = type(e).__module__.split(".")[0].lstrip("_")
        no_space = any(s in low for s in _NO_SPACE) or (
            isinstance(e, OSError) and e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)))
        if not no_space and kind == "duckdb" and "could not write" in low \
                and not any(s in low for s in ("permission denied", "read-only file system")):
            no_space = True  # DuckDB's write failure without another cause: a full disk
        if no_space:
            place, disk = where, root
            filename = getattr(e, "filename", None)  # an OSError's; DuckDB writes in W only
            if filename and (root is None or not _inside(Path(filename), root)):
                place, disk = str(filename), Path(filename).parent  # e.g. an --out file
            return DiskFull(f"the disk holding {place} is full ({_free_space(disk)}): free "
                            "space and try again (the step that failed saved nothing)")
        named = _FILE_IN_MESSAGE.search(msg)  # DuckDB names the file it read: 'file "PATH"'
        if kind == "duckdb" and (named is None or Path(named.group(1)).name.startswith(
                Path(db_path).name if db_path is not None else DB_NAME)):  # not an upload
            if any(s in low for s in _DB_DAMAGED) or type(e).__name__ == "SerializationException":
                uploads = f"{root}/uploads" if root is not None else "the workspace's uploads/"
                return WorkspaceDamaged(
                    f"the workspace database {db_path or 'bundlelab.duckdb'} is damaged "
                    f"({msg.strip()[:200]}): move it away and load your data again; the raw "
                    f"uploads are under {uploads}")
            if "database file with version number" in low or "serialized with" in low:
                return WorkspaceDamaged(
                    f"the workspace database {db_path or 'bundlelab.duckdb'} was written by "
                    f"another DuckDB version ({msg.strip()[:200]}): use the BundleLab install "
                    "that wrote it, or move it away and load your data again")
            if "database has been invalidated" in low:
                return WorkspaceDamaged(
                    f"the workspace database {db_path or 'bundlelab.duckdb'} was closed after an "
                    f"earlier error in this session ({msg.strip()[:200]}): restart BundleLab "
                    "(the app or the command) and try again")
    return None
