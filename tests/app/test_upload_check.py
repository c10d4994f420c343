"""AppTest: the Upload page's column detection, data check and one-click load.

Order lines with ids only plus a catalog, loaded with the detected mapping, get the catalog's
names (as ``python -m core ingest --catalog`` does), and the sidebar follows the new dataset."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 60
PAGE = str(ROOT / "pages" / "1_Upload.py")

IDS_ONLY = "order_id,product_id,add_to_cart_order,reordered\n" + "".join(
    f"{o},{p},{k + 1},{o % 2}\n" for o in range(1, 41)
    for k, p in enumerate([13176, 21137] + ([47209] if o % 2 else [])))
CATALOG = ("product_id,product_name,aisle_id,department_id\n"
           "13176,Bag of Organic Bananas,24,4\n21137,Organic Strawberries,24,4\n"
           "47209,Organic Hass Avocado,24,4\n")
UCI = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
       "1001,A1,Mug,1,2024-03-01 10:00:00,2.50,17850\n"
       "1001,B2,Spoon,2,2024-03-01 10:00:00,1.20,17850\n"
       "1002,A1,Mug,1,2024-03-02 11:00:00,2.50,17851\n"
       "C1003,A1,Mug,-1,2024-03-03 12:00:00,2.50,17851\n")


@pytest.fixture
def earlier_ws(app_ws, tmp_path):
    """A workspace holding one dataset, ``earlier``, chosen in the sidebar before the upload."""
    from core.ingest.load import ingest

    f = tmp_path / "earlier.csv"
    f.write_text(UCI, encoding="utf-8")
    ingest(app_ws, f)
    return app_ws


def frames(at) -> list:
    return [d.value for d in at.dataframe]


def test_ids_and_catalog_with_detected_mapping_get_names(earlier_ws):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert at.sidebar.selectbox[0].value == "earlier"
    at.file_uploader[0].upload("order_lines.csv", IDS_ONLY.encode(), "text/csv").run()
    at.file_uploader[1].upload("products.csv", CATALOG.encode(), "text/csv").run()
    assert not at.exception, at.exception
    # the editor shows the catalog's names; the check says where every field comes from
    assert at.multiselect(key="map_item_name").value == ["product_name"]
    roles = next(f for f in frames(at) if "why" in f.columns)
    named = roles[roles["field"] == "item name"].iloc[0]
    assert (named["column"], named["source"]) == ("product_name", "catalog")
    assert earlier_ws.datasets()["name"].tolist() == ["earlier"]  # the check stored nothing
    at.button(key="load_button").click().run()
    assert not at.exception, at.exception
    assert any("Loaded order_lines" in s.value for s in at.success)
    assert at.sidebar.selectbox[0].value == "order_lines"  # no refresh needed
    items = earlier_ws.items("order_lines").set_index("item_id")
    assert items.loc["13176", "item_name"] == "Bag of Organic Bananas"
    assert items.loc["47209", "item_name"] == "Organic Hass Avocado"
    assert not [w.value for w in at.warning if "no name" in w.value]


def test_data_check_before_loading_and_a_changed_field(app_ws):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].upload("orders.csv", UCI.encode(), "text/csv").run()
    assert not at.exception, at.exception
    assert any("loading would keep" in m.value for m in at.markdown)
    drops = next(f for f in frames(at) if "would be removed because" in f.columns)
    assert drops.iloc[0].tolist() == ["cancelled orders (order id starting with C)", 1, "25.0%"]
    assert not app_ws.db_path.exists() or app_ws.datasets().empty
    # a field the user changes is an override; the others stay detected
    at.selectbox(key="map_customer_id").select("(none)").run()
    wanted = next(f for f in frames(at) if "missing" in f.columns)
    assert "Customers" in wanted["missing"].tolist()
    at.button(key="load_button").click().run()
    assert not at.exception, at.exception
    info = app_ws.info("orders")
    assert "customer_id" not in info["mapping"] and info["mapping"]["item_name"] == "Description"
    assert info["options"]["mapping"] == {"customer_id": ""}


def test_unmappable_file_shows_the_error_and_no_load_button(app_ws):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].upload("odd.csv", b"Foo,Bar\nx,1\ny,2\n", "text/csv").run()
    assert not at.exception, at.exception
    assert any("no column that can be an order id" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "load_button"]


def test_selectors_come_back_preset_after_they_were_gone(app_ws):
    """The same files again after the selectors were not drawn (file removed, or the page left):
    they show the detection again, not an empty choice that would unmap the catalog's names."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.file_uploader[0].upload("order_lines.csv", IDS_ONLY.encode(), "text/csv").run()
    at.file_uploader[1].upload("products.csv", CATALOG.encode(), "text/csv").run()
    at.file_uploader[0].clear().run()
    at.file_uploader[0].upload("order_lines.csv", IDS_ONLY.encode(), "text/csv").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="map_item_name").value == ["product_name"]
    assert at.selectbox(key="map_order_id").value == "order_id"
    at.button(key="load_button").click().run()
    assert app_ws.items("order_lines").set_index("item_id").loc["21137", "item_name"] == \
        "Organic Strawberries"
