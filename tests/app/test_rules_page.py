"""AppTest: the Rules page on the bundled sample (mining, re-filtering without re-mining, item
search, empty results and the explosion guard)."""

from __future__ import annotations

import json
import math

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "2_Rules.py")
TIMEOUT = 90


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _rule_runs(ws) -> int:
    runs = ws.runs(kind="rules")
    return 0 if runs.empty else len(runs)


def test_rules_page_mines_once_and_refilters(sample_ws):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    n_rules = int(_metrics(at)["Rules"].replace(",", ""))
    assert n_rules > 0
    n_orders = sample_ws.info("sample_online_retail")["orders"]
    assert _metrics(at)["Support threshold"] == f"{max(5, round(0.01 * n_orders)):,} orders"
    table = at.dataframe[0].value
    assert len(table) == min(n_rules, 5000)
    assert {"If the order holds", "then it often also holds", "confidence", "lift"} <= set(table.columns)
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    scatter = json.loads(charts[0].proto.spec)
    assert "support and confidence" in scatter["layout"]["title"]["text"]
    assert scatter["layout"]["xaxis"]["title"]["text"].startswith("support")
    assert scatter["layout"]["yaxis"]["title"]["text"].startswith("confidence")
    assert "Top" in json.loads(charts[1].proto.spec)["layout"]["title"]["text"]
    assert _rule_runs(sample_ws) == 1

    # filters re-filter the cached itemsets: fewer rules, no new mining run
    at.slider(key="rules_min_conf").set_value(0.6).run()
    assert not at.exception, at.exception
    fewer = int(_metrics(at)["Rules"].replace(",", ""))
    assert 0 < fewer < n_rules
    assert (at.dataframe[0].value["confidence"] >= 0.6).all()
    at.selectbox(key="rules_sort").set_value("confidence").run()
    conf = at.dataframe[0].value["confidence"].tolist()
    assert conf == sorted(conf, reverse=True)
    assert _rule_runs(sample_ws) == 1


def test_item_search_and_explanations(sample_ws):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.text_input(key="rules_item_query").input("herb marker").run()
    at.radio(key="rules_item_side").set_value("in 'then'").run()
    assert not at.exception, at.exception
    then = at.dataframe[0].value["then it often also holds"]
    assert len(then) and then.str.contains("HERB MARKER").all()

    at.text_input(key="rules_item_query").input("no such product xyz").run()
    assert not at.exception
    assert "no product id or name contains" in at.error[0].value

    at.text_input(key="rules_item_query").input("").run()
    at.number_input(key="rules_min_orders").set_value(3000).run()
    assert not at.exception and not at.error
    assert "No two products are bought together in at least 3,000 orders" in at.info[0].value
    assert "Lower the support" in at.info[0].value


def test_support_as_share(sample_ws):
    n_orders = sample_ws.info("sample_online_retail")["orders"]
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.radio(key="rules_support_unit").set_value("share of orders").run()
    at.number_input(key="rules_min_share").set_value(0.02).run()
    assert not at.exception, at.exception
    want = math.ceil(0.02 * n_orders)
    assert _metrics(at)["Support threshold"] == f"{want:,} orders"
    assert any(f"at least {want:,} of {n_orders:,} orders" in c.value for c in at.caption)


def test_explosive_setting_is_an_error_with_advice(sample_ws):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.selectbox(key="rules_max_len").set_value("no cap").run()
    at.number_input(key="rules_min_orders").set_value(12).run()
    assert not at.exception, at.exception
    msg = at.error[0].value
    assert "millions" in msg and "Raise min_support" in msg and "max_len" in msg


def test_rules_between_categories_and_what_they_drive(sample_ws):
    """Issue 16, item 3: the sample has no categories, so rough product types stand in (said on
    the page); once a bundle list is saved, the category combinations behind it are shown."""
    from core.bundles.lists import save_list
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.radio(key="rules_level").set_value("category").run()
    assert not at.exception, at.exception
    assert any("rough product types" in c.value for c in at.caption)
    assert int(_metrics(at)["Rules"].replace(",", "")) > 0
    assert any("Save a bundle list" in i.value for i in at.info)

    name = "sample_online_retail"
    save_list(sample_ws, name, build_for_dataset(sample_ws, name, BundleParams(top=10,
                                                                               text=False)))
    at.run()
    assert not at.exception, at.exception
    drivers = at.dataframe[0].value
    assert list(drivers.columns) == ["categories", "bundles", "examples", "category_orders",
                                     "category_lift"]
    assert len(drivers) >= 1 and drivers["bundles"].sum() <= 10
