"""Cancelling long work midway (the progress callback raises ``Cancelled``) leaves the workspace
exactly as it was: mining and bundle building here; ingest, fine-tuning and recommender training
have their own cancel tests (test_ingest_errors, test_embeddings, test_recommender_workspace)."""

from __future__ import annotations

import hashlib

import pytest

from core.progress import Cancelled
from core.ingest.load import ingest
from tests.core.test_bundles_cli import shop_csv


def snapshot(ws) -> dict:
    """Every table's row count and a digest of every file in the workspace (but the DuckDB file,
    whose pages DuckDB may rewrite on any connection)."""
    with ws.connect(read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    files = {str(p.relative_to(ws.root)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(ws.root.rglob("*"))
             if p.is_file() and p.name != "bundlelab.duckdb" and "tmp" not in p.parts
             and not p.name.endswith(".wal")}
    return {"tables": counts, "files": files}


def cancel_at(fraction: float):
    seen = []

    def progress(f: float, message: str) -> None:
        seen.append(f)
        if f >= fraction:
            raise Cancelled()

    return progress, seen


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset  # a first list, so tables exist

    build_for_dataset(ws, "shop", BundleParams(text=False))
    return ws


@pytest.mark.parametrize("at", [0.3, 0.8])
def test_cancel_bundles_midway(shop, at):
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset

    before = snapshot(shop)
    progress, seen = cancel_at(at)
    with pytest.raises(Cancelled):
        build_for_dataset(shop, "shop", BundleParams(text=False), progress=progress)
    assert max(seen) >= at and snapshot(shop) == before


def test_cancel_mining_midway(shop):
    from core.rules.itemsets import MiningParams
    from core.rules.mining import mine

    before = snapshot(shop)
    progress, seen = cancel_at(0.5)
    with pytest.raises(Cancelled):
        mine(shop, "shop", mining=MiningParams(min_support=3, max_len=3), progress=progress)
    assert seen and snapshot(shop) == before
