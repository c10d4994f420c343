"""AppTest: Bundles, Coverage and Evaluate & Export pages on the bundled sample data."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.core.embedding_helpers import make_tiny_encoder

TIMEOUT = 240


@pytest.fixture
def tiny_model(tmp_path, monkeypatch):
    path = make_tiny_encoder(tmp_path / "enc")
    monkeypatch.setenv("BUNDLELAB_MODEL", str(path))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "5")
    monkeypatch.setenv("BUNDLELAB_FINETUNE_PAIRS", "64")
    return path


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)


def test_bundles_page_build_threshold_detail_and_save(sample_ws):
    at = page("5_Bundles.py").run()
    assert not at.exception
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 50 and "explanation" in table.columns
    # built by the bundle service, so recorded like a CLI run (not saved until asked)
    runs = sample_ws.runs("sample_online_retail", kind="bundles")
    assert len(runs) == 1 and runs["artifact"].isna().all()
    first = table["items"].tolist()
    # the automatic threshold says what it chose and why (issue 18: size-aware defaults)
    used = at.session_state["bundle_result"].params["min_orders_used"]
    chosen = [c.value for c in at.caption if "chosen for this shop's size" in c.value]
    assert len(chosen) == 1 and f"at least {used:,} orders" in chosen[0], chosen
    # no recommender trained: its weight changes nothing, and the page says so
    at.slider(key="bundles_w_rec").set_value(1.0).run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["items"].tolist() == first
    assert any("recommender affinity not used" in i.value for i in at.info)
    at.number_input(key="bundles_min_orders").set_value(150).run()
    assert not at.exception
    strict = at.dataframe[0].value
    assert not [c for c in at.caption if "chosen for this shop's size" in c.value]  # set by hand
    assert strict["items"].tolist() != first and (strict["orders_together"] >= 150).all()
    assert len(sample_ws.runs("sample_online_retail", kind="bundles")) == 3
    assert any("only" in i.value and "bundles" in i.value for i in at.info)
    # the short list filled with weaker bundles, after the strong ones, said on the page
    at.number_input(key="bundles_fill").set_value(20).run()
    assert not at.exception, at.exception
    filled = at.dataframe[0].value
    assert len(filled) > len(strict)
    assert filled["items"].head(len(strict)).tolist() == strict["items"].tolist()
    weak = filled.iloc[len(strict):]
    assert ((weak["orders_together"] >= 20) & (weak["orders_together"] < 150)).all()
    assert any("weaker evidence" in i.value for i in at.info)
    at.selectbox(key="bundles_detail").select_index(1).run()
    assert "Bought together in" in at.markdown[-1].value or any(
        "Bought together in" in m.value for m in at.markdown)
    at.button(key="bundles_save").click().run()
    assert any("Saved as list" in s.value for s in at.success)
    from core.bundles.lists import bundle_lists

    assert len(bundle_lists(sample_ws, "sample_online_retail")) == 1

    cov = page("6_Coverage.py")
    cov.session_state["bundle_result"] = at.session_state["bundle_result"]
    cov.session_state["bundle_result_dataset"] = "sample_online_retail"
    cov.run()
    assert not cov.exception, cov.exception
    charts = cov.get("plotly_chart")
    # the sample has no categories: a line says so instead of one "(no category)" bar
    assert len(charts) == 4
    assert any("No categories in this dataset" in i.value for i in cov.info)


def test_coverage_page_uses_the_saved_list(sample_ws):
    at = page("6_Coverage.py").run()
    assert any("No bundle list yet" in i.value for i in at.info)


def test_evaluate_and_export_page(sample_ws, tiny_model):
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset

    build_for_dataset(sample_ws, "sample_online_retail", BundleParams(top=10, text=False))
    at = page("7_Evaluate_Export.py").run()
    assert not at.exception, at.exception
    assert any("No evaluation yet" in i.value for i in at.info)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download XLSX", "Download JSON",
                      "Download parent/child CSV", "Download Shopify JSON"]
    at.number_input(key="eval_top").set_value(10).run()
    at.multiselect(key="eval_blocks").set_value(["bundles", "embeddings"]).run()
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["method"].tolist() == ["rules", "similarity", "hybrid",
                                                        "hybrid_default", "incremental"]
    # the fitted weights are said in words under the table, not shown as a method row
    assert any(c.value.startswith("Hybrid weights: ") and "co-purchase rules only" in c.value
               for c in at.caption), [c.value for c in at.caption]
    # which text model the embeddings block used, and why (issue 15)
    assert any(c.value.startswith("Text model: ") for c in at.caption), \
        [c.value for c in at.caption]


def test_bundles_page_fits_weights_and_says_what_it_fitted(sample_ws):
    """Issue 14: the weights fitted to this shop are said in words and, when fitted, replace
    the sliders; the button fits them on the shop's own later orders."""
    from core.bundles.fit import FittedWeights

    name = "sample_online_retail"
    at = page("5_Bundles.py").run()
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    assert at.toggle(key="bundles_use_fitted").disabled  # nothing fitted yet
    at.button(key="bundles_fit").click().run()
    assert not at.exception, at.exception
    said = [c.value for c in at.caption if "validation orders" in c.value
            and "co-purchase rules only" in c.value]
    runs = sample_ws.runs(name, kind="weights")
    assert len(runs) == 1 and len(said) == 1, [c.value for c in at.caption]
    # a fitted setting replaces the sliders' weights in the list that is built
    fit = FittedWeights({"strength": "orders", "w_text": 0.0, "w_rec": 0.0, "recency_days": 30.0},
                        True, "fitted on 500 validation orders: it hits 40 more of them",
                        {"fitted": 0.5, "default": 0.45, "rules": 0.44}, 500)
    sample_ws.record_run(name, "weights", params={}, seconds=1.0, metrics=fit.as_dict())
    at.run()
    assert not at.exception, at.exception
    used = at.session_state["bundle_result"].params
    assert used["recency_days"] == 30.0 and used["strength"] == "orders"
    assert any("weight halves every 30 days" in c.value and "+6.0 points" in c.value
               for c in at.caption)
    at.toggle(key="bundles_use_fitted").set_value(False).run()
    assert at.session_state["bundle_result"].params["recency_days"] == 0.0


def test_bundles_page_sorts_by_expected_value(sample_ws):
    """Issue 16: the list can be sorted by expected value (default: coverage, the pick order)."""
    at = page("5_Bundles.py").run()
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="bundles_sort").value == "coverage"
    first = at.dataframe[0].value
    assert first["bundle_id"].tolist() == sorted(first["bundle_id"])
    at.selectbox(key="bundles_sort").set_value("expected value").run()
    assert not at.exception, at.exception
    by_value = at.dataframe[0].value
    assert by_value["expected_value"].dropna().is_monotonic_decreasing
    assert sorted(by_value["bundle_id"]) == sorted(first["bundle_id"])


def test_bundles_page_lists_per_segment(sample_ws):
    """Issue 16, item 2: the sample's Country column (not mapped at ingest) gives one list per
    country with enough orders, and the page says which bundles the countries share."""
    at = page("5_Bundles.py").run()
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    assert "Country" in at.selectbox(key="bundles_segment_col").options
    at.selectbox(key="bundles_segment_col").select("Country").run()
    at.button(key="bundles_segment_build").click().run()
    assert not at.exception, at.exception
    said = [m.value for m in at.markdown if "segment lists of Country" in m.value]
    assert len(said) == 1, [m.value for m in at.markdown]
    seg = at.session_state["bundles_segments"][3]
    assert "United Kingdom" in set(seg.bundles["segment"])
    assert list(at.dataframe[-1].value.columns[:2]) == ["segment", "segment_orders"]


def test_bundles_page_test_plan_of_the_bundle_in_detail(sample_ws):
    """Issue 16, item 5: the bundle in detail has an A/B test plan (take rate on the held-out
    orders, orders per arm, the formula); the uplift slider changes the orders needed."""
    at = page("5_Bundles.py").run()
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert "Anchor orders per arm" in metrics, metrics
    per_arm = int(metrics["Anchor orders per arm"].replace(",", ""))
    assert any("n per arm =" in c.value for c in at.code)
    at.slider(key="bundles_plan_uplift").set_value(0.5).run()
    assert not at.exception, at.exception
    fewer = int({m.label: m.value for m in at.metric}["Anchor orders per arm"].replace(",", ""))
    assert 0 < fewer < per_arm
