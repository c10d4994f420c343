"""A heavy step in a child process, so that its memory goes back to the system when it ends.

Measured on ``bench/scale_run.py``'s shop (1.67 M lines, 90,000 products, 2 cores): each step of
``python -m core run`` peaks under 1.9 GB in a process of its own, but in one process the whole
run reached 3.4 GB: the text model left ~1.2 GB behind (torch's and the allocator's pools, which
Python's ``gc`` and ``malloc_trim`` do not give back), and the recommender's peak came on top.
The pipeline therefore runs the text model and the recommender of a large shop each in a child
process: a fresh interpreter (``python -c``; no forked threads or DuckDB handles, and unlike
``multiprocessing``'s spawn it does not re-run the caller's main script, which a user's script
or the Streamlit server would not survive). The arguments go in pickled on its stdin, the
messages come back through a pipe of their own (libraries may print on stdout).
Both write their results to the workspace atomically, so only a small summary comes back.

``run_isolated("core.module:function", progress=..., **kwargs)`` calls the function in a child
with ``progress`` forwarded to the parent's callback, and returns its (picklable) result. A
``BundleLabError`` raised in the child is raised again in the parent with the same class and
message; any other failure, or a child that dies (killed for memory, say), becomes a
``BundleLabError`` that says what happened. If the parent's ``progress`` raises (a cancel), the
child is stopped and the exception goes on.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from core.errors import BundleLabError
from core.progress import Progress, report

JOIN_SECONDS = 30.0
ROOT = Path(__file__).resolve().parents[1]  # the directory holding the ``core`` package
log = logging.getLogger(__name__)


def _call(target: str, kwargs: dict[str, Any], progress: Progress) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(progress=progress, **kwargs)


def _child(conn: Connection, target: str, kwargs: dict[str, Any]) -> None:
    def progress(fraction: float, message: str) -> None:
        conn.send(("progress", float(fraction), str(message)))

    try:
        conn.send(("done", _call(target, kwargs, progress)))
    except BundleLabError as exc:
        cls = type(exc)
        conn.send(("error", cls.__module__, cls.__qualname__, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        conn.send(("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        conn.close()


def child_main(fd: int) -> None:
    """The child's entry: the call comes pickled on stdin, the messages go out on ``fd``. The
    memory settings of the command line (``core.device.tune_allocators``) apply here too."""
    from core.device import tune_allocators

    tune_allocators()
    target, kwargs = pickle.load(sys.stdin.buffer)
    _child(Connection(fd, readable=False), target, kwargs)


def _rebuild(module: str, qualname: str, message: str) -> BundleLabError:
    """The child's error as the same class when it takes a message, else a BundleLabError."""
    try:
        cls = getattr(importlib.import_module(module), qualname)
        exc = cls(message)
        if isinstance(exc, BundleLabError) and str(exc) == message:
            return exc
    except Exception:  # noqa: BLE001 - a class with another signature: keep the words
        pass
    return BundleLabError(message)


def run_isolated(target: str, *, progress: Progress | None = None, what: str = "step",
                 **kwargs: Any) -> Any:
    """``target(progress=..., **kwargs)`` in a child process (see the module docstring);
    ``what`` names the step in errors."""
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", f"from core.isolate import child_main; child_main({write_fd})"],
            stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env)
    finally:
        os.close(write_fd)  # the parent keeps only the reading end: EOF when the child is gone
    receive = Connection(read_fd, writable=False)
    try:
        child.stdin.write(pickle.dumps((target, kwargs)))
        child.stdin.close()
    except BrokenPipeError:
        pass  # the child died at start: reported below as a child that stopped
    done = False
    try:
        while True:
            try:
                msg = receive.recv()
            except EOFError:
                code = _wait(child)
                raise BundleLabError(
                    f"the {what} stopped unexpectedly (exit code {code}); it may have "
                    "run out of memory: close other programs, or run with --no-text") from None
            if msg[0] == "progress":
                report(progress, msg[1], msg[2])
            elif msg[0] == "done":
                done = True
                return msg[1]
            elif msg[0] == "error":
                done = True
                raise _rebuild(*msg[1:])
            else:
                done = True
                log.error("the %s failed in its child process:\n%s", what, msg[2])
                raise BundleLabError(f"the {what} failed ({msg[1]}); the details are in the log")
    finally:
        receive.close()
        if not done:  # the parent stopped early (a cancel, an error): stop the child first
            child.terminate()
        _wait(child)


def _wait(child: subprocess.Popen) -> int | None:
    try:
        return child.wait(JOIN_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait(JOIN_SECONDS)
