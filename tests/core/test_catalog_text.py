"""Item names built from a catalog's descriptive columns when no file has a name column
(core.ingest.catalog_text; issue 18 item 2): a grocery chain's products.csv with
product_id, department, brand, product_category, product_type, package_size and no name."""

from __future__ import annotations

import random

import pytest

from core.ingest import mapping as mp
from core.ingest.catalog_text import add_item_names, name_columns
from core.ingest.check import check
from core.ingest.load import IngestOptions, ingest
from core.ingest.preview import preview

BUILT = "brand+product_type+product_category+package_size"
NOTE = "Item names built from brand + product_type + product_category + package_size"

TYPES = {  # product_category -> (product_type, package_size) pairs
    "SOFT DRINKS": [("SOFT DRINKS 12OZ CAN", "12 OZ"), ("SOFT DRINKS 2 LITER BTL", "2 LTR"),
                    ("SOFT DRINKS 20OZ BTL", "20 OZ")],
    "COFFEE": [("GROUND COFFEE", "12 OZ"), ("WHOLE BEAN COFFEE", "1 LB"),
               ("INSTANT COFFEE", "8 OZ")],
    "BAKED BREAD/BUNS/ROLLS": [("MAINSTREAM WHITE BREAD", "20 OZ"), ("HAMBURGER BUNS", "8 CT")],
    "CHEESE": [("SHREDDED CHEESE", "8 OZ"), ("STRING CHEESE", "12 CT"), ("CREAM CHEESE", "8 OZ")],
    "BAG SNACKS": [("POTATO CHIPS", "10 OZ"), ("TORTILLA CHIPS", "13 OZ")],
    "FROZEN PIZZA": [("PIZZA/PREMIUM", "24 OZ"), ("PIZZA/ECONOMY", "12 OZ")],
    "FLUID MILK PRODUCTS": [("FLUID MILK WHITE ONLY", "1 GA"), ("FLUID MILK WHITE ONLY", "0.5 GA")],
}
DEPARTMENTS = {"FROZEN PIZZA": "GROCERY", "FLUID MILK PRODUCTS": "GROCERY", "CHEESE": "GROCERY",
               "BAKED BREAD/BUNS/ROLLS": "GROCERY", "COFFEE": "GROCERY", "SOFT DRINKS": "GROCERY",
               "BAG SNACKS": "GROCERY"}


def _products(n: int = 200, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        category = rng.choice(sorted(TYPES))
        ptype, size = rng.choice(TYPES[category])
        out.append({"product_id": str(1_000_000 + 137 * k), "department": DEPARTMENTS[category]
                    if k % 10 else "DRUG GM", "brand": rng.choice(["National", "Private"]),
                    "product_category": category, "product_type": ptype, "package_size": size})
    return out


def _csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    return ",".join(columns) + "\n" + "".join(",".join(r[c] for c in columns) + "\n"
                                             for r in rows)


CAT_COLUMNS = ["product_id", "department", "brand", "product_category", "product_type",
               "package_size"]


@pytest.fixture
def grocery(tmp_path):
    """Order lines of ids only (no name column) and a catalog without a name column."""
    products = _products()
    rng = random.Random(3)
    lines = ["household_id,basket_id,product_id,quantity"]
    for basket in range(1, 301):
        for p in rng.sample(products, rng.randint(1, 5)):
            lines.append(f"h{basket % 40},{basket},{p['product_id']},{rng.randint(1, 3)}")
    lines_path = tmp_path / "transactions.csv"
    lines_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cat_path = tmp_path / "products.csv"
    cat_path.write_text(_csv(products, CAT_COLUMNS), encoding="utf-8")
    return lines_path, cat_path, {p["product_id"]: p for p in products}


def expected_name(p: dict[str, str]) -> str:
    return " ".join(p[c] for c in BUILT.split("+"))


def test_ingest_builds_names_from_the_catalog_columns(ws, grocery):
    lines, cat, products = grocery
    s = ingest(ws, lines, catalog=cat)
    assert s["catalog_mapping"]["item_name"] == BUILT
    assert s["catalog_mapping"]["category"] == "product_category"  # still the category
    assert any(n.startswith(NOTE) for n in s["mapping_notes"])
    items = ws.items("transactions").set_index("item_id")
    assert len(items) == len(products)  # sold and catalog-only items
    named = [i for i in items.index if items.loc[i, "item_name"] == expected_name(products[i])]
    assert len(named) == len(items)  # 100% of the items
    assert (items["category"] == [products[i]["product_category"] for i in items.index]).all()
    assert not any("no name" in w for w in s["warnings"])


def test_data_check_and_preview_report_it(ws, grocery):
    lines, cat, _ = grocery
    r = check(ws, lines, catalog=cat)
    assert r["catalog_mapping"]["item_name"] == BUILT
    assert any(n.startswith(NOTE) for n in r["mapping_notes"])
    row = next(e for e in r["explain"] if e["source"] == "catalog" and e["field"] == "item name")
    assert row["column"] == BUILT and "built from" in row["why"]
    assert "item_name" not in {x["field"] for x in r["suggestions"]}
    pv = preview(lines, ws.tmp_dir, catalog=cat)
    assert pv["catalog_mapping"]["item_name"] == BUILT
    assert any(n.startswith(NOTE) for n in pv["mapping_notes"])


def test_an_explicit_mapping_wins(ws, grocery):
    lines, cat, products = grocery
    s = ingest(ws, lines, catalog=cat, options=IngestOptions(
        mapping={"item_name": "department+product_type"}))
    assert s["catalog_mapping"]["item_name"] == "department+product_type"
    assert s["mapping_notes"] == []
    items = ws.items("transactions").set_index("item_id")
    some = items.index[0]
    p = products[some]
    assert items.loc[some, "item_name"] == f"{p['department']} {p['product_type']}"
    # unmapping the field (an empty value) is a choice too: names stay the ids
    s = ingest(ws, lines, catalog=cat, dataset="ids", options=IngestOptions(
        mapping={"item_name": ""}))
    assert "item_name" not in s["catalog_mapping"] and s["mapping_notes"] == []
    assert (ws.items("ids")["item_name"] == ws.items("ids")["item_id"]).all()


def test_a_catalog_with_a_name_column_is_unchanged(ws, grocery, tmp_path):
    lines, _, products = grocery
    rows = [dict(p, product_name=f"Product {p['product_id']}") for p in products.values()]
    cat = tmp_path / "named.csv"
    cat.write_text(_csv(rows, CAT_COLUMNS + ["product_name"]), encoding="utf-8")
    s = ingest(ws, lines, catalog=cat)
    assert s["catalog_mapping"]["item_name"] == "product_name" and s["mapping_notes"] == []
    items = ws.items("transactions")
    assert (items["item_name"] == "Product " + items["item_id"]).all()


def test_order_lines_with_names_are_unchanged(ws, grocery, tmp_path):
    _, cat, products = grocery
    lines = tmp_path / "named_lines.csv"
    lines.write_text("basket_id,product_id,description\n" + "".join(
        f"{k // 3},{pid},Thing {pid}\n" for k, pid in enumerate(list(products)[:30])),
        encoding="utf-8")
    s = ingest(ws, lines, catalog=cat)
    assert "item_name" not in s["catalog_mapping"] and s["mapping_notes"] == []
    assert s["mapping"]["item_name"] == "description"


def test_which_columns_are_taken():
    header = ["sku", "department", "brand", "product_category", "product_type", "package_size",
              "price", "launch", "weight_g", "barcode", "store", "flag", "blurb"]
    rng = random.Random(1)
    rows = []
    for k in range(300):
        rows.append([f"A-{k:05d}", rng.choice(["GROCERY", "PRODUCE"]), rng.choice(["Acme", "Zed"]),
                     rng.choice(["CHIPS", "SODA", "TEA"]), f"TYPE {k % 17} X",
                     rng.choice(["12 OZ", "1 LB"]), f"{rng.uniform(1, 9):.2f}",
                     f"2023-0{1 + k % 9}-1{k % 10}", str(100 + k % 50), f"{4000000 + k}",
                     "", "Y", "x" * 120])
    cols = name_columns(header, rows, skip={"sku"}, mapped={"product_category"})
    # specific first; department ranks last and falls past the cap of 4; numbers, prices,
    # dates, codes, empty/constant columns and long text are left out
    assert cols == ["brand", "product_type", "product_category", "package_size"]
    # a catalog whose only text column is the category: no built names
    assert name_columns(["id", "category", "price"], [[str(k), f"C{k % 3} x", "1.5"]
                                                     for k in range(20)],
                        skip={"id"}, mapped={"category"}) == []


def test_detection_left_alone_when_a_name_exists():
    det = mp.detect(["basket", "sku"], ["sku", "title", "product_type"])
    add_item_names(det, ["sku", "title", "product_type"], [["1", "A", "B"], ["2", "C", "D"]])
    assert det.catalog["item_name"] == ["title"] and det.notes == []


def test_bundle_names_of_built_grocery_names_say_the_products():
    """Built names (brand, type, category, package size) give bundle names that end on the
    products: not on the package size ("OZ: ..."), not a row of brands."""
    from core.bundles.naming import short_name

    coffee = short_name(["National GROUND COFFEE COFFEE 12 OZ",
                         "Private MAINSTREAM WHITE BREAD BAKED BREAD/BUNS/ROLLS 20 OZ",
                         "National STRING CHEESE CHEESE 12 CT"])
    assert coffee == "COFFEE + BAKED BREAD/BUNS/ROLLS + CHEESE", coffee
    pizza = short_name(["National PIZZA/PREMIUM FROZEN PIZZA 24 OZ",
                        "Private PIZZA/ECONOMY FROZEN PIZZA 12 OZ"])
    assert "OZ" not in pizza and "PIZZA/PREMIUM" in pizza and "PIZZA/ECONOMY" in pizza, pizza
    mixed = short_name(["Sunrise Cotton Coaster 52 OZ", "National Enamel Ribbon 34 OZ"])
    assert "OZ" not in mixed and "Coaster" in mixed and "Ribbon" in mixed, mixed
    doubled = short_name(["Sunrise COTTON BLUE COASTER COASTER 52 OZ",
                          "National ENAMEL WHITE RIBBON RIBBON 34 OZ"])
    assert "COASTER COASTER" not in doubled and "RIBBON RIBBON" not in doubled, doubled
