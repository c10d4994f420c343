"""AppTest: the Recommender page (train with progress, method comparison table and chart, a
customer's history and recommendations with reasons, complete-this-basket) on a small synthetic
shop, without product text so that no language model is needed."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.core.test_recommender_workspace import shop_csv

TIMEOUT = 180
PAGE = str(ROOT / "pages" / "4_Recommender.py")


@pytest.fixture
def shop_ws(app_ws, tmp_path):
    from core.ingest.load import ingest

    ingest(app_ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return app_ws


def test_recommender_page(shop_ws, monkeypatch):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Recommender"
    assert any("next order" in m.value for m in at.markdown)
    assert any("No comparison yet" in i.value for i in at.info)
    assert any("No recommender trained" in i.value for i in at.info)

    at.selectbox(key="rec_text").select("none")
    at.button(key="rec_train").click().run()
    assert not at.exception, at.exception
    assert any("Trained on 20 customers" in s.value for s in at.success)
    assert len(shop_ws.runs("shop", kind="recommender")) == 1

    history, recs = at.dataframe[0].value, at.dataframe[1].value
    assert list(recs.columns) == ["rank", "item_id", "item_name", "score", "reason"]
    assert len(recs) == 10 and recs["reason"].str.len().gt(0).all()
    customer = at.selectbox(key="rec_customer").value
    assert set(history["item_id"]) and customer

    # complete this basket: add-ons never repeat the basket's products
    at.multiselect(key="rec_basket").select("T1").select("T2").run()
    assert not at.exception, at.exception
    addons = at.dataframe[-1].value
    assert not {"T1", "T2"} & set(addons["item_id"])

    # the comparison: one row per method, and a bar chart with titles
    at.text_input(key="rec_eval_cut").input("2024-02-15")
    at.button(key="rec_eval").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    from core.recommend.registry import DEFAULT_METHODS

    assert len(table) == len(DEFAULT_METHODS) == 6 and {"NDCG@10", "Recall@10", "Hit@10", "Explore hits"} <= set(table.columns)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "Next-order prediction by method" in spec and "Score (higher is better)" in spec

    # a widget move re-renders from the caches: the model is not loaded again
    import core.recommend

    def boom(*a, **k):
        raise AssertionError("the model was loaded again on a widget move")

    monkeypatch.setattr(core.recommend, "load_trained", boom)
    at.slider(key="rec_k").set_value(5).run()
    assert not at.exception, at.exception
    assert len(at.dataframe[2].value) == 5
