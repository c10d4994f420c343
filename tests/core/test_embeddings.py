"""Item texts, encoding cache, fine-tuning (train-only pairs, reuse, budget, cancellation), the
``embed`` CLI and the ``embeddings`` evaluation block, with a tiny in-process encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.text import encoder as emb
from core.text import finetune as ft
from core.text import vectors as vec
from core.errors import BundleLabError, ModelNotTrained
from core.progress import Cancelled
from core.text import FinetuneParams, item_texts
from core.ingest.load import ingest
from tests.core.embedding_helpers import (ITEMS, TRAIN_ORDERS, make_tiny_encoder, tiny_words,
                                          write_orders)

SMALL = FinetuneParams(max_pairs=16, batch_size=4, min_cocount=2, seconds=60)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny"), extra_words=tiny_words())


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, write_orders(tmp_path / "shop.csv"), dataset="shop")
    return ws


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() and p.name != "bundlelab.duckdb.wal"}


# ---------------------------------------------------------------------------- texts and model
def test_item_texts_name_plus_category_or_id():
    items = pd.DataFrame({"item_id": ["a", "b", "c", "d"],
                          "item_name": ["  Tea   cup ", None, "Party plates", "Mug"],
                          "category": ["kitchen", "garden", "party", None]})
    assert item_texts(items).to_dict() == {
        "a": "Tea cup (kitchen)", "b": "b (garden)", "c": "Party plates", "d": "Mug"}


def test_model_dir_from_argument_env_or_bundled(tiny, monkeypatch, tmp_path):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    assert emb.base_model_dir().name == "model"  # the bundled all-MiniLM-L6-v2 package dir
    assert emb.base_model_dir(tiny) == tiny.resolve()
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    assert emb.base_model_dir() == tiny.resolve()
    with pytest.raises(BundleLabError, match="is not a directory"):
        emb.base_model_dir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleLabError, match="not a sentence-transformers model"):
        emb.base_model_dir(tmp_path / "empty")


def test_encode_texts_normalised_and_in_input_order(tiny):
    model = emb.load_model(tiny)
    texts = ["paper plates party", "jar", "christmas tree star bell bunting", "jar"]
    seen = []
    v = emb.encode_texts(model, texts, progress=lambda f, m: seen.append(f))
    assert v.shape == (4, 32) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(v[1], v[3], atol=1e-6)
    single = emb.encode_texts(model, [texts[2]])
    np.testing.assert_allclose(single[0], v[2], atol=1e-5)
    assert seen[-1] == 1.0


def test_vector_cache_reused_and_keyed_by_text(shop, tiny, monkeypatch):
    texts = item_texts(shop.items("shop"))
    v1 = emb.encode_items(shop, "shop", texts, model=tiny)
    cache_files = list(shop.model_dir("shop", "vectors").glob("*.npz"))
    assert len(cache_files) == 1 and cache_files[0].stem == emb.model_key(tiny)

    calls = []
    real = emb.encode_texts
    monkeypatch.setattr(emb, "encode_texts",
                        lambda m, t, **kw: calls.append(list(t)) or real(m, t, **kw))
    v2 = emb.encode_items(shop, "shop", texts, model=tiny)
    np.testing.assert_array_equal(v1, v2)
    assert calls == []  # everything came from the cache
    renamed = texts.copy()
    renamed.iloc[0] = "PAPER PLATES GOLD (party)"
    v3 = emb.encode_items(shop, "shop", renamed, model=tiny)
    assert calls == [["PAPER PLATES GOLD (party)"]]  # only the new text is encoded
    np.testing.assert_array_equal(v3[1:], v1[1:])


# ---------------------------------------------------------------------------- fine-tuning
def test_item_vectors_finetune_then_reuse(shop, tiny, monkeypatch):
    ids, base = vec.item_vectors(shop, "shop", finetuned=False, model=tiny)
    assert list(ids) == shop.items("shop")["item_id"].tolist() and base.shape == (12, 32)
    ids2, tuned = vec.item_vectors(shop, "shop", cut="2011-02-01", model=tiny, params=SMALL)
    assert list(ids2) == list(ids) and tuned.shape == base.shape and tuned.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(tuned, base)  # training moved the vectors
    runs = shop.runs("shop", kind="finetune")
    assert len(runs) == 1 and json.loads(runs.params[0])["cut"] == "2011-02-01"
    meta = ft.read_meta(Path(runs.artifact[0]))
    assert meta["pairs"] >= 2 and meta["steps"] >= 1 and meta["train_orders"] == len(TRAIN_ORDERS)

    def no_training(*a, **k):
        raise AssertionError("retrained although the same model exists")

    monkeypatch.setattr(ft, "train_encoder", no_training)
    monkeypatch.setattr(emb, "encode_texts", no_training)
    _, again = vec.item_vectors(shop, "shop", cut="2011-02-01", model=tiny, params=SMALL)
    np.testing.assert_array_equal(again, tuned)
    assert len(shop.runs("shop", kind="finetune")) == 1
    assert ft.encoders(shop, "shop").cut.tolist() == ["2011-02-01"]


def test_pairs_come_from_training_orders_only(ws, tiny, tmp_path):
    # the only co-purchases happen after the cut: nothing to train on before it
    singles = [[item] for item in ITEMS for _ in range(2)]
    ingest(ws, write_orders(tmp_path / "s.csv", train=singles, test=TRAIN_ORDERS), dataset="s")
    with pytest.raises(ModelNotTrained, match=r"only 0 co-purchase pair\(s\) found in 24 "):
        ft.finetune(ws, "s", cut="2011-02-01", model=tiny, params=SMALL)
    result = ft.finetune(ws, "s", model=tiny, params=SMALL)  # all orders: pairs exist
    assert not result.reused and result.pairs >= 2 and result.path.name.startswith("encoder-all-")


def test_time_budget_stops_training(shop, tiny):
    params = FinetuneParams(max_pairs=16, batch_size=2, min_cocount=2, seconds=1e-6, epochs=3)
    result = ft.finetune(shop, "shop", model=tiny, params=params)
    assert result.stopped_early and result.steps == 1
    assert ft.read_meta(result.path)["stopped_early"] is True


@pytest.mark.parametrize("stop_at", ["fine-tuning step 2", "encoding items"])
def test_cancel_leaves_workspace_unchanged(shop, tiny, stop_at):
    before = snapshot(shop.root)
    runs_before = len(shop.runs())
    messages = []

    def progress(fraction, message):
        messages.append(message)
        if message.startswith(stop_at):
            raise Cancelled()

    params = FinetuneParams(max_pairs=16, batch_size=2, min_cocount=2, seconds=60)
    with pytest.raises(Cancelled):
        vec.item_vectors(shop, "shop", model=tiny, params=params, progress=progress)
    assert any(m.startswith(stop_at) for m in messages)
    assert snapshot(shop.root) == before
    assert len(shop.runs()) == runs_before
    assert not list(shop.models_dir.rglob("encoder-*")) and not list(shop.models_dir.rglob("*.npz"))


def test_bad_params_say_what_is_wrong():
    with pytest.raises(BundleLabError, match=r"epochs=0.*epochs >= 1"):
        FinetuneParams(epochs=0)


# ---------------------------------------------------------------------------- CLI
def test_cli_embed_with_local_model_dir(shop, tiny, capsys):
    from core.cli.main import main

    args = ["embed", "--workspace", str(shop.root), "--model", str(tiny), "--max-pairs", "16",
            "--seconds", "60", "--cut", "2011-02-01", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"model", "seconds", "items"} <= set(out)
    assert out["items"] == 12 and out["reused"] is False and out["cut"] == "2011-02-01"
    assert Path(out["model"]).parent == shop.model_dir("shop", "x").parent
    assert (Path(out["model"]) / "modules.json").exists()
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["reused"] is True and again["model"] == out["model"]


def test_cli_embed_bad_model_is_a_user_error(shop, tmp_path, capsys):
    from core.cli.main import main

    code = main(["embed", "--workspace", str(shop.root), "--model", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: model ") and "is not a directory" in err


# ---------------------------------------------------------------------------- evaluation
def test_embeddings_block_in_evaluate(shop, tiny):
    from core.evaluate.run import evaluate

    params = FinetuneParams(max_pairs=16, batch_size=4, min_cocount=2, seconds=60)
    out = evaluate(shop, "shop", cut="2011-02-01", blocks=["embeddings"],
                   options={"embeddings": {"model": str(tiny), "params": params}})
    block = out["embeddings"]
    assert set(block) == {"cooccurrence", "base", "finetuned", "n", "encoder"}
    assert block["encoder"]["name"] == "given"  # the tiny model directory named in the options
    for method in ("cooccurrence", "base", "finetuned"):
        assert set(block[method]) == {"recall@10", "mrr", "cold_recall@10"}
        assert all(0.0 <= v <= 1.0 for v in block[method].values())
    # 2+2+3+2+2+3 queries; the christmas items are cold (no train sales): 4 queries
    assert block["n"]["queries"] == 14 and block["n"]["cold_queries"] == 4
    assert block["cooccurrence"]["cold_recall@10"] == 0.0
    # 12 items: every query's relevant items are within its 11 neighbours
    assert block["base"]["recall@10"] > 0.5
    # the fine-tuned encoder was trained on orders before the cut only, and is reused next time
    assert ft.encoders(shop, "shop").cut.tolist() == ["2011-02-01"]
