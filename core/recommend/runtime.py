"""Where and in what pieces the neural recommender runs: the torch device of a minibatch, the
number of torch threads while fitting or scoring, and how many users are scored against the
whole catalog at once (bounded memory on a large catalog)."""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch

from core.device import ENV_THREADS, cpu_threads

# scores held at once while validating or scoring: rows x items float32 (a 90,000-item catalog
# takes ~180 rows per 64 MB; a small shop keeps 512 rows per step)
SCORE_CELLS = 16 * 2**20


def score_rows(n_items: int) -> int:
    """Users scored at once against every item: bounded memory, at most 512."""
    return int(min(512, max(32, SCORE_CELLS // max(n_items, 1))))


def to_device(x: dict[str, torch.Tensor], dev: torch.device) -> dict[str, torch.Tensor]:
    """A minibatch's tensors on ``dev`` (no copy on the CPU)."""
    return x if dev.type == "cpu" else {k: v.to(dev, non_blocking=True) for k, v in x.items()}


# Torch threads when neither the caller nor $BUNDLELAB_THREADS says: 1, measured (issue 13) on
# this project's shared 2-core machine (load 2-4): UCI Online Retail full-data training median
# 52.7 s at 1 thread vs 77.4 s at 2 (3 seeds each, the same epochs and NDCG); on the
# bench/scale_run.py shop (90,000 items) 146 ms vs 899 ms per minibatch of 128 (329 vs 588 ms
# before torch used huge pages). A minibatch's matrices are small, so more OpenMP threads mostly
# wait for each other, and on a busy machine for a core.
DEFAULT_TORCH_THREADS = 1


def thread_count(n: int | None) -> int:
    """``n``, else ``$BUNDLELAB_THREADS`` (``core.device.cpu_threads``) when set, else
    ``DEFAULT_TORCH_THREADS``."""
    if n is None and not os.environ.get(ENV_THREADS, "").strip():
        return DEFAULT_TORCH_THREADS
    return cpu_threads(n)


@contextmanager
def torch_threads(n: int | None):
    """Run torch with ``thread_count(n)`` intra-op threads, restoring the previous number
    afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, thread_count(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextmanager
def blas_threads(n: int | None):
    """numpy's BLAS/LAPACK (the text vectors' SVD) with ``thread_count(n)`` threads meanwhile:
    its default of one thread per core waited for busy cores, e.g. 3.7-9 s instead of 0.1 s for
    Superstore's 1,862 x 384 text vectors on the shared 2-core machine at load 3-5."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(max(1, thread_count(n)), user_api="blas"):
        yield

