"""Typed errors. A ``BundleLabError`` is the user's to fix: its message says what was found and
what to do, and front ends show it as one line (CLI: ``error: ...`` and exit 2; UI: ``st.error``).
Anything else escaping ``core`` is a bug."""

from __future__ import annotations

from typing import Callable, Optional


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


class Cancelled(Exception):
    """Raised by a progress callback to stop the current work. Every stage checks for it between
    steps and leaves the workspace exactly as it was before the stage started."""


Progress = Callable[[float, str], None]


def report(progress: Optional[Progress], fraction: float, message: str) -> None:
    """Call ``progress(fraction, message)`` if a callback was given. ``fraction`` is clamped to
    [0, 1]. The callback may raise ``Cancelled``; it propagates to the caller on purpose."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def sub_progress(progress: Optional[Progress], start: float, end: float) -> Optional[Progress]:
    """A callback mapping [0, 1] of a sub-step onto [start, end] of the parent's range."""
    if progress is None:
        return None

    def _sub(fraction: float, message: str) -> None:
        progress(start + (end - start) * min(1.0, max(0.0, fraction)), message)

    return _sub
