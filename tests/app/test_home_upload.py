"""AppTest: the home page (overview on the sample data) and the Upload page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 60


def test_home_loads_sample_on_first_start(app_ws):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert app_ws.datasets()["name"].tolist() == ["sample_online_retail"]
    metrics = {m.label: m.value for m in at.metric}
    info = app_ws.info("sample_online_retail")
    assert metrics["Orders"] == f"{info['orders']:,}"
    assert metrics["Customers"] == f"{info['customers']:,}"
    assert "Cleaning report" in [h.value for h in at.subheader]
    assert len(at.get("plotly_chart")) == 4
    reasons = at.dataframe[-1].value
    assert set(reasons["reason"]) == set(info["dropped"])


def test_upload_latin1_semicolon_with_mapping_fix(app_ws):
    text = ("Beleg;Artikelnr;Bezeichnung;Menge;Preis;Kunde;Datum\n"
            "1;A1;Crème brûlée Schale;1;2,50;K1;30.10.2024\n"
            "1;B2;Löffel;2;1,20;K1;30.10.2024\n"
            "2;A1;Crème brûlée Schale;1;2,50;K2;31.10.2024\n"
            "2;C3;Gießkanne;1;abc;K2;31.10.2024\n").encode("cp1252")
    at = AppTest.from_file(str(ROOT / "pages" / "1_Upload.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    at.file_uploader[0].upload("kasse.csv", text, "text/csv").run()
    assert not at.exception, at.exception
    assert "encoding cp1252" in at.caption[0].value and "';'" in at.caption[0].value
    # Beleg/Artikelnr are not known names: map them by hand
    at.selectbox(key="map_order_id").select("Beleg")
    at.selectbox(key="map_item_id").select("Artikelnr")
    at.multiselect(key="map_item_name").select("Bezeichnung")
    at.selectbox(key="map_quantity").select("Menge")
    at.selectbox(key="map_unit_price").select("Preis")
    at.selectbox(key="map_customer_id").select("Kunde")
    at.multiselect(key="map_timestamp").select("Datum")
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert any("Loaded kasse" in s.value for s in at.success)
    info = app_ws.info("kasse")
    assert info["rows_kept"] == 3 and info["dropped"] == {"unparseable_price": 1}
    assert info["date_min"] == "2024-10-30 00:00:00"
    items = app_ws.items("kasse").set_index("item_id")
    assert items.loc["A1", "item_name"] == "Crème brûlée Schale"
    assert items.loc["A1", "price"] == 2.5


def test_upload_bad_file_shows_error_and_keeps_data(sample_ws):
    at = AppTest.from_file(str(ROOT / "pages" / "1_Upload.py"), default_timeout=TIMEOUT).run()
    at.file_uploader[0].upload("empty.csv", b"", "text/csv").run()
    assert not at.exception
    assert any("empty.csv is empty" in e.value for e in at.error)
    assert sample_ws.datasets()["name"].tolist() == ["sample_online_retail"]


def test_delete_dataset(sample_ws):
    at = AppTest.from_file(str(ROOT / "pages" / "1_Upload.py"), default_timeout=TIMEOUT).run()
    at.button(key="delete_button").click().run()
    assert not at.exception
    assert sample_ws.datasets().empty
