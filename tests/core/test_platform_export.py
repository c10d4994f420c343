"""Issue 16 item 4: a bundle list exported for the shop platform (``core.bundles.platform``):
the parent/child CSV bundle apps and ERPs import, and Shopify ``productBundleCreate`` inputs,
with Shopify's limits (30 components, no nesting) refused; the ``--format`` option of
``bundles`` / ``run``. On the small synthetic shop of test_bundles_cli, without the text model."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.bundles.lists import bundle_lists, load_list
from core.bundles.params import BundleParams
from core.bundles.platform import (PARENT_CHILD_COLUMNS, SHOPIFY_MAX_COMPONENTS, bundle_skus,
                                   parent_child_table, platform_bytes, read_product_ids,
                                   shopify_inputs, write_bundles)
from core.bundles.service import build_for_dataset
from core.errors import BundleLabError
from core.ingest.load import ingest
from tests.core.test_bundles_cli import run_cli, shop_csv

NO_TEXT = BundleParams(text=False, top=6, min_orders=5, allow_variants=True)


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return ws


@pytest.fixture
def real(shop) -> pd.DataFrame:
    bundles = build_for_dataset(shop, "shop", NO_TEXT, save=False, record=False).bundles
    assert len(bundles) >= 4
    return bundles


def handmade(columns, rows: list[dict]) -> pd.DataFrame:
    """A bundle list with the real list's columns; unnamed cells empty."""
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns))


def check_shopify_shape(inputs: list) -> None:
    """``ProductBundleCreateInput``: title String!, components [ProductBundleComponentInput!]!
    (productId ID!, quantity Int, optionSelections [...]! required), at most 30 components."""
    assert isinstance(inputs, list)
    for one in inputs:
        assert set(one) == {"title", "components"}
        assert isinstance(one["title"], str) and one["title"]
        assert 1 <= len(one["components"]) <= SHOPIFY_MAX_COMPONENTS
        for c in one["components"]:
            assert set(c) == {"productId", "quantity", "optionSelections"}
            assert isinstance(c["productId"], str) and c["productId"]
            assert isinstance(c["quantity"], int) and c["quantity"] >= 1
            assert c["optionSelections"] == []


def test_parent_child_table_of_a_real_list(real):
    table = parent_child_table(real)
    assert list(table.columns) == PARENT_CHILD_COLUMNS
    assert len(table) == int(real["size"].sum())
    assert (table["component_quantity"] == 1).all()
    for (sku, rows), (_, bundle) in zip(table.groupby("bundle_sku", sort=False), real.iterrows()):
        assert sku == f"BUNDLE-{bundle['bundle_id']}"
        assert rows["bundle_title"].unique().tolist() == [bundle["name"]]
        assert rows["component_sku"].tolist() == [str(x) for x in bundle["items"]]
        price = rows["bundle_price"].unique()
        assert len(price) == 1 and price[0] == pytest.approx(round(bundle["bundle_price"], 2))


def test_parent_child_csv_neutralises_formulas_and_leaves_unknown_prices_empty(real, tmp_path):
    bundles = handmade(real.columns, [
        {"bundle_id": "B001", "name": "=HYPERLINK(\"http://x\")", "items": ["+1", "A2"],
         "item_names": ["=cmd", "mug"], "size": 2, "bundle_price": 9.456},
        {"bundle_id": "B002", "name": "Tea set", "items": ["T1", "T2", "T3"], "size": 3,
         "bundle_price": None}])
    path = write_bundles(bundles, tmp_path / "pc.csv", "parent-child")
    assert path.read_bytes() == platform_bytes(bundles, "parent-child")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == PARENT_CHILD_COLUMNS
    assert back["bundle_title"].tolist()[:2] == ["'=HYPERLINK(\"http://x\")"] * 2
    assert back["component_sku"].tolist() == ["'+1", "A2", "T1", "T2", "T3"]
    assert back["bundle_price"].tolist() == ["9.46", "9.46", "", "", ""]
    assert back["bundle_sku"].tolist() == ["BUNDLE-B001"] * 2 + ["BUNDLE-B002"] * 3
    assert back["component_quantity"].tolist() == ["1"] * 5


def test_bundle_skus_are_stable_and_unique(real):
    bundles = handmade(real.columns, [{"bundle_id": "B001"}, {"bundle_id": "B001"},
                                      {"bundle_id": None}, {"bundle_id": "a b/c"}])
    skus = bundle_skus(bundles)
    assert skus == ["BUNDLE-B001", "BUNDLE-B001-2", "BUNDLE-003", "BUNDLE-a-b-c"]
    assert bundle_skus(bundles) == skus and len(set(skus)) == len(skus)


def test_shopify_inputs_of_a_real_list(real):
    inputs = shopify_inputs(real)
    check_shopify_shape(inputs)
    assert [i["title"] for i in inputs] == real["name"].tolist()
    assert [[c["productId"] for c in i["components"]] for i in inputs] == \
        [[str(x) for x in items] for items in real["items"]]
    assert json.loads(platform_bytes(real, "shopify")) == inputs


def test_shopify_refuses_more_than_30_components(real):
    big = handmade(real.columns, [
        {"bundle_id": "B001", "name": "Small", "items": ["A", "B"]},
        {"bundle_id": "B002", "name": "Everything", "items": [f"I{i}" for i in range(31)]}])
    with pytest.raises(BundleLabError, match=r"bundle B002 \('Everything'\) has 31 items.*at "
                                             r"most 30 components"):
        shopify_inputs(big)
    check_shopify_shape(shopify_inputs(big.head(1)))
    exactly_30 = handmade(real.columns, [{"bundle_id": "B001", "name": "Thirty",
                                          "items": [f"I{i}" for i in range(30)]}])
    assert len(shopify_inputs(exactly_30)[0]["components"]) == 30


def test_shopify_refuses_nesting_and_empty_bundles(real):
    nested = handmade(real.columns, [
        {"bundle_id": "B001", "name": "Tea", "items": ["T1", "T2"]},
        {"bundle_id": "B002", "name": "Tea and more", "items": ["BUNDLE-B001", "T3"]}])
    with pytest.raises(BundleLabError, match=r"bundle B002 .*'BUNDLE-B001'.*nested bundles"):
        shopify_inputs(nested)
    empty = handmade(real.columns, [{"bundle_id": "B001", "name": "Nothing", "items": []}])
    with pytest.raises(BundleLabError, match="bundle B001 .*no items"):
        shopify_inputs(empty)


def test_shopify_product_ids_from_a_mapping_file(real, tmp_path):
    bundles = handmade(real.columns, [{"bundle_id": "B001", "name": "Tea",
                                       "items": ["T1", "T2"]}])
    f = tmp_path / "ids.csv"
    f.write_text("item_id,product_id\nT1,108828309\nT2,gid://shopify/Product/20995642\n")
    ids = read_product_ids(f)
    inputs = shopify_inputs(bundles, ids)
    check_shopify_shape(inputs)
    assert [c["productId"] for c in inputs[0]["components"]] == [
        "gid://shopify/Product/108828309", "gid://shopify/Product/20995642"]
    with pytest.raises(BundleLabError, match=r"no Shopify product id for 1 item.*'T2'"):
        shopify_inputs(bundles, {"T1": "1"})
    with pytest.raises(BundleLabError, match="is not a product id"):
        shopify_inputs(bundles, {"T1": "1", "T2": "gid://shopify/Collection/5"})
    (tmp_path / "bad.csv").write_text("sku,id\nT1,1\n")
    with pytest.raises(BundleLabError, match="needs the columns item_id and product_id"):
        read_product_ids(tmp_path / "bad.csv")


def test_cli_parent_child_and_shopify_round_trip(shop, tmp_path, capsys):
    base = ("bundles", "--workspace", shop.root, "--top", 4, "--min-orders", 10, "--no-text",
            "--allow-variants", "--json")
    pc = tmp_path / "f.csv"
    code, js, err = run_cli(capsys, *base, "--format", "parent-child", "--out", pc)
    assert code == 0, err
    assert js["out"] == str(pc)
    saved, _ = load_list(shop, js["list_id"])
    back = pd.read_csv(pc, dtype=str, keep_default_na=False)
    assert list(back.columns) == PARENT_CHILD_COLUMNS and len(back) == int(saved["size"].sum())
    assert back.groupby("bundle_sku", sort=False)["component_sku"].apply(list).tolist() == \
        [[str(x) for x in items] for items in saved["items"]]
    assert back["bundle_sku"].unique().tolist() == [f"BUNDLE-{b}" for b in saved["bundle_id"]]

    sj = tmp_path / "f.json"
    code, js, err = run_cli(capsys, *base, "--format", "shopify", "--out", sj)
    assert code == 0, err
    inputs = json.loads(sj.read_text(encoding="utf-8"))
    check_shopify_shape(inputs)
    saved, _ = load_list(shop, js["list_id"])
    assert [i["title"] for i in inputs] == saved["name"].tolist()

    ids = tmp_path / "ids.csv"
    items = sorted({str(x) for its in saved["items"] for x in its})
    pd.DataFrame({"item_id": items, "product_id": range(1000, 1000 + len(items))}).to_csv(
        ids, index=False)
    code, js, err = run_cli(capsys, *base, "--format", "shopify", "--out", sj,
                            "--shopify-ids", ids)
    assert code == 0, err
    got = [c["productId"] for i in json.loads(sj.read_text()) for c in i["components"]]
    assert got and all(p.startswith("gid://shopify/Product/10") for p in got)


@pytest.mark.parametrize("extra, message", [
    (("--format", "shopify", "--out", "x.csv"), "the shopify format writes a .json file"),
    (("--format", "parent-child", "--out", "x.json"), "the parent-child format writes a .csv"),
    (("--format", "csv", "--out", "x.xlsx"), "the csv format writes a .csv file"),
    (("--format", "shopify",), "need --out FILE"),
    (("--out", "x.csv", "--shopify-ids", "ids.csv"), "only applies to --format shopify"),
    (("--format", "shopify", "--out", "x.json", "--shopify-ids", "missing.csv"),
     "cannot read the Shopify product ids"),
])
def test_cli_bad_format_combinations_are_user_errors(shop, tmp_path, capsys, extra, message):
    extra = tuple(str(tmp_path / e) if e.endswith((".csv", ".json", ".xlsx")) else e
                  for e in extra)
    code, _, err = run_cli(capsys, "bundles", "--workspace", shop.root, *extra)
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err
    assert bundle_lists(shop, "shop").empty  # refused before any work
    assert not list(tmp_path.glob("x.*"))


def test_run_writes_shopify_and_refuses_a_bad_combination_first(tmp_path, capsys):
    f = tmp_path / "baskets.csv"
    f.write_text("".join("tea pot,tea cup\n" if i % 2 else "cake tin,candle holder,gift wrap\n"
                         for i in range(60)))
    code, _, err = run_cli(capsys, "run", f, "--workspace", tmp_path / "ws", "--format",
                           "shopify", "--out", tmp_path / "b.csv")
    assert code == 2 and "writes a .json file" in err
    from core.workspace import Workspace

    assert Workspace(tmp_path / "ws").datasets().empty  # refused before the ingest
    out = tmp_path / "b.json"
    code, js, err = run_cli(capsys, "run", f, "--workspace", tmp_path / "ws", "--out", out,
                            "--format", "shopify", "--min-orders", 5, "--no-text",
                            "--allow-variants", "--json")
    assert code == 0, err
    assert js["out"] == str(out)
    inputs = json.loads(out.read_text(encoding="utf-8"))
    check_shopify_shape(inputs)
    assert len(inputs) == js["bundles"] >= 2
