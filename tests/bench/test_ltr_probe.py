"""``bench/ltr_probe.py`` on a small dated shop: the learned score and the rule strength are both
scored on the same held-out orders, as hit rates."""

from __future__ import annotations

import importlib.util

from core.ingest.load import ingest
from tests.conftest import ROOT
from tests.core.test_segments import write


def test_ltr_probe_scores_both_on_the_same_orders(ws, tmp_path):
    spec = importlib.util.spec_from_file_location("ltr_probe", ROOT / "bench" / "ltr_probe.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ingest(ws, write(tmp_path / "orders.csv"), dataset="shop")
    out = bench.run(ws, "shop", top=5)
    for key in ("val_rules", "val_ltr", "test_rules", "test_ltr", "test_mix"):
        assert 0.0 <= out[key] <= 1.0, (key, out)
    assert out["test_orders"] > 0 and out["candidates"] >= 2
    # the shop's two pairs (x+y, p+q or x+z) are found whatever the score: both hit the same
    assert out["test_rules"] > 0 and out["test_ltr"] == out["test_rules"]
