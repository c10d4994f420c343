"""Where and how the text models run (docs/ARCHITECTURE.md §5): the torch device
(``core.device.torch_device``: CUDA when there is one, ``$BUNDLELAB_DEVICE`` to force one) and
the CPU threads while encoding or training.

- ``torch_threads()``: torch's intra-op threads = ``core.device.cpu_threads()`` (every core, or
  ``$BUNDLELAB_THREADS``) for the duration of an encode or a training run, the previous number
  restored afterwards: another stage (the recommender) may pin torch to one thread for itself,
  and the text stage must not inherit that.
- ``OMP_WAIT_POLICY=PASSIVE`` (unless the environment says otherwise; set when this module is
  imported, which is before torch is: see ``core.text.__init__``): torch's OpenMP threads sleep
  instead of spinning between operations. Measured on a shared 2-core machine (load 4-6),
  encoding 2,000 item names took 35 s on 2 spinning threads, 10 s on one thread and 11 s on 2
  passive threads; on a quiet machine 2 passive threads are faster than one (bench/text_speed.py
  ``--threads``). Spinning threads fight every other process for the cores.

torch is imported inside functions only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core.device import cpu_threads, torch_device

OMP_POLICY_ENV = "OMP_WAIT_POLICY"
_LOCK = threading.Lock()
_ACTIVE = 0  # text-stage sections running now (threads of one process share torch's setting)
_SAVED: list[int] = []


def passive_openmp() -> None:
    """Ask OpenMP to let idle threads sleep (only effective before torch is first imported)."""
    os.environ.setdefault(OMP_POLICY_ENV, "PASSIVE")


passive_openmp()


def device() -> str:
    """The torch device for the text models (``core.device.torch_device``)."""
    return torch_device()


@contextmanager
def torch_threads(n: int | None = None) -> Iterator[int]:
    """Run the body with torch on ``n`` intra-op threads (default ``cpu_threads()``), restoring
    the previous number when the last overlapping section ends. Yields the number used."""
    import torch

    global _ACTIVE
    n = max(1, int(n if n is not None else cpu_threads()))
    with _LOCK:
        if _ACTIVE == 0:
            _SAVED.append(torch.get_num_threads())
        _ACTIVE += 1
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    try:
        yield n
    finally:
        with _LOCK:
            _ACTIVE -= 1
            if _ACTIVE == 0:
                old = _SAVED.pop()
                if torch.get_num_threads() != old:
                    torch.set_num_threads(old)


# ---------------------------------------------------------------------------- measured costs
# The last measured fixed costs of this process (seconds), per (what, device, threads): loading a
# model, setting up the trainer, saving a model, and how many forward passes a training step costs.
# Estimates (``core.text.plan``) start from these; each load, training run and save updates them.
_COSTS: dict[tuple[str, str, int], float] = {}


def _cost_key(what: str) -> tuple[str, str, int]:
    return what, device(), cpu_threads()


def remember(what: str, seconds: float) -> None:
    """Record a measured cost (an exponential average with the earlier ones)."""
    key = _cost_key(what)
    old = _COSTS.get(key)
    _COSTS[key] = float(seconds) if old is None else 0.5 * old + 0.5 * float(seconds)


def recall(what: str, default: float) -> float:
    """The cost last measured in this process, else ``default``."""
    return _COSTS.get(_cost_key(what), default)
