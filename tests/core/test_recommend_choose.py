"""The recommender chooses itself (issue 14, ``core.recommend.choose``): on synthetic shops whose
answer is known, the method chosen on a validation window inside the training period; the
one-standard-error tie rule; the fallback of a tiny shop; the choice saved with the model; an
explicit ``--method`` still wins. Small data: seconds."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main
from core.errors import BundleLabError
from core.recommend.choose import (CANDIDATES, MIN_CUSTOMERS, choose_recommender, describe, pick,
                                   validation_window)

from tests.core.test_recommender import TINY_NEURAL, checkerboard_lines

BASELINES = ("popularity", "gp_topfreq", "item_knn", "ease")
COLUMNS = ["order_id", "item_id", "customer_id", "timestamp"]


def repeat_shop(n_customers: int = 150, n_items: int = 80, n_orders: int = 6,
                seed: int = 0) -> pd.DataFrame:
    """Repeat purchases dominate: every customer re-buys 2-3 of their 3 favourites in each
    order, plus one random item."""
    rnd = random.Random(seed)
    items = [f"I{i}" for i in range(n_items)]
    rows, order, t0 = [], 0, pd.Timestamp("2024-01-01")
    for c in range(n_customers):
        fav = rnd.sample(items, 3)
        for o in range(n_orders):
            order += 1
            basket = set(rnd.sample(fav, 2 + (rnd.random() < 0.7))) | {rnd.choice(items)}
            for item in sorted(basket):
                rows.append((f"o{order}", item, f"c{c}", t0 + pd.Timedelta(days=10 * o + c % 7)))
    return pd.DataFrame(rows, columns=COLUMNS)


def family_shop(n_customers: int = 160, n_families: int = 10, size: int = 12,
                seed: int = 0) -> pd.DataFrame:
    """Co-purchase structure, no repeats: each customer buys within one family of ``size``
    items, 3 new ones per order (never an item twice), so the next order holds items that
    other customers bought with theirs; popularity is the same for every family."""
    rnd = random.Random(seed)
    rows, order, t0 = [], 0, pd.Timestamp("2024-01-01")
    for c in range(n_customers):
        family = [f"F{c % n_families}_{j}" for j in range(size)]
        rnd.shuffle(family)
        for o in range(size // 3):
            order += 1
            for item in family[3 * o:3 * o + 3]:
                rows.append((f"o{order}", item, f"c{c}", t0 + pd.Timedelta(days=10 * o + c % 7)))
    return pd.DataFrame(rows, columns=COLUMNS)


def _stable(record: dict) -> dict:
    """A record without its timings."""
    out = {k: v for k, v in record.items() if k != "seconds"}
    out["validation"] = {m: {k: v for k, v in s.items() if k != "fit_seconds"}
                         for m, s in record["validation"].items()}
    return out


def test_repeat_purchases_choose_gp_topfreq():
    choice = choose_recommender(repeat_shop(), candidates=BASELINES)
    r = choice.record
    assert choice.method == "gp_topfreq" and r["rule"] in ("best", "within_noise")
    assert set(r["validation"]) == set(BASELINES) and r["customers"] >= MIN_CUSTOMERS
    val = r["validation"]
    assert val["gp_topfreq"]["ndcg@10"] > val["popularity"]["ndcg@10"] + 0.3
    assert val["gp_topfreq"]["ndcg@10"] > val["ease"]["ndcg@10"]  # EASE never repeats an item
    assert r["cut"] and r["window"].startswith(f"orders from {r['cut']} on")
    assert r["reason"].startswith("gp_topfreq was chosen: NDCG@10 ")
    assert r["reason"] == describe(r) and f"for {r['runner_up']}" in r["reason"]
    json.dumps(r)  # the record is saved as JSON
    # deterministic
    assert _stable(choose_recommender(repeat_shop(), candidates=BASELINES).record) == _stable(r)


def test_co_purchase_structure_chooses_item_knn_or_ease():
    choice = choose_recommender(family_shop(), candidates=BASELINES)
    val = choice.record["validation"]
    assert choice.method in ("item_knn", "ease")
    for m in ("item_knn", "ease"):
        assert val[m]["ndcg@10"] > val["popularity"]["ndcg@10"] + 0.1
    assert val["gp_topfreq"]["ndcg@10"] < val[choice.method]["ndcg@10"]  # no repeats here
    assert choice.record["margin"] > 0 and choice.record["rule"] == "best"


def test_without_timestamps_the_window_is_the_last_orders_in_file_order():
    lines = family_shop().sort_values(["timestamp", "order_id"]).drop(columns="timestamp")
    choice = choose_recommender(lines, candidates=("popularity", "ease"))
    assert choice.record["cut"] is None and "file order" in choice.record["window"]
    assert choice.method == "ease" and choice.record["customers"] >= MIN_CUSTOMERS


def test_a_tiny_shop_keeps_the_default_without_validation():
    lines = checkerboard_lines(n_customers=12)
    choice = choose_recommender(lines)
    r = choice.record
    assert choice.method == "neural" and r["rule"] == "fallback"  # today's default
    assert r["validation"] == {} and r["customers"] < MIN_CUSTOMERS
    assert "without validation" in r["reason"] and f"at least {MIN_CUSTOMERS}" in r["reason"]
    assert describe(r) == r["reason"]
    # the default among the candidates given, else the cheapest of them
    assert choose_recommender(lines, candidates=("ease", "item_knn")).method == "item_knn"
    # one day of orders: no window at all
    one_day = lines.assign(timestamp=pd.Timestamp("2024-01-01"))
    r = choose_recommender(one_day, candidates=BASELINES, default="gp_topfreq").record
    assert r["method"] == "gp_topfreq" and r["rule"] == "fallback"
    assert "no validation window" in r["reason"]
    with pytest.raises(BundleLabError, match="candidates"):
        choose_recommender(lines, candidates=("nope",))


def test_ties_and_differences_within_noise_go_to_the_cheaper_method():
    base = np.random.default_rng(0).uniform(0.3, 0.7, 400)
    swing = np.where(np.arange(400) % 2 == 0, 0.3, -0.29)  # mean +0.005, standard error ~0.015

    def rows(ndcg):
        return {"ndcg": np.asarray(ndcg, dtype=np.float64)}

    # an exact tie: the cheaper
    assert pick({"neural": rows(base), "gp_topfreq": rows(base)}) == \
        ("gp_topfreq", "best", "gp_topfreq")
    # neural ahead by much less than one standard error of the paired difference
    close = {"neural": rows(base + swing), "gp_topfreq": rows(base)}
    assert pick(close) == ("gp_topfreq", "within_noise", "neural")
    # neural clearly ahead (every customer a little better): neural
    clear = {"neural": rows(base + 0.05), "gp_topfreq": rows(base), "ease": rows(base - 0.1)}
    assert pick(clear) == ("neural", "best", "neural")


def test_validation_window_counts_customers_with_an_earlier_order():
    lines = repeat_shop(n_customers=40)
    val = validation_window(lines)
    assert val.problem is None and val.customers == 40 and val.cut is not None
    assert set(val.test["customer_id"]) <= set(val.history.customer_ids)
    assert validation_window(lines, min_customers=41).problem.startswith("only 40 customer")


def test_the_neural_model_takes_part():
    lines = repeat_shop(n_customers=60, n_items=40, n_orders=5)
    choice = choose_recommender(lines, candidates=("gp_topfreq", "neural"),
                                params={"neural": TINY_NEURAL})
    val = choice.record["validation"]
    assert set(val) == {"gp_topfreq", "neural"} and 0.0 <= val["neural"]["ndcg@10"] <= 1.0
    assert choice.method in ("gp_topfreq", "neural")
    assert choice.params == ({**TINY_NEURAL} if choice.method == "neural" else {})
    assert CANDIDATES == ("popularity", "gp_topfreq", "item_knn", "ease", "tifu_knn", "neural")


@pytest.fixture
def repeat_ws(ws, tmp_path):
    from core.ingest.load import ingest

    path = tmp_path / "repeat.csv"
    repeat_shop(n_customers=60, n_items=40, n_orders=5).rename(columns={
        "order_id": "InvoiceNo", "item_id": "StockCode", "customer_id": "CustomerID",
        "timestamp": "InvoiceDate"}).assign(Quantity=1, UnitPrice=2.0).to_csv(path, index=False)
    ingest(ws, path, dataset="shop")
    return ws


def _recommend(ws, capsys, *extra: str) -> dict:
    code = main(["recommend", "--workspace", str(ws.root), "--text", "none", "--epochs", "3",
                 "--seconds", "20", "--json", *extra])
    assert code == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_auto_is_the_default_and_an_explicit_method_wins(repeat_ws, capsys):
    from core.recommend import load_trained, trained_models

    auto = _recommend(repeat_ws, capsys)
    assert auto["choice"]["method"] == auto["method"] == "gp_topfreq"
    assert set(auto["choice"]["validation"]) == set(CANDIDATES)  # neural took part
    saved = trained_models(repeat_ws, "shop")
    assert saved["method"].tolist() == ["gp_topfreq"] and saved["choice"][0]["rule"] != "fallback"
    tr = load_trained(repeat_ws, "shop")
    assert tr.model.name == "gp_topfreq" and tr.meta["summary"]["choice"] == auto["choice"]
    assert _recommend(repeat_ws, capsys)["reused"]
    # an explicit method: trained as asked, no choice
    explicit = _recommend(repeat_ws, capsys, "--method", "item_knn")
    assert explicit["method"] == "item_knn" and explicit["choice"] is None
    assert load_trained(repeat_ws, "shop").model.name == "item_knn"
    # the old default is still reachable
    assert _recommend(repeat_ws, capsys, "--method", "neural")["method"] == "neural"


def test_the_time_estimate_counts_the_choice(repeat_ws, monkeypatch):
    from core.recommend import estimate
    from core.recommend.store import RecommenderParams

    fixed = ({"repeat": 0.01, "explore": 0.02}, 1e-4, 5e-4)  # the machine: fixed
    monkeypatch.setattr(estimate, "_time_minibatches", lambda *a: fixed)
    auto = estimate.plan_recommender(repeat_ws, "shop", params=RecommenderParams(text="none"))
    neural = estimate.plan_recommender(repeat_ws, "shop",
                                       params=RecommenderParams(method="neural", text="none"))
    # the choice fits every candidate on the fit part (neural there: fewer orders), then the
    # refit is predicted as neural's
    assert auto.parts["choice"] > 0 and "choice" not in neural.parts
    fit = sum(neural.parts[k] for k in ("prep", "repeat", "explore", "mix"))
    assert 0.5 * fit < auto.parts["choice"] < 1.5 * fit + 1.0
    assert auto.seconds == pytest.approx(neural.seconds + auto.parts["choice"], abs=0.3)
    assert "methods compared" in auto.why
    # the background job's step is the automatic one
    assert estimate.job_params(False).method == "auto"


def test_a_method_named_by_hand_gets_the_choice_settings():
    """EASE named by hand (or by the weights' fit, which trains the shop's method again) inverts
    at most 5,000 items, as in the choice, not the registry's 20,000 (3.2 GB per copy)."""
    from core.recommend.choose import CHOICE_PARAMS
    from core.recommend.store import RecommenderParams

    assert RecommenderParams(method="ease").model_kwargs() == CHOICE_PARAMS["ease"]
    assert RecommenderParams(method="gp_topfreq").model_kwargs() == {}
    assert RecommenderParams(method="neural").model_kwargs()["dim"] == 32
