"""``bundles`` / ``run`` CLI, stored lists, and the ``bundles`` block of ``evaluate``: on a small
synthetic shop with a tiny in-process text model (the real model is exercised elsewhere). The tiny
random encoder finds every text alike, so variant flagging is switched off here
(``--allow-variants``); variants are tested in test_bundles.py."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from core.cli.main import main
from core.ingest.load import ingest

from tests.core.embedding_helpers import make_tiny_encoder

PAIRS = [("TEA POT", "TEA CUP"), ("CAKE TIN", "CANDLE HOLDER"), ("LUNCH BAG", "PICNIC BASKET"),
         ("GIFT WRAP", "GREETING CARD")]


def shop_csv(path: Path, n_orders: int = 240, seed: int = 1) -> Path:
    """Orders over 10 weeks: each a planted pair plus noise; a NEW item (no sales before the
    last two weeks) whose text is close to the tea items; customers c0..c29."""
    rnd = random.Random(seed)
    rows = []
    names = {f"P{i}{j}": n for i, pair in enumerate(PAIRS) for j, n in enumerate(pair)}
    names.update({"N1": "TEA SAUCER NEW", "X1": "STORAGE JAR", "X2": "GLASS BOTTLE"})
    for o in range(n_orders):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=o * 70 // n_orders)
        k = o % len(PAIRS)
        items = [f"P{k}0", f"P{k}1"] + ([rnd.choice(["X1", "X2"])] if rnd.random() < 0.4 else [])
        if day >= pd.Timestamp("2024-02-26") and k == 0 and rnd.random() < 0.7:
            items.append("N1")
        for it in items:
            rows.append({"InvoiceNo": 1000 + o, "StockCode": it, "Description": names[it],
                         "Quantity": 1 + o % 3, "InvoiceDate": day.strftime("%Y-%m-%d 10:00"),
                         "UnitPrice": 2.5 + len(it), "CustomerID": f"c{o % 30}"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    words = tuple(n for p in PAIRS for n in p) + ("TEA SAUCER NEW", "STORAGE JAR", "GREETING")
    return make_tiny_encoder(tmp_path_factory.mktemp("enc"), extra_words=words)


@pytest.fixture
def shop(ws, tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return ws


def run_cli(capsys, *args) -> tuple[int, dict | None, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return code, (json.loads(last) if last.startswith("{") else None), err


def test_bundles_cli_writes_every_format(shop, tmp_path, capsys):
    for suffix in ("csv", "xlsx", "json"):
        out = tmp_path / f"b.{suffix}"
        code, js, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--top", 4,
                                "--min-orders", 10, "--out", out, "--json", "--allow-variants")
        assert code == 0, err
        assert js["bundles"] == 4 and js["out"] == str(out) and js["seconds"] > 0
        assert out.exists()
    table = pd.read_csv(tmp_path / "b.csv")
    assert list(table.columns[:14]) == [
        "bundle_id", "name", "items", "item_names", "size", "orders_together", "confidence",
        "lift", "similarity", "affinity", "score", "provenance", "explanation", "list_price"]
    assert " | " in table.loc[0, "items"]
    planted = {frozenset(f"P{i}{j}" for j in range(2)) for i in range(len(PAIRS))}
    got = {frozenset(x.split(" | ")) for x in table["items"]}
    assert planted <= got
    records = json.loads((tmp_path / "b.json").read_text())
    assert isinstance(records[0]["items"], list)


def test_threshold_changes_the_list_and_lists_are_versioned(shop, capsys):
    from core.bundles.lists import bundle_lists

    code, a, _ = run_cli(capsys, "bundles", "--workspace", shop.root, "--top", 10,
                         "--min-orders", 10, "--no-text", "--json")
    code, b, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--top", 10,
                         "--min-orders", 100, "--no-text", "--json")
    assert b is not None, err
    assert a["bundles"] > b["bundles"]
    assert len(bundle_lists(shop, "shop")) == 2


def test_bad_setting_is_a_user_error(shop, capsys):
    code, _, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--discount", "2")
    assert code == 2 and err.startswith("error: discount 2.0 must be a share")


def test_run_whole_pipeline_on_baskets_without_customers(tmp_path, capsys, monkeypatch, tiny):
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    f = tmp_path / "baskets.csv"
    f.write_text("".join("tea pot,tea cup\n" if i % 2 else "cake tin,candle holder,gift wrap\n"
                         for i in range(60)))
    out = tmp_path / "bundles.csv"
    code, js, err = run_cli(capsys, "run", f, "--workspace", tmp_path / "ws", "--out", out,
                            "--min-orders", 5, "--json", "--allow-variants")
    assert code == 0, err
    assert js["bundles"] >= 2 and out.exists()
    assert any("no customer ids" in n for n in js["notes"])


def test_evaluate_bundles_block(shop):
    from core.bundles.params import BundleParams
    from core.evaluate.run import evaluate
    from core.text.finetune import FinetuneParams

    res = evaluate(shop, "shop", cut="2024-02-26", top=4, blocks=["bundles"],
                   options={"finetune_params": FinetuneParams(max_pairs=64, seconds=20),
                            "bundle_params": BundleParams(allow_variants=True, min_orders=5,
                                                          cold_share=0.25)})
    block = res["bundles"]
    fitted = block.pop("fitted_weights")
    assert set(block) == {"rules", "similarity", "hybrid", "hybrid_default", "incremental"}
    for m in block.values():
        assert {"hit_rate", "attach_rate", "attach_uplift", "coverage_orders", "cold_hit_rate",
                "tail_hit_rate"} <= set(m)
        assert 0.0 <= m["hit_rate"] <= 1.0
    # the weights were fitted on the training side's own later orders (too few here: defaults)
    assert set(fitted["params"]) == {"strength", "w_text", "w_rec", "cold_share",
                                     "cold_max_orders",  # with text: how new items join
                                     "learned",  # dated orders: the learned score is tried
                                     "fill_min_orders"}  # a short list filled, or not
    assert fitted["fitted"] is False and "validation orders" in fitted["reason"]
    assert block["rules"]["hit_rate"] == 1.0  # the planted pairs repeat after the cut
    assert block["hybrid"]["hit_rate"] >= block["rules"]["hit_rate"]
    assert block["rules"]["cold_hit_rate"] == 0.0  # rules cannot see the new item


def test_bundles_fit_weights_cli(shop, capsys):
    """--fit-weights: fitted on the shop's own later orders, said in words, recorded; with too
    few validation orders the defaults stay and the reason says so."""
    code, js, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--fit-weights",
                            "--no-text", "--min-orders", 5, "--allow-variants", "--json")
    assert code == 0, err
    fitted = js["fitted_weights"]
    assert fitted["fitted"] is False and "validation orders" in fitted["reason"]
    assert len(shop.runs("shop", kind="weights")) == 1
    code, js, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--no-text",
                            "--min-orders", 5, "--allow-variants", "--recency-days", 7,
                            "--incremental", "--json")
    assert code == 0, err
    assert js["bundles"] >= 1
    from core.bundles.fit import current_recommender, latest_fit

    assert latest_fit(shop, "shop").reason == fitted["reason"]
    # with a recommender trained for the shop, the fit trains that method (no new choice) on the
    # orders before its validation window, for the recommender weight
    assert current_recommender(shop, "shop") is None
    code, js, err = run_cli(capsys, "recommend", "--workspace", shop.root, "--method",
                            "gp_topfreq", "--json")
    assert code == 0, err
    assert current_recommender(shop, "shop") == {"method": "gp_topfreq", "text": "none"}
    code, js, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--fit-weights",
                            "--no-text", "--min-orders", 5, "--allow-variants", "--json")
    assert code == 0, err
    from core.recommend.store import trained_models

    models = trained_models(shop, "shop")
    assert len(models) == 2 and set(models["method"]) == {"gp_topfreq"}
    assert models["cut"].notna().sum() == 1  # the fit's own, before the validation window
    assert models["cut"].isna().sum() == 1 and None in models["cut"].tolist()  # not NaN
    # fitting again (models for two periods now saved) works and reuses the fit's model
    code, js, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--fit-weights",
                            "--no-text", "--min-orders", 5, "--allow-variants", "--json")
    assert code == 0, err
    assert len(trained_models(shop, "shop")) == 2
    # a fit on the orders before a cut is not the page's (all orders) fit
    code, js, err = run_cli(capsys, "bundles", "--workspace", shop.root, "--fit-weights",
                            "--no-text", "--min-orders", 5, "--allow-variants", "--cut",
                            "2024-03-01", "--json")
    assert code == 0, err
    assert len(shop.runs("shop", kind="weights")) == 4
    assert latest_fit(shop, "shop", cut="2024-03-01") is not None
    assert latest_fit(shop, "shop").reason == fitted["reason"]
