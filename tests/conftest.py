"""Shared fixtures. Tests that need ``../shared/datasets`` skip with a reason when it is absent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(os.environ.get("BUNDLELAB_SHARED", ROOT.parent / "shared")) / "datasets"
SAMPLE = ROOT / "sample_data"


def shared_file(*parts: str) -> Path:
    """A file under ../shared/datasets, or skip the test when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data sets are not on this machine)")
    return path


@pytest.fixture
def ws(tmp_path):
    """An empty workspace in a temp directory."""
    from core.workspace import Workspace

    return Workspace(tmp_path / "ws")


@pytest.fixture
def online_retail() -> Path:
    return shared_file("online_retail", "online_retail.csv.gz")


@pytest.fixture
def groceries_baskets() -> Path:
    return shared_file("groceries", "groceries_baskets.csv.gz")
