"""Pages first: background work gives way while a page builds what the user is waiting for.

The app trains its models in a background thread of the same server process (``core.jobs``).
On a 2-core laptop that thread took the cores (and, in its Python parts, the interpreter lock)
from the page that was building the first bundle list: measured on UCI Online Retail in a real
browser, the Bundles page took 13.5 s with the models training beside it and 3.4 s without.

So foreground work announces itself and background work waits at its next progress report:

- ``busy()``: a context manager around work a user waits for (building a bundle list, loading a
  file). Background work pauses while any is running.
- ``hold(key, seconds)`` / ``release(key)``: keep background work paused until something the user
  is about to look at has been shown (after a load: the first bundle list), for at most
  ``seconds`` (the user may never open the page).
- ``wait_idle(stop)``: called by background work; returns at once when nothing is in the
  foreground, else waits (without holding the interpreter lock) until nothing is, or until
  ``stop()`` says to stop waiting (a cancel). Returns the seconds it waited. ``checkpoint``
  does the same and raises ``Cancelled`` on a cancel (``core.jobs`` calls it at every report).

Process-wide and thread-safe; nothing is persisted (a server restart forgets every hold).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator

from core.progress import Cancelled

POLL = 0.2  # seconds between checks of ``stop`` while waiting

_cond = threading.Condition()
_busy = 0
_holds: dict[Hashable, float] = {}  # key -> when it expires (time.monotonic())


@contextmanager
def busy() -> Iterator[None]:
    """Background work pauses while this block runs (blocks may nest and overlap)."""
    global _busy
    with _cond:
        _busy += 1
    try:
        yield
    finally:
        with _cond:
            _busy -= 1
            _cond.notify_all()


def hold(key: Hashable, seconds: float) -> None:
    """Pause background work until ``release(key)`` or for ``seconds``, whichever comes first."""
    with _cond:
        _holds[key] = time.monotonic() + max(0.0, float(seconds))
        _cond.notify_all()


def release(key: Hashable) -> None:
    """End the hold ``key`` (nothing happens when there is none)."""
    with _cond:
        if _holds.pop(key, None) is not None:
            _cond.notify_all()


def _blocking(now: float) -> float | None:
    """None when background work may run; else the seconds until the next hold expires (inf
    when only ``busy`` blocks are running). Call with ``_cond`` held."""
    for key in [k for k, until in _holds.items() if until <= now]:
        del _holds[key]
    if _busy == 0 and not _holds:
        return None
    return min(_holds.values(), default=float("inf")) - now


def idle() -> bool:
    """Whether background work may run now."""
    with _cond:
        return _blocking(time.monotonic()) is None


def wait_idle(stop: Callable[[], bool] | None = None) -> float:
    """Wait until no foreground work is running and no hold is active, or until ``stop()`` is
    true (checked every ``POLL`` seconds). Returns the seconds waited (0.0 when idle)."""
    t0 = time.monotonic()
    with _cond:
        while True:
            left = _blocking(time.monotonic())
            if left is None or (stop is not None and stop()):
                return time.monotonic() - t0
            _cond.wait(timeout=min(POLL, max(left, 0.001)))


def checkpoint(cancelled: Callable[[], bool]) -> float:
    """For background work at a progress report: wait while the foreground is busy (``wait_idle``),
    then raise ``Cancelled`` when ``cancelled()``. Returns the seconds waited, which a time-left
    estimate should leave out."""
    waited = wait_idle(cancelled)
    if cancelled():
        raise Cancelled()
    return waited


def clear() -> None:
    """Forget every hold (tests; a busy block in progress still counts)."""
    with _cond:
        _holds.clear()
        _cond.notify_all()
