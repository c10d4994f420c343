"""The bundle service (``core.bundles.service.build_for_dataset``): the one way from a workspace
dataset to a bundle list for the page, the CLI and the evaluation; absent signals get no weight
whichever front end asks. On the small synthetic shop of test_bundles_cli, without the text
model (text is covered there and in test_bundles.py)."""

from __future__ import annotations

import json

import pytest

import core.bundles.service as service
from core.bundles.lists import bundle_lists
from core.bundles.params import BundleParams
from core.bundles.service import build_for_dataset
from core.ingest.load import ingest
from tests.core.test_bundles_cli import run_cli, shop_csv

NO_TEXT = BundleParams(text=False, top=10, min_orders=5, allow_variants=True)


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return ws


def items(result) -> list:
    return [tuple(x) for x in result.bundles["items"]]


def test_recommender_weight_without_a_recommender_changes_nothing(shop):
    from dataclasses import replace

    off = build_for_dataset(shop, "shop", NO_TEXT, save=False, record=False)
    on = build_for_dataset(shop, "shop", replace(NO_TEXT, w_rec=1.0), save=False, record=False)
    assert items(on) == items(off) and len(items(on)) >= 4
    assert on.bundles["score"].tolist() == off.bundles["score"].tolist()
    assert any(n.startswith("recommender affinity not used") for n in on.notes)
    assert not any(n.startswith("recommender affinity not used") for n in off.notes)


def test_cli_text_weight_without_text_changes_nothing(shop, capsys):
    """The rule used to live in the front ends (``w_text if text else 0``); now the core
    applies it, and says so."""
    args = ("bundles", "--workspace", shop.root, "--top", 10, "--min-orders", 5, "--no-text",
            "--allow-variants", "--json")
    _, off, _ = run_cli(capsys, *args)
    _, on, err = run_cli(capsys, *args, "--w-text", 1)
    assert on is not None, err
    lists = [json.loads(r) for r in shop.query(
        "SELECT bundles FROM bundle_lists ORDER BY created_at")["bundles"]]
    assert [r["items"] for r in lists[0]] == [r["items"] for r in lists[1]]
    assert any(n.startswith("text similarity not used") for n in on["notes"])
    assert not any(n.startswith("text similarity not used") for n in off["notes"])


def test_save_and_record_are_separate(shop):
    saved = build_for_dataset(shop, "shop", NO_TEXT)
    assert saved.list_id and len(bundle_lists(shop, "shop")) == 1
    runs = shop.runs("shop", kind="bundles")
    assert len(runs) == 1 and runs["artifact"].iloc[0] == saved.list_id
    assert json.loads(runs["metrics"].iloc[0])["bundles"] == len(saved.bundles)
    unsaved = build_for_dataset(shop, "shop", NO_TEXT, save=False)  # the page's builds
    assert unsaved.list_id is None and len(bundle_lists(shop, "shop")) == 1
    assert len(shop.runs("shop", kind="bundles")) == 2
    build_for_dataset(shop, "shop", NO_TEXT, save=False, record=False)  # the evaluation's
    assert len(shop.runs("shop", kind="bundles")) == 2


def test_cache_gathers_inputs_once_per_dataset_version(shop, tmp_path, monkeypatch):
    calls = []
    real = service.prepare_inputs

    def spy(*args, **kwargs):
        calls.append(kwargs.get("version"))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "prepare_inputs", spy)
    cache: dict = {}
    a = build_for_dataset(shop, "shop", NO_TEXT, save=False, cache=cache)
    b = build_for_dataset(shop, "shop", BundleParams(text=False, top=3, min_orders=5,
                                                     allow_variants=True), save=False, cache=cache)
    assert calls == [1] and len(b.bundles) == 3 and items(b) == items(a)[:3]
    build_for_dataset(shop, "shop", NO_TEXT, cut="2024-02-26", save=False, cache=cache)
    assert calls == [1, 1]  # other training orders: other inputs
    ingest(shop, shop_csv(tmp_path / "again.csv", seed=2), dataset="shop")
    build_for_dataset(shop, "shop", NO_TEXT, save=False, cache=cache)
    assert calls == [1, 1, 2]  # a re-loaded dataset is never served stale inputs


def test_evaluation_builds_through_the_service(shop, monkeypatch):
    from core.evaluate.run import evaluate

    gathered, built = [], []
    real_prepare, real_build = service.prepare_inputs, service.build_bundles
    monkeypatch.setattr(service, "prepare_inputs",
                        lambda *a, **k: gathered.append(k["cut"]) or real_prepare(*a, **k))
    monkeypatch.setattr(service, "build_bundles",
                        lambda inp, p, **k: built.append(p.strategy) or real_build(inp, p, **k))
    res = evaluate(shop, "shop", cut="2024-02-26", top=4, blocks=["bundles"],
                   options={"bundle_params": BundleParams(text=False, min_orders=5,
                                                          allow_variants=True)})
    fitted = res["bundles"].pop("fitted_weights")
    # no text: no similarity list
    assert set(res["bundles"]) == {"rules", "hybrid", "hybrid_default", "incremental"}
    assert res["bundles"]["rules"]["hit_rate"] == 1.0
    # once on the orders before the cut, once on the earlier part of them (the weights' fit)
    cut, inner = [c.date() for c in gathered]
    assert str(cut) == "2024-02-26" and inner < cut and fitted["validation_orders"] > 0
    assert built == ["rules", "hybrid", "hybrid", "hybrid"]
    assert shop.runs("shop", kind="bundles").empty and bundle_lists(shop, "shop").empty


def test_a_file_order_holdout_never_reads_models_that_saw_its_test_orders(ws, tmp_path):
    """Without dates the held-out split is the last 20% in file order. The recommender trained
    on all orders (test orders included) must not give that split's lists their affinity, and
    the fit's inner split (the first 80% of the first 80%) must not share the outer split's
    text encoder (they are named by their order counts)."""
    import pandas as pd

    from core.baskets import temporal_split
    from core.recommend.store import RecommenderParams, train_recommender
    from core.text import holdout_tag

    lines = pd.read_csv(shop_csv(tmp_path / "shop.csv")).drop(columns=["InvoiceDate"])
    lines.to_csv(tmp_path / "undated.csv", index=False)
    ingest(ws, tmp_path / "undated.csv", dataset="undated")
    train_recommender(ws, "undated", params=RecommenderParams(method="gp_topfreq", text="none"))
    outer = temporal_split(ws.lines("undated"))
    inner = temporal_split(outer.train)
    assert outer.cut is None and inner.cut is None
    assert holdout_tag(outer.train) != holdout_tag(inner.train)
    inp, _ = service.dataset_inputs(ws, "undated", text=False, holdout=outer)
    assert inp.affinity is None and inp.customer_scores is None
    inp, _ = service.dataset_inputs(ws, "undated", text=False)  # all orders: the model is used
    assert inp.affinity is not None
