"""``bench/cold_start_sim.py`` on a small Chinese shop: the items made new leave the training
orders, and every encoder (MiniLM, multilingual; base and fine-tuned) is scored on them."""

from __future__ import annotations

import importlib.util

from core.ingest.load import ingest
from tests.conftest import ROOT
from tests.core.embedding_helpers import DISH_TRAIN, write_dish_orders


def test_cold_start_simulation_on_a_chinese_shop(ws, tmp_path, monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "20")
    spec = importlib.util.spec_from_file_location("cold_start_sim",
                                                  ROOT / "bench" / "cold_start_sim.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ingest(ws, write_dish_orders(tmp_path / "dishes.csv"), dataset="dishes")
    out = bench.run(ws, "dishes", seed=0, share=0.2)
    assert out["new_items"] == 2 and out["train_orders"] < len(DISH_TRAIN)
    for key in ("minilm_base", "minilm_finetuned", "multilingual_base", "multilingual_finetuned"):
        assert 0.0 <= out[key]["recall@10"] <= 1.0
    # the fine-tuned models were trained on the orders without the new items, under their tag
    tags = [d.name for d in (ws.models_dir / "dishes").glob("encoder-coldsim-0-2-*")]
    assert len(tags) == 2
