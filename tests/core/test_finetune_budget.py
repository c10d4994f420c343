"""Budgets that fit the shop (issue 13): fine-tuning plans its pairs and epochs to fit the time
budget at this machine's measured speed instead of stopping midway, says why, predicts its
seconds before it starts (core.text.estimate.plan_text) and keeps the cache-key semantics and the
environment overrides. A tiny in-process encoder; no timed assertions."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise

import pytest

from core.ingest.load import ingest
from core.text import FinetuneParams, default_params, plan_text
from core.text import finetune as ft
from core.text import speed as sp
from core.text import vectors as vec
from core.text.runtime import device
from tests.core.embedding_helpers import make_tiny_encoder, tiny_words, write_orders

SMALL = FinetuneParams(max_pairs=16, batch_size=2, min_cocount=2, seconds=60, epochs=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny"), extra_words=tiny_words())


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, write_orders(tmp_path / "shop.csv"), dataset="shop")
    return ws


def test_the_plan_is_recorded_and_read_back(shop, tiny):
    result = ft.finetune(shop, "shop", model=tiny, params=SMALL)
    meta = ft.read_meta(result.path)
    assert result.why == meta["plan"]["why"]
    assert result.why.startswith(f"{result.pairs} co-purchase pairs with signal, 3 epochs, "
                                 f"{result.steps} steps, about ")
    assert meta["plan"]["steps"] == result.steps and not meta["stopped_by_timer"]
    assert meta["device"] == device() and meta["threads"] >= 1
    assert set(meta["estimate"]["parts"]) == {"load", "setup", "train", "save", "encode"}
    run = json.loads(shop.runs("shop", "finetune")["metrics"].iloc[0])
    assert run["plan"] == result.why and run["predicted_seconds"] > 0
    reused = ft.finetune(shop, "shop", model=tiny, params=SMALL)
    assert reused.reused and reused.why == result.why and reused.plan == meta["plan"]


def test_a_slow_machine_trains_the_strongest_pairs_without_stopping_midway(shop, tiny,
                                                                          monkeypatch):
    real = sp.measure_speed

    def slow(*args, **kwargs):  # every step takes ~20 s here: all pairs would not fit
        speed, costs = real(*args, **kwargs)
        forward = (speed.batch_seconds(2, 8, 8) - sp.STEP_OVERHEAD) / speed.step_passes
        return replace(speed, step_passes=20.0 / max(forward, 1e-12)), costs

    monkeypatch.setattr(ft, "measure_speed", slow)
    result = ft.finetune(shop, "shop", model=tiny, params=SMALL)
    plan = result.plan
    assert plan["limited"] and plan["pairs"] < plan["pairs_found"]
    assert result.pairs == plan["pairs"] and result.steps == plan["steps"]
    assert "the strongest" in result.why and "over the 60 s budget" in result.why
    meta = ft.read_meta(result.path)
    assert not meta["stopped_by_timer"] and meta["stopped_early"]  # cut by the plan, not midway


def test_env_overrides_still_set_the_budget_and_the_cache_key(shop, tiny, monkeypatch):
    plain = ft.encoder_dir(shop, "shop", model=tiny, params=FinetuneParams())
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "5")
    monkeypatch.setenv("BUNDLELAB_FINETUNE_PAIRS", "64")
    params = default_params()
    assert (params.seconds, params.max_pairs) == (5.0, 64)
    assert ft.encoder_dir(shop, "shop", model=tiny) != plain
    result = ft.finetune(shop, "shop", model=tiny)
    assert result.plan["budget"] == 5.0 and result.path == ft.encoder_dir(shop, "shop", model=tiny)


def test_the_estimate_says_what_will_run_and_then_what_is_reused(shop, tiny):
    n_texts = len(set(vec.item_texts(shop.items("shop"))))
    before = plan_text(shop, "shop", model=tiny, params=SMALL)
    assert before.model == "finetune" and before.encode == n_texts
    assert before.seconds["total"] == pytest.approx(
        before.seconds["finetune"] + before.seconds["encode"], abs=0.02)
    assert before.why.startswith("fine-tuning: ") and before.plan.why in before.why
    vec.item_vectors(shop, "shop", model=tiny, params=SMALL)
    done = ft.finetune(shop, "shop", model=tiny, params=SMALL)
    assert (done.plan["pairs"], done.plan["epochs"], done.plan["steps"]) == (
        before.plan.pairs, before.plan.epochs, before.plan.steps)
    after = plan_text(shop, "shop", model=tiny, params=SMALL)
    assert after.model == "reused" and after.encode == 0 and after.seconds["total"] == 0
    base = plan_text(shop, "shop", model=tiny, finetuned=False)
    assert base.model == "base" and base.encode == n_texts and base.plan is None
    too_few = plan_text(shop, "shop", model=tiny, params=replace(SMALL, min_cocount=10**6))
    assert too_few.model == "base" and "base model is used" in too_few.why


def test_progress_moves_forward_to_the_end(shop, tiny):
    seen = []
    vec.item_vectors(shop, "shop", model=tiny, params=SMALL,
                     progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert all(b >= a - 1e-9 for a, b in pairwise(fractions))  # float rounding only
    assert fractions[-1] == 1.0
    assert any(m.startswith("fine-tuning step") for _, m in seen)
    assert any("co-purchase pairs with signal" in m for _, m in seen)  # the plan, shown
