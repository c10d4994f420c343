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


MIN_SHARE_FOR_PACE = 0.03  # below this share of a step its own pace is too noisy to extrapolate
TRUST_PACE_AT = 0.3  # from this share of a step on, its own pace alone gives the time left


def time_left(spent: float, fraction: float, predicted: float | None) -> float | None:
    """Seconds left in a step ``fraction`` done after ``spent`` seconds: its own pace once it is
    well under way, the ``predicted`` duration before, a blend in between (a step's first
    percent is often loading, not its pace). None when nothing is known yet."""
    pace = spent * (1 - fraction) / fraction if fraction >= MIN_SHARE_FOR_PACE else None
    prior = None if predicted is None else max(predicted - spent, 0.05 * predicted)
    if pace is None or prior is None:
        return pace if prior is None else prior
    w = min(1.0, fraction / TRUST_PACE_AT)
    return w * pace + (1 - w) * prior


# ---------------------------------------------------------------------------- reliability
