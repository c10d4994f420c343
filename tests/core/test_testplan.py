"""A test plan for a bundle (``core.bundles.testplan``, ``python -m core plan``): the
two-proportion sample size against a textbook value, the take rate by hand on a tiny shop, and
the CLI's messages for what cannot be planned."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import core.bundles.service as service
from core.bundles.lists import bundle_lists, save_list
from core.bundles.params import BundleParams, BundleResult
from core.bundles.testplan import bundle_test_plan, plan_columns, sample_size
from core.errors import BundleLabError
from core.ingest.load import ingest
from tests.core.test_bundles_cli import run_cli

A, B, C, D = "10001", "10002", "10003", "10004"


def tiny_lines() -> pd.DataFrame:
    """50 orders, 5 a day over 10 days (2024-01-01..10). The default cut leaves the last 20%:
    order 40 opens 2024-01-09, so the held-out orders are 40..49 (2 days = 2/7 week).
    Every order holds A (the best seller). B: in the even earlier orders (20 of 40) and in
    held-out orders 40, 41, 42 (3 of 10). C: in earlier orders 0..9 only. D: in earlier order 1
    only (never sold in the held-out period)."""
    rows = []
    for o in range(50):
        its = [A]
        if (o < 40 and o % 2 == 0) or o in (40, 41, 42):
            its.append(B)
        if o < 10:
            its.append(C)
        if o == 1:
            its.append(D)
        ts = pd.Timestamp("2024-01-01 10:00") + pd.Timedelta(days=o // 5)
        rows += [{"order_id": str(1000 + o), "item_id": it, "timestamp": ts,
                  "customer_id": f"c{o % 7}", "quantity": 1.0, "unit_price": 2.0} for it in its]
    return pd.DataFrame(rows)


def test_sample_size_textbook_value():
    # p1 = 0.10, p2 = 0.12, alpha 0.05 two-sided, power 0.8 (by hand):
    #   z_0.975 = 1.959964, z_0.8 = 0.841621, pbar = 0.11
    #   1.959964 * sqrt(2 * 0.11 * 0.89) = 1.959964 * 0.442493 = 0.867270
    #   0.841621 * sqrt(0.10 * 0.90 + 0.12 * 0.88) = 0.841621 * 0.442267 = 0.372222
    #   (0.867270 + 0.372222)^2 / 0.02^2 = 1.536341 / 0.0004 = 3840.85 -> 3841 per arm
    assert sample_size(0.10, 0.2) == 3841
    # a larger uplift needs fewer orders; a smaller base rate more
    assert sample_size(0.10, 0.5) < 3841 < sample_size(0.05, 0.2)
    for p1, uplift in ((0.0, 0.2), (1.0, 0.2), (0.9, 0.2), (0.1, 0.0), (0.1, -0.1)):
        with pytest.raises(BundleLabError):
            sample_size(p1, uplift)


def test_take_rate_by_hand():
    plan = bundle_test_plan(tiny_lines(), [B, A])
    assert plan["anchor"] == A  # the best seller, wherever it is in the list
    assert plan["cut"] == "2024-01-09"
    h, e = plan["heldout"], plan["earlier"]
    assert (h["anchor_orders"], h["took_bundle"], h["take_rate"]) == (10, 3, 0.3)
    assert (e["anchor_orders"], e["took_bundle"], e["take_rate"]) == (40, 20, 0.5)
    assert plan["p2"] == pytest.approx(0.36)
    n = sample_size(0.3, 0.2)
    assert plan["orders_per_arm"] == n and plan["orders_total"] == 2 * n
    # 10 held-out anchor orders in 2 days: 35 a week
    assert plan["anchor_orders_per_week"] == pytest.approx(35.0)
    assert plan["weeks_needed"] == pytest.approx(2 * n / 35.0)
    assert plan["z_alpha"] == pytest.approx(1.959964, abs=1e-6)


def test_what_cannot_be_planned_says_why():
    lines = tiny_lines()
    with pytest.raises(BundleLabError, match="already took the rest"):  # p1 = 1: B's 3 all hold A
        bundle_test_plan(lines, [A, B], anchor=B)
    with pytest.raises(BundleLabError, match="none of the 10 held-out orders"):  # p1 = 0
        bundle_test_plan(lines, [A, C])
    with pytest.raises(BundleLabError, match="never sold in the held-out period"):
        bundle_test_plan(lines, [A, D], anchor=D)
    with pytest.raises(BundleLabError, match="not in this bundle"):
        bundle_test_plan(lines, [A, B], anchor=C)


def test_plan_columns():
    bundles = pd.DataFrame({"bundle_id": ["B001", "B002"], "items": [[B, A], [A, C]]})
    out = plan_columns(bundles, tiny_lines())
    assert out["take_rate"].tolist() == [0.3, 0.0]
    assert out.loc[0, "test_orders_per_arm"] == sample_size(0.3, 0.2)
    assert pd.isna(out.loc[1, "test_orders_per_arm"])  # nothing to size at a take rate of 0


def ingest_tiny(ws, tmp_path) -> None:
    lines = tiny_lines()
    csv = lines.rename(columns={"order_id": "InvoiceNo", "item_id": "StockCode",
                                "timestamp": "InvoiceDate", "customer_id": "CustomerID",
                                "quantity": "Quantity", "unit_price": "UnitPrice"})
    csv["Description"] = csv["StockCode"].map({A: "TEA POT", B: "TEA CUP", C: "CAKE TIN",
                                               D: "LUNCH BAG"})
    csv.to_csv(tmp_path / "tiny.csv", index=False)
    ingest(ws, tmp_path / "tiny.csv", dataset="tiny")


@pytest.fixture
def tiny_ws(ws, tmp_path):
    """The tiny shop ingested, with a saved list: B001 = {A, B}, B002 = {A, C}."""
    ingest_tiny(ws, tmp_path)
    table = pd.DataFrame({"bundle_id": ["B001", "B002"], "name": ["Tea", "Cake"],
                          "items": [[A, B], [A, C]]})
    save_list(ws, "tiny", BundleResult(table, pd.DataFrame(), pd.DataFrame(), 2))
    return ws


def test_cli_plan(tiny_ws, tmp_path, capsys):
    out = tmp_path / "plan.csv"
    code, js, err = run_cli(capsys, "plan", "--workspace", tiny_ws.root, "--dataset", "tiny",
                            "--bundle", "b001", "--out", out, "--json")
    assert code == 0, err
    assert js["bundle_id"] == "B001" and js["anchor"] == A and js["heldout"]["take_rate"] == 0.3
    assert js["orders_per_arm"] == sample_size(0.3, 0.2) and "latest saved list" in js["source"]
    written = pd.read_csv(out)
    assert written["take_rate"].tolist() == [0.3, 0.0]
    for args, words in ((("--bundle", "B009"), "no bundle B009"),
                        (("--bundle", "B002"), "none of the 10 held-out orders"),
                        (("--bundle", "B001", "--anchor", D), "not in this bundle"),
                        (("--bundle", "B001", "--uplift", "3"), "choose an uplift below")):
        code, _, err = run_cli(capsys, "plan", "--workspace", tiny_ws.root, *args)
        assert code == 2 and words in err and "Traceback" not in err, err


def test_cli_plan_prints_the_plan(tiny_ws, capsys):
    from core.cli.main import main

    assert main(["plan", "--workspace", str(tiny_ws.root), "--bundle", "B001"]) == 0
    out = capsys.readouterr().out
    assert "anchor item: 10001 (TEA POT)" in out
    assert "30.0% (3 of 10 anchor orders)" in out and "50.0% (20 of 40 anchor orders)" in out
    n = sample_size(0.3, 0.2)
    assert f"{n:,} anchor orders per arm, {2 * n:,} in total" in out
    assert f"about {2 * n / 35:.1f} weeks" in out and "n per arm = " in out


def test_cli_plan_builds_a_list_when_none_is_saved(ws, tmp_path, capsys, monkeypatch):
    ingest_tiny(ws, tmp_path)
    real, asked = service.build_for_dataset, []

    def quick(ws_, name, params=None, **kw):  # no text model (faster); pairs: B001 = {A, B}
        asked.append(params)
        return real(ws_, name, BundleParams(text=False, max_size=2, min_orders=5), **kw)

    monkeypatch.setattr(service, "build_for_dataset", quick)
    code, js, err = run_cli(capsys, "plan", "--workspace", ws.root, "--bundle", "B001", "--json")
    assert code == 0, err
    saved = bundle_lists(ws, "tiny")
    assert asked == [None] and len(saved) == 1  # built with the defaults, and saved
    assert js["source"].startswith("no saved list: built and saved one with the default")
    assert set(js["items"]) == {A, B} and js["p1"] == 0.3
    assert js["orders_per_arm"] == sample_size(0.3, 0.2) and math.isfinite(js["weeks_needed"])
    # the next plan reads the list just saved
    code, js2, err = run_cli(capsys, "plan", "--workspace", ws.root, "--bundle", "B001", "--json")
    assert code == 0, err
    assert js2["list_id"] == js["list_id"] == saved["list_id"].iloc[0]
    assert "latest saved list" in js2["source"] and asked == [None]
