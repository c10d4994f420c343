"""Progress and cancel: the contract every long step follows.

A step takes ``progress(fraction, message)``, calls it between units of work through
``report``, and maps a sub-step onto part of its range with ``sub_progress``. The callback may
raise ``Cancelled``; the step lets it propagate and leaves the workspace exactly as it was before
the step started (see docs/ARCHITECTURE.md, "Progress and cancel")."""

from __future__ import annotations

from typing import Callable, Optional


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


# ---------------------------------------------------------------------------- reliability
