"""AppTest: the sidebar's page titles, the home page's words (the sample said to be the sample,
removable once the user's own data is in; cleaning and period shown plainly), the metric
glossary on the Rules and Bundles pages, and the Bundles page pointing to the Recommender page
instead of a command line."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 240
SAMPLE = "sample_online_retail"
SAMPLE_INFO = ("This is the bundled sample (UCI Online Retail, 3 months). Upload your own export "
               "on the Upload page.")


def _home() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def test_sidebar_titles(app_ws):
    at = _home()
    titles = [p["page_name"] for p in at._registered_pages.values()]
    assert titles == ["Home", "Upload", "Rules", "Item similarity", "Recommender", "Bundles",
                      "Coverage", "Evaluate & Export", "Over time"]
    urls = [p["url_pathname"] for p in at._registered_pages.values()]
    assert urls[1:] == ["Upload", "Rules", "Item_similarity", "Recommender", "Bundles",
                        "Coverage", "Evaluate_Export", "Over_time"]  # the e2e test's links


def test_home_says_it_is_the_sample_and_shows_cleaning_plainly(app_ws):
    at = _home()  # an empty workspace: the sample is loaded
    assert app_ws.datasets()["name"].tolist() == [SAMPLE]
    assert any(i.value == SAMPLE_INFO for i in at.info)
    info = app_ws.info(SAMPLE)
    kept = next(m for m in at.metric if m.label == "Order lines kept")
    assert not kept.proto.delta  # no "↓ -1,654 cleaned"
    removed = info["rows_read"] - info["rows_kept"]
    assert any(c.value == f"{removed:,} removed in cleaning" for c in at.caption)
    period = next(m for m in at.metric if m.label == "Period")
    assert len(period.value) <= 12 and period.value.endswith("days")  # fits, not cut off
    assert any(c.value == f"{info['date_min'][:10]} to {info['date_max'][:10]}"
               for c in at.caption)
    assert "remove_sample" not in [b.key for b in at.button]  # nothing of the user's own yet


def test_remove_the_sample_once_own_data_is_in(sample_ws, tmp_path):
    from core.ingest.load import ingest

    own = tmp_path / "shop.csv"
    own.write_text("order,item\n" + "".join(f"{o},{i}\n" for o in range(30) for i in ("A", "B")))
    ingest(sample_ws, own, dataset="shop")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["dataset"] = "shop"
    at.run()
    assert not at.exception, at.exception
    assert not any(i.value == SAMPLE_INFO for i in at.info)  # the user's data is shown
    at.button(key="remove_sample").click().run()
    assert not at.exception, at.exception
    assert sample_ws.datasets()["name"].tolist() == ["shop"]
    assert "remove_sample" not in [b.key for b in at.button]


def test_rules_glossary_and_technical_columns_second(sample_ws):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/2_Rules.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0]
    shown = list(table.proto.column_order)
    assert shown[:3] == ["If the order holds", "then it often also holds", "orders together"]
    assert not {"leverage", "conviction", "zhangs_metric", "jaccard"} & set(shown)
    assert {"leverage", "conviction", "zhangs_metric", "jaccard"} <= set(table.value.columns)
    cfg = json.loads(table.proto.columns)
    for col in ("support", "confidence", "lift", "leverage", "conviction", "zhangs_metric",
                "jaccard", "certainty", "kulczynski"):
        assert cfg[col]["help"], col
    glossary = next(e for e in at.expander if e.label == "What do these numbers mean?")
    words = glossary.markdown[0].value
    for label in ("Leverage", "Conviction", "Zhang's metric", "Jaccard"):
        assert f"**{label}**" in words
    at.toggle(key="rules_all_columns").set_value(True).run()
    assert "leverage" in list(at.dataframe[0].proto.column_order)


def test_bundles_page_points_to_the_recommender_page(sample_ws):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/5_Bundles.py").run()
    at.toggle(key="bundles_text").set_value(False).run()
    assert not at.exception, at.exception
    infos = [i.value for i in at.info]
    assert not any("python -m core" in i for i in infos)
    assert any("Train one on the Recommender page" in i for i in infos)
    links = at.get("page_link")
    assert any(link.proto.page == "Recommender" for link in links)
    table = at.dataframe[0]
    cfg = json.loads(table.proto.columns)
    assert cfg["confidence"]["help"] and cfg["lift"]["help"] and cfg["orders_together"]["help"]
    assert "similarity" not in list(table.proto.column_order)  # technical: behind the toggle
    assert any(e.label == "What do these numbers mean?" for e in at.expander)
