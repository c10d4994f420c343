"""AppTest: user values (item names, ids, file, column and category names) are shown as plain
text wherever Streamlit renders Markdown, and the Upload page stores awkward file names safely
and keeps no second copy of a loaded upload."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.core.embedding_helpers import make_tiny_encoder

TIMEOUT = 120
BEACON = "![b](http://host/beacon.png)"
NAMES = {"I1": BEACON, "I2": "**bold**", "I3": "<img src=x onerror=alert(1)>",
         "I4": "[link](http://x)", "I5": "PLAIN MUG"}
# (items, times): I1 sells most, so it is the first product on the Item similarity page
ORDERS = [(("I1", "I2"), 20), (("I1", "I3"), 15), (("I3", "I4"), 12), (("I2", "I5"), 10),
          (("I1",), 5), (("I4", "I5"), 6)]
# fields that Streamlit renders as Markdown (labels, bodies, captions, tooltips, progress text)
MARKDOWN_KEYS = {"body", "label", "delta", "help", "text", "caption"}


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / name), default_timeout=TIMEOUT)


def markdown_texts(at: AppTest) -> list[str]:
    """Every string of the rendered page that Streamlit shows as Markdown (tables, charts and
    select box options are plain text and left out; radio options are Markdown)."""
    out: list[str] = []

    def collect(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k)
        elif isinstance(value, list):
            for v in value:
                collect(v, key)
        elif isinstance(value, str) and key in MARKDOWN_KEYS:
            out.append(value)

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "type", None) not in ("arrow_data_frame",
                                                                      "plotly_chart"):
            collect(MessageToDict(proto, preserving_proto_field_name=True))
            if getattr(node, "type", None) == "radio":
                out.extend(proto.options)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def assert_escaped(at: AppTest, must_show: str | None = None) -> None:
    """No payload is live Markdown/HTML; ``must_show`` (a name) appears, escaped."""
    assert not at.exception, at.exception
    texts = markdown_texts(at)
    assert texts, "nothing collected"
    for text in texts:
        for raw in (BEACON, "**bold**", "[link](http://x)", "(http://"):
            assert raw not in text, text
        assert not re.search(r"(?<!\\)<img", text), text
    if must_show is not None:
        from ui.common import md

        assert any(md(must_show) in t for t in texts), (must_show, texts)


@pytest.fixture
def hostile_ws(app_ws, tmp_path):
    from core.ingest.load import ingest

    rows, n = [], 0
    for items, times in ORDERS:
        for _ in range(times):
            n += 1
            for item in items:
                rows.append({"order_id": f"O{n}", "item_id": item, "item_name": NAMES[item],
                             "category": "![c](http://host/cat.png)" if item == "I1" else "[cat]",
                             "quantity": 1, "unit_price": 2.5,
                             "customer_id": f"![u](http://host/u{n % 4}.png)",
                             "timestamp": f"2011-{1 + n % 3:02d}-{1 + n % 27:02d} 10:00:00"})
    path = tmp_path / "hostile.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    ingest(app_ws, path, dataset="hostile")
    return app_ws


def test_home_and_rules_pages(hostile_ws):
    at = page("app.py").run()
    assert_escaped(at)

    at = page("pages/2_Rules.py").run()
    assert_escaped(at)
    assert int(at.metric[0].value) > 0  # rules were found, named by the payloads
    at.text_input(key="rules_item_query").input("no such ![q](http://host/q.png)").run()
    assert at.error, "an unknown product is reported"
    assert_escaped(at, must_show="no such ![q](http://host/q.png)")


def test_bundles_and_coverage_pages(hostile_ws):
    at = page("pages/5_Bundles.py").run()
    at.toggle(key="bundles_text").set_value(False).run()
    assert_escaped(at)
    assert not at.dataframe[0].value.empty
    detail = " ".join(m for m in markdown_texts(at) if "Bought together in" in m)
    from ui.common import md

    assert any(md(n) in detail for n in NAMES.values()), detail  # the anchor's name, escaped

    cov = page("pages/6_Coverage.py")
    cov.session_state["bundle_result"] = at.session_state["bundle_result"]
    cov.session_state["bundle_result_dataset"] = "hostile"
    assert_escaped(cov.run())


def test_item_similarity_page(hostile_ws, tmp_path, monkeypatch):
    """The reported case: the chosen product's name in a caption fetched a remote image."""
    tiny = make_tiny_encoder(tmp_path / "tiny", extra_words=("plain", "mug", "bold", "link"))
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    at = page("pages/3_Item_similarity.py").run()
    assert_escaped(at, must_show=f"{BEACON}  [I1]")  # the chosen product's caption


def test_upload_page_escapes_file_and_column_names(app_ws):
    at = page("pages/1_Upload.py").run()
    head = f"{BEACON},**bold**\n1,2\n"
    at.file_uploader[0].upload(f"{BEACON}.csv", head.encode(), "text/csv").run()
    # no order id / item id column: the data check's error lists the columns (no load button)
    assert at.error
    assert_escaped(at, must_show=BEACON)


# Streamlit itself refuses names with a NUL or without an allowed extension (e.g. ".."; both are
# covered in tests/core/test_hygiene.py); these reach the page.
AWKWARD = [".csv", "..\\..\\evil.csv", "\u202eorders.csv",
           "二零二四年第三季度华东区全部门店销售订单明细导出" * 6 + ".csv"]  # 867 bytes


def test_upload_awkward_names_and_no_second_copy(app_ws):
    data = b"order_id,item_id,item_name\n1,A,Tea\n1,B,Cup\n2,A,Tea\n2,B,Cup\n3,A,Tea\n"
    at = page("pages/1_Upload.py").run()
    incoming = app_ws.root / "incoming"
    for name in AWKWARD:  # each replaces the previous file of the slot
        at.file_uploader[0].upload(name, data, "text/csv").run()
        assert not at.exception, (name, at.exception)
        assert not at.error, (name, [e.value for e in at.error])
        files = [p for p in incoming.rglob("*") if p.is_file()]
        assert len(files) == 1, files
        assert len(files[0].name.encode()) <= 200 and not files[0].name.startswith(".")
    at.text_input[0].input("orders").run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert any("Loaded orders" in s.value for s in at.success)
    stored = app_ws.root / app_ws.info("orders")["source"]
    assert stored.parent == app_ws.uploads_dir / "orders" and stored.read_bytes() == data
    assert stored.name.endswith(".csv") and stored.name.startswith("二零二四年")
    at.run()  # a later rerun previews from the stored upload: still no second copy
    assert not at.exception
    assert not [p for p in incoming.rglob("*") if p.is_file()]
    # clean again from the stored upload
    again = [b for b in at.button if b.label == "Clean again"][0]
    again.click().run()
    assert not at.exception and not at.error
    assert app_ws.info("orders")["version"] == 2
