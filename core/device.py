"""Where the models run: the torch device and the number of CPU threads, chosen from the machine.

- ``BUNDLELAB_DEVICE``: ``auto`` (default: CUDA when torch sees a GPU, else the CPU), ``cpu``,
  ``cuda`` or ``cuda:N``. Fine-tuning, encoding, recommender training and scoring all ask
  ``torch_device()``.
- ``BUNDLELAB_THREADS``: CPU threads for torch and DuckDB (default: the cores this process may
  use, ``os.sched_getaffinity``).

torch is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import os

from core.errors import BundleLabError

ENV_DEVICE = "BUNDLELAB_DEVICE"
ENV_THREADS = "BUNDLELAB_THREADS"
DEVICES = ("auto", "cpu", "cuda")


def cpu_cores() -> int:
    """The CPU cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def cpu_threads(requested: int | None = None) -> int:
    """CPU threads for a heavy step: ``requested``, else ``$BUNDLELAB_THREADS``, else every core
    this process may use. Raises ``BundleLabError`` for a value that is not a whole number >= 1."""
    value = requested if requested is not None else os.environ.get(ENV_THREADS, "").strip()
    if value in ("", None):
        return cpu_cores()
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise BundleLabError(f"${ENV_THREADS}={value!r} is not a whole number >= 1: unset it "
                             "(every core is used) or give the number of threads")
    return n


def requested_device(requested: str | None = None) -> str:
    """The device asked for: ``requested``, else ``$BUNDLELAB_DEVICE``, else ``auto``; checked,
    lower-case. Raises ``BundleLabError`` for an unknown name."""
    value = (requested or os.environ.get(ENV_DEVICE) or "auto").strip().lower()
    base = value.split(":", 1)[0]
    ok = value in DEVICES or (base == "cuda" and value[5:].isdigit())
    if not ok:
        raise BundleLabError(f"device {value!r} is not known: use auto, cpu, cuda or cuda:N "
                             f"(--device or ${ENV_DEVICE})")
    return value


def torch_device(requested: str | None = None) -> str:
    """The torch device to run on: ``"cuda"``/``"cuda:N"`` or ``"cpu"`` (see the module
    docstring). ``auto`` takes CUDA when torch sees a GPU. Asking for CUDA on a machine without
    one raises ``BundleLabError`` (a clear message, not a torch traceback)."""
    value = requested_device(requested)
    if value == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if value == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise BundleLabError(f"device {value!r} was asked for but torch sees no CUDA GPU here: "
                             "use --device cpu (or auto), or unset $" + ENV_DEVICE)
    index = int(value[5:]) if ":" in value else 0
    if index >= torch.cuda.device_count():
        raise BundleLabError(f"device {value!r}: this machine has {torch.cuda.device_count()} "
                             "CUDA GPU(s), numbered from 0")
    return value


def describe() -> dict:
    """What the heavy steps will use here: ``{"device", "cpu_threads", "cpu_cores"}``."""
    return {"device": torch_device(), "cpu_threads": cpu_threads(), "cpu_cores": cpu_cores()}


def tune_allocators() -> None:
    """Memory settings for large arrays, made before torch is imported (a no-op where they do not
    apply; a value already in the environment is kept):

    - ``THP_MEM_ALLOC_ENABLE=1``: torch puts tensors of 2 MB and more on huge pages. Every
      training step of the recommender allocates a dozen batch x catalog tensors afresh; on a
      90,000-item catalog their 4 KB page faults took 176 of 299 ms per step (bench/scale_run.py
      shop, 1 thread), with huge pages a step takes ~135 ms and the same memory;
    - glibc's mmap threshold fixed at 1 MB: glibc serves blocks of up to 32 MB from its heap once
      such a block was freed, and a heap rarely shrinks: after the recommender's encoding ~400 MB
      of freed temporaries stayed in the process. Blocks from 1 MB up are mapped on their own
      instead, so their memory goes back when they are freed (recommend step peak 1.8 -> 1.45 GB).
    """
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD = 1 MB
    except (OSError, AttributeError):  # not glibc
        pass
