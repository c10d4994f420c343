"""AppTest: the Item similarity page (train, evaluate, neighbour explorer, 2-D map) on a small
synthetic shop with a tiny in-process encoder configured as the base model."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.core.embedding_helpers import CUT, make_tiny_encoder, tiny_words, write_orders

TIMEOUT = 120
PAGE = str(ROOT / "pages" / "3_Item_similarity.py")


@pytest.fixture
def shop_ws(app_ws, tmp_path, monkeypatch):
    from core.ingest.load import ingest

    tiny = make_tiny_encoder(tmp_path / "tiny", extra_words=tiny_words())
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    ingest(app_ws, write_orders(tmp_path / "shop.csv"), dataset="shop")
    return app_ws


def test_item_similarity_page(shop_ws, monkeypatch):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Item similarity"
    assert any("buy together" in m.value for m in at.markdown)
    assert any("No fine-tuned model yet" in i.value for i in at.info)
    assert any("No evaluation yet" in i.value for i in at.info)
    base_table = at.dataframe[0].value
    assert list(base_table.columns) == ["rank", "item_id", "item_name", "similarity",
                                        "orders_together"]
    assert len(base_table) == 10
    chart = at.get("plotly_chart")[0].proto.spec
    assert "Products placed by the base model" in chart and "Component 1" in chart

    # train (the progress bar reports through make_progress), then the explorer shows both models
    at.button(key="sim_train").click().run()
    assert not at.exception, at.exception
    assert any("Fine-tuned on" in s.value for s in at.success)
    assert len(shop_ws.runs("shop", kind="finetune")) == 1
    assert len(at.dataframe) == 2
    assert "Products placed by the fine-tuned model" in at.get("plotly_chart")[0].proto.spec

    # evaluation on demand: one row per method
    at.text_input(key="sim_eval_cut").input(CUT)
    at.button(key="sim_eval").click().run()
    assert not at.exception, at.exception
    metrics = at.dataframe[0].value
    assert list(metrics.index) == ["Bought together (counts)", "Language model (base)",
                                   "Language model (fine-tuned)"]
    assert list(metrics.columns) == ["Recall@10", "MRR", "Recall@10, new items"]

    # a widget move re-renders from the caches: no encoding, no projection, no counting again
    def boom(*a, **k):
        raise AssertionError("heavy work reran on a widget move")

    import core.text.encoder
    import core.text.similarity

    monkeypatch.setattr(core.text.encoder, "encode_texts", boom)
    monkeypatch.setattr(core.text.similarity, "item_map", boom)
    monkeypatch.setattr(core.text.similarity, "copurchase_counts", boom)
    at.selectbox(key="sim_item").select_index(3).run()
    at.slider(key="sim_k").set_value(5).run()
    assert not at.exception, at.exception
    assert len(at.dataframe[-1].value) == 5


def test_item_similarity_page_with_chinese_names(app_ws, tmp_path, monkeypatch):
    """Issue 15: a Chinese catalog gets the multilingual model (said on the page), its adapter
    trains from the button, and the neighbours show the Chinese names."""
    from core.ingest.load import ingest
    from tests.core.embedding_helpers import DISHES, write_dish_orders

    monkeypatch.delenv("BUNDLELAB_MODEL", raising=False)
    ingest(app_ws, write_dish_orders(tmp_path / "菜单.csv"), dataset="dishes")
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert any("multilingual-e5-small" in c.value and "Chinese" in c.value for c in at.caption)
    assert any("adapter" in c.value for c in at.caption)
    names = set(at.dataframe[0].value["item_name"])
    assert names <= set(DISHES.values()) and len(names) == 9  # the 9 others of 10 dishes

    at.button(key="sim_train").click().run()
    assert not at.exception, at.exception
    assert any("Fine-tuned on" in s.value for s in at.success)
    assert "multilingual + adapter" in at.selectbox(key="sim_model").options[0]
    assert set(at.dataframe[-1].value["item_name"]) <= set(DISHES.values())

    # the user's choice is kept for the dataset: the English model, said so
    at.selectbox(key="sim_encoder_dishes").select("minilm").run()
    assert not at.exception, at.exception
    assert any("In use:" in c.value and "chosen" in c.value for c in at.caption)
