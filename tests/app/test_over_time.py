"""AppTest: the Over time page and the Bundles page's "Stability over time" option, on a small
synthetic two-year shop with one bundle of each label (``tests.core.test_stability``)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.core.test_stability import BUNDLES, two_years

TIMEOUT = 120


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)


def ingest_frame(ws, tmp_path, frame, name):
    from core.ingest.load import ingest

    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    ingest(ws, path, dataset=name)


@pytest.fixture
def shop_ws(app_ws, tmp_path):
    lines = two_years().rename(columns={"order_id": "InvoiceNo", "item_id": "StockCode",
                                        "timestamp": "InvoiceDate"})
    ingest_frame(app_ws, tmp_path, lines.assign(Quantity=1, UnitPrice=2.0), "shop")
    return app_ws


def build(ws, save: bool):
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset

    return build_for_dataset(ws, "shop", BundleParams(text=False, min_orders=50,
                                                      allow_variants=True), save=save)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_over_time_page_on_the_saved_list(shop_ws):
    at = page("8_Over_time.py").run()
    assert not at.exception, at.exception
    assert any("No bundle list yet" in i.value for i in at.info)
    build(shop_ws, save=True)
    at = page("8_Over_time.py").run()
    assert not at.exception, at.exception
    assert metrics(at) == {"Steady": "1", "Seasonal": "1", "Rising": "1", "Fading": "1",
                           "New": "1", "None": "0"}
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert len(table) == 5 and set(table["stability"]) == set(BUNDLES)
    assert table.loc[table["stability"] == "seasonal", "season"].iloc[0] == "Nov, Dec"
    assert table.loc[table["stability"] == "steady", "held"].iloc[0] == "24 of 24"
    assert any("saved list" in c.value for c in at.caption)
    at.radio(key="overtime_window").set_value("quarter").run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["held"].str.endswith("of 8").all()
    at.multiselect(key="overtime_labels").set_value(["steady"]).run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["stability"].tolist() == ["steady"]
    at.multiselect(key="overtime_labels").set_value([]).run()
    assert any("No bundle with these labels" in i.value for i in at.info)


def test_over_time_page_uses_the_bundles_page_list(shop_ws):
    result = build(shop_ws, save=False)
    result.bundles = result.bundles.head(2)
    at = page("8_Over_time.py")
    at.session_state["bundle_result"] = result
    at.session_state["bundle_result_dataset"] = "shop"
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == 2
    assert any("the list on the Bundles page" in c.value for c in at.caption)


def test_data_without_dates_says_so(app_ws, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"InvoiceNo": [o for o in range(40) for _ in "ab"],
                          "StockCode": [it for _ in range(40) for it in "AB"],
                          "Description": [f"ITEM {it}" for _ in range(40) for it in "AB"]})
    ingest_frame(app_ws, tmp_path, frame, "undated")
    from core.bundles.params import BundleParams
    from core.bundles.service import build_for_dataset

    build_for_dataset(app_ws, "undated", BundleParams(text=False, min_orders=5,
                                                      allow_variants=True))
    at = page("8_Over_time.py").run()
    assert not at.exception, at.exception
    assert any("needs order dates" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_bundles_page_stability_option(shop_ws):
    at = AppTest.from_file(str(ROOT / "pages" / "5_Bundles.py"), default_timeout=240).run()
    assert not at.exception, at.exception
    at.toggle(key="bundles_text").set_value(False).run()
    at.number_input(key="bundles_min_orders").set_value(50).run()
    at.checkbox(key="bundles_variants").check().run()
    assert not at.exception, at.exception
    assert "stability" not in at.dataframe[0].value.columns
    at.toggle(key="bundles_stability").set_value(True).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 5 and set(table["stability"]) == set(BUNDLES)
    assert set(table["windows held"]) >= {"24 of 24", "4 of 24"}
    at.checkbox(key="bundles_steady_only").check().run()
    assert at.dataframe[0].value["stability"].tolist() == ["steady"]
    at.radio(key="bundles_stability_window").set_value("quarter").run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["windows held"].tolist() == ["8 of 8"]
