"""Issue 16, item 2: bundle lists per segment on a two-segment synthetic shop. The segment column
(``Store``) is not mapped at ingest: it is read back from the kept upload by line number."""

from __future__ import annotations

import pandas as pd
import pytest

from core.bundles.params import BundleParams
from core.bundles.segments import build_segment_lists, order_segments, segment_of_lines
from core.errors import BundleLabError
from core.ingest.load import ingest

NAMES = {"x": "TEA POT", "y": "TEA CUP", "z": "COFFEE MUG", "p": "PAPER PLATES",
         "q": "PAPER NAPKINS", "n": "NOTEBOOK"}


def write(path):
    rows, order = [], 0
    for store, pattern in (("North", ([["x", "y"]] * 12 + [["p", "q"]] * 10 + [["n"]] * 8) * 4),
                           ("South", ([["x", "z"]] * 12 + [["p", "q"]] * 10 + [["n"]] * 3) * 4)):
        for basket in pattern:
            order += 1
            for item in basket:
                rows.append({"InvoiceNo": f"o{order}", "StockCode": item,
                             "Description": NAMES[item], "Quantity": 1, "UnitPrice": 2.0,
                             "InvoiceDate": f"2024-01-{1 + order % 28:02d} 10:00",
                             "Store": store})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, write(tmp_path / "orders.csv"), dataset="shop")
    return ws


def test_segment_column_read_back_from_the_upload(shop):
    by_line = segment_of_lines(shop, "shop", " store ")  # header matched ignoring case/spaces
    lines = shop.lines("shop")
    segments = order_segments(lines, by_line)
    assert segments.value_counts().to_dict() == {"North": 120, "South": 100}
    with pytest.raises(BundleLabError, match="no column 'Region'.*Store"):
        segment_of_lines(shop, "shop", "Region")


def test_one_list_per_segment_and_the_comparison(shop):
    out = build_segment_lists(shop, "shop", "Store", BundleParams(top=5, text=False,
                                                                  min_orders=3))
    sets = {seg: {tuple(sorted(i)) for i in g["items"]} for seg, g in out.bundles.groupby("segment")}
    assert sets == {"North": {("x", "y"), ("p", "q")}, "South": {("p", "q"), ("x", "z")}}
    assert list(out.bundles.columns[:1]) == ["segment"]
    cmp = {tuple(r["items"]): r for _, r in out.comparison.iterrows()}
    assert cmp[("p", "q")]["shared"] and cmp[("p", "q")]["segments"] == "North, South"
    assert not cmp[("x", "y")]["shared"] and cmp[("x", "z")]["segments"] == "South"
    assert out.summary()["shared_bundles"] == 1 and out.summary()["only_one_segment"] == 2
    # a segment under the minimum gets no list, and a note says so
    small = build_segment_lists(shop, "shop", "Store", BundleParams(top=5, text=False,
                                                                    min_orders=3), min_orders=101)
    assert set(small.bundles["segment"]) == {"North"} and small.skipped == ["South"]
    assert any("South" in n for n in small.notes)


def test_cli_bundles_per_segment(shop, tmp_path, capsys):
    import json

    from core.cli.main import main

    out = tmp_path / "segments.csv"
    assert main(["bundles", "--workspace", str(shop.root), "--dataset", "shop", "--segment",
                 "Store", "--no-text", "--top", "5", "--min-orders", "3", "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["segments"] == 2 and summary["shared_bundles"] == 1
    table = pd.read_csv(out)
    assert table.columns[0] == "segment" and set(table["segment"]) == {"North", "South"}
    assert main(["bundles", "--workspace", str(shop.root), "--dataset", "shop", "--segment",
                 "Region", "--no-text"]) == 2
    assert "no column 'Region'" in capsys.readouterr().err
