"""Functions that tests/core/test_isolate.py runs in a child process (importable by name)."""

import os

from core.errors import InputError


def add(a: int, b: int, progress=None) -> dict:
    progress(0.5, "half way")
    return {"sum": a + b, "pid": os.getpid()}


def user_error(progress=None) -> None:
    raise InputError("orders.csv, row 3, column 'Quantity': not a number")


def bug(progress=None) -> None:
    raise ZeroDivisionError("division by zero")


def die(progress=None) -> None:
    os._exit(9)  # as when the system kills a process that ran out of memory


def slow(progress=None) -> None:
    import time

    for i in range(600):
        progress(i / 600, "working")
        time.sleep(0.05)
