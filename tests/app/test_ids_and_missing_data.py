"""AppTest on an Instacart-like export: numeric item ids, numeric category codes (``aisle_id``),
no prices, no customers, no dates. Ids are labels in every chart and table; a chart with nothing
to show is replaced by a line saying what is missing and what would fill it; nothing promises
target customers or points to a command line."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 180
PAIRS = [(24852, 13176), (21137, 47209), (21903, 47766), (49683, 16797)]


def _export(with_category: bool) -> str:
    head = "order_id,product_id,aisle_id" if with_category else "order_id,product_id"
    rows, oid = [head], 0
    for k in range(240):
        oid += 1
        pair = PAIRS[k % len(PAIRS)]
        extra = (10000 + 1000 * (k % 7),) if k % 3 == 0 else ()
        for p in pair + extra:
            rows.append(f"{oid},{p},{p % 24 + 1}" if with_category else f"{oid},{p}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def numeric_ws(app_ws, tmp_path):
    """Dataset ``insta`` (aisle ids as categories) and ``insta_nocat`` (no category)."""
    from core.ingest.load import IngestOptions, ingest

    for name, cat in (("insta", True), ("insta_nocat", False)):
        path = tmp_path / f"{name}.csv"
        path.write_text(_export(cat))
        ingest(app_ws, path, dataset=name, options=IngestOptions(
            mapping={"category": "aisle_id"} if cat else {}))
    return app_ws


def _app(dataset: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["dataset"] = dataset
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _layout(chart) -> dict:
    return json.loads(chart.proto.spec)["layout"]


def _texts(at) -> str:
    return "\n".join(e.value for kind in ("info", "caption", "markdown", "warning")
                     for e in getattr(at, kind))


def test_home_draws_numeric_item_ids_as_labels(numeric_ws):
    at = _app("insta")
    top = next(c for c in at.get("plotly_chart") if "Top items" in json.dumps(_layout(c)))
    assert _layout(top)["yaxis"]["type"] == "category"
    assert "revenue" not in top.proto.spec  # no prices: no revenue of 0 in the hover


def _saved_list(ws, name: str) -> None:
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset

    build_for_dataset(ws, name, BundleParams(top=5, text=False, min_orders=5))


def test_coverage_numeric_categories_and_no_prices(numeric_ws):
    _saved_list(numeric_ws, "insta")
    at = _app("insta", "pages/6_Coverage.py")
    charts = {_layout(c)["title"]["text"]: c for c in at.get("plotly_chart")}
    by_cat = next(c for t, c in charts.items() if "by category" in t)
    assert _layout(by_cat)["yaxis"]["type"] == "category"  # aisle "24" is a label
    assert not any("price band" in t for t in charts)  # no empty -100%..100% chart
    curve = next(c for t, c in charts.items() if "Coverage against" in t)
    names = {tr.get("name") for tr in json.loads(curve.proto.spec)["data"]}
    assert "revenue of those orders" not in names  # no line stuck at 0%
    text = _texts(at)
    assert "No prices in this dataset" in text
    assert "Map a price or line-total column on the Upload page" in text
    assert [e.label for e in at.expander] == ["What do these numbers mean?"]


def test_coverage_without_categories_says_so(numeric_ws):
    _saved_list(numeric_ws, "insta_nocat")
    at = _app("insta_nocat", "pages/6_Coverage.py")
    titles = [_layout(c)["title"]["text"] for c in at.get("plotly_chart")]
    assert not any("by category" in t for t in titles)  # no single "(no category)" bar
    assert "No categories in this dataset" in _texts(at)


def test_bundles_page_without_customers_or_prices(numeric_ws):
    at = _app("insta", "pages/5_Bundles.py")
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "python -m core" not in text
    assert "target customers" in text and "need one" in text  # says what is missing
    assert "no customer data" not in text
    assert any("target customers need a customer column" in c.value for c in at.caption)
    assert "No prices in this dataset" in text
    table = at.dataframe[0]
    assert "customers" not in table.value.columns
    shown = list(table.proto.column_order)
    assert "list_price" not in shown and "bundle_price" not in shown  # empty price columns
    assert at.radio(key="bundles_objective").options == ["orders"]
    detail = at.dataframe[1].value
    assert detail["item_id"].map(type).eq(str).all()
    assert detail["category"].dropna().map(type).eq(str).all()


def test_evaluate_counts_per_method_and_no_revenue(numeric_ws):
    block = {m: {"hit_rate": 0.3, "attach_rate": 0.2, "coverage_orders": 0.5,
                 "coverage_revenue": 0.0, "coverage_items": 0.1, "cold_hit_rate": 0.0,
                 "cold_orders": 0, "bundles": n}
             for m, n in (("rules", 12), ("similarity", 50), ("hybrid", 12))}
    numeric_ws.record_run("insta", "evaluate", params={"cut": None, "top": 50, "blocks": None},
                          seconds=1.0, metrics={"cut": None, "seconds": 1.0, "bundles": block})
    at = _app("insta", "pages/7_Evaluate_Export.py")
    intro = " ".join(m.value for m in at.markdown)
    assert "same number of bundles" not in intro
    assert "up to N bundles and stops early" in intro
    table = at.dataframe[0]
    assert list(table.value.columns[:2]) == ["method", "bundles"]
    assert table.value["bundles"].tolist() == [12, 50, 12]
    assert "coverage_revenue" not in table.value.columns  # would read 0 without prices
    counts = next(c.value for c in at.caption if "Bundles found per method" in c.value)
    assert "rules 12, similarity 50, hybrid 12" in counts and "up to N = 50" in counts
    assert "rules, hybrid stopped early" in counts
    cfg = json.loads(table.proto.columns)
    assert cfg["hit_rate"]["help"] and cfg["attach_rate"]["help"] and cfg["cold_hit_rate"]["help"]
    chart = at.get("plotly_chart")[0]
    assert _layout(chart)["xaxis"]["type"] == "category"
    assert any(e.label == "What do these numbers mean?" for e in at.expander)
