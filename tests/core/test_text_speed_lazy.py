"""Never encode twice (issue 13): the bundles' variant detection reads base-model vectors of just
the candidate items, encoded on demand through the (model, text) vector cache, and the lists come
out exactly as with every item encoded up front. A tiny in-process encoder that finds every text
alike makes the base-model similarity decide many variant flags here."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from core.bundles.build import build_bundles
from core.bundles.params import BundleParams
from core.bundles.service import dataset_inputs
from core.ingest.load import ingest
from core.text import FinetuneParams, LazyItemVectors, item_texts
from core.text import encoder as emb
from tests.core.embedding_helpers import make_tiny_encoder
from tests.core.test_bundles_cli import PAIRS, shop_csv


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    words = tuple(n for p in PAIRS for n in p) + ("TEA SAUCER NEW", "STORAGE JAR", "GLASS BOTTLE")
    return make_tiny_encoder(tmp_path_factory.mktemp("enc"), extra_words=words)


@pytest.fixture
def shop(ws, tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "20")
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return ws


@pytest.fixture
def encoded(monkeypatch):
    """Every text encoded, as (id of the model, text)."""
    seen: list[tuple[int, str]] = []
    real = emb.encode_texts

    def spy(model, texts, **kwargs):
        seen.extend((id(model), t) for t in texts)
        return real(model, texts, **kwargs)

    monkeypatch.setattr(emb, "encode_texts", spy)
    return seen


def test_inputs_encode_each_item_once_and_base_rows_on_demand(shop, encoded):
    inp, _ = dataset_inputs(shop, "shop")
    texts = set(item_texts(inp.items))
    assert isinstance(inp.base_vectors, LazyItemVectors) and len(inp.base_vectors) == len(texts)
    assert Counter(t for _, t in encoded) == Counter(texts)  # the fine-tuned model, once each
    build_bundles(inp, BundleParams(allow_variants=False))
    assert 0 < inp.base_vectors.encoded <= len(texts)
    per_model = Counter(encoded)
    assert max(per_model.values()) == 1  # no text twice with one model
    rows = inp.base_vectors.rows(np.arange(len(texts)))  # the rest now; the asked ones kept
    assert max(Counter(encoded).values()) == 1
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("strategy", ["hybrid", "rules", "similarity"])
def test_lazy_base_vectors_give_the_same_lists(shop, tiny, strategy):
    inp, _ = dataset_inputs(shop, "shop")
    full = emb.encode_texts(emb.load_model(tiny), item_texts(inp.items).tolist())
    for allow in (False, True):
        params = BundleParams(strategy=strategy, allow_variants=allow, min_orders=5)
        lazy = build_bundles(inp, params)
        eager = build_bundles(replace(inp, base_vectors=full), params)
        assert lazy.bundles.equals(eager.bundles) and lazy.flagged.equals(eager.flagged)
    assert len(eager.flagged) or eager.bundles["variant"].any()  # the flags were exercised


def test_lazy_rows_are_cached_by_model_and_text(shop, tiny, encoded):
    texts = item_texts(shop.items("shop"))
    lazy = LazyItemVectors(shop, "shop", texts, model=tiny)
    first = lazy.rows([2, 0, 2])
    assert [t for _, t in encoded] == [texts.iloc[0], texts.iloc[2]]
    assert np.array_equal(first[0], first[2]) and lazy.encoded == 2
    again = LazyItemVectors(shop, "shop", texts, model=tiny).rows([0, 2])  # from the cache file
    assert len(encoded) == 2 and np.allclose(again, first[[1, 0]])
    every = emb.encode_items(shop, "shop", texts, model=tiny)
    assert np.allclose(every[[2, 0]], first[:2], atol=1e-6)
    assert lazy.rows([]).shape[0] == 0


def test_without_pairs_the_base_vectors_serve_both(shop, encoded):
    inp, _ = dataset_inputs(shop, "shop", finetune_params=FinetuneParams(min_cocount=10**6))
    assert inp.base_vectors is inp.vectors and "base model vectors used" in inp.notes[0]
    assert max(Counter(encoded).values()) == 1
