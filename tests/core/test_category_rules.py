"""Issue 16, item 3: rules between categories (or rough product types), the CLI's
``mine --level category``, and which category combinations drive the item bundles."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.bundles.drivers import category_drivers, driver_summary
from core.errors import BundleLabError
from core.ingest.load import ingest
from core.rules.association import RuleParams
from core.rules.levels import item_groups, product_types
from core.rules.mining import mine

ITEMS = {"p1": ("PAPER PLATES", "party"), "p2": ("PAPER CUPS", "party"),
         "t1": ("TEA CUP", "kitchen"), "t2": ("CAKE TIN", "kitchen"),
         "g1": ("GARDEN BASKET", "garden"), "g2": ("HERB MARKER", "garden")}
# party and kitchen together in 4 of 10 orders; party alone 2, kitchen alone 2, garden 2
ORDERS = ([["p1", "t1"]] * 2 + [["p2", "t2"], ["p1", "p2", "t2"]] + [["p1"], ["p2"]]
          + [["t1"], ["t2", "t1"]] + [["g1", "g2"]] * 2)


def write(path, with_category=True):
    rows = [{"order_id": f"o{i}", "item_id": item, "item_name": ITEMS[item][0],
             **({"category": ITEMS[item][1]} if with_category else {}), "quantity": 1}
            for i, order in enumerate(ORDERS) for item in order]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, write(tmp_path / "shop.csv"), dataset="shop")
    return ws


def test_product_types_take_the_head_noun():
    names = pd.Series(["JUMBO BAG RED RETROSPOT", "LUNCH BAG PINK POLKADOT", "LUNCH BOX SPACEBOY",
                       "GIFT BOX", "CAKE BOX", "TRINKET BOX", "TEA BOX", "SPACEBOY BIRTHDAY CARD",
                       "WHITE HANGING HEART T-LIGHT HOLDER", "HOME SWEET HOME METAL SIGN",
                       "PAPER CHAIN KIT VINTAGE CHRISTMAS", "CHRISTMAS CARDS", "宫保鸡丁", None])
    types = product_types(names)
    # the most common word: BOX in 6 names against SPACEBOY in 2; ties go to the later word
    assert types[:12].tolist() == ["BAG", "BAG", "BOX", "BOX", "BOX", "BOX", "BOX", "CARD",
                                   "HOLDER", "SIGN", "KIT", "CARD"]  # CARDS folded into CARD
    assert types[12:].isna().all()


def test_groups_from_categories_product_types_or_a_clear_error():
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "item_name": ["X CUP", "Y CUP", "Z MUG"],
                          "category": ["drink", None, "drink"]})
    groups = item_groups(items)
    assert groups.of == {"a": "drink", "c": "drink"} and "1 items without one" in groups.note
    typed = item_groups(items.drop(columns="category"), "shop")
    assert typed.of == {"a": "CUP", "b": "CUP", "c": "MUG"} and "product types" in typed.note
    chinese = pd.DataFrame({"item_id": ["a", "b"], "item_name": ["宫保鸡丁", "米饭"]})
    with pytest.raises(BundleLabError, match="category column"):
        item_groups(chinese, "dishes")


def test_category_rules_counted_by_hand(shop):
    result = mine(shop, "shop", rules=RuleParams(min_confidence=0.0, min_lift=0.0),
                  level="category")
    assert result.level == "category" and "3 categories" in result.note
    rule = result.rules[(result.rules["antecedents"].map(tuple) == ("party",))
                        & (result.rules["consequents"].map(tuple) == ("kitchen",))].iloc[0]
    # party in 6 orders, kitchen in 6, both in 4, of 10: confidence 4/6, lift 0.4/0.36
    assert rule["orders_together"] == 4
    assert rule["confidence"] == pytest.approx(4 / 6)
    assert rule["lift"] == pytest.approx(0.4 / 0.36)
    # the item level is mined and cached apart from the category level
    items = mine(shop, "shop", rules=RuleParams(min_confidence=0.0, min_lift=0.0))
    assert items.level == "item" and "p1" in set(items.rules["antecedents"].map(tuple).sum())


def test_cli_mine_level_category(shop, capsys):
    from core.cli.main import main

    assert main(["mine", "--workspace", str(shop.root), "--dataset", "shop", "--level",
                 "category", "--min-support", "2", "--min-confidence", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["level"] == "category" and "categories" in out["note"]
    assert out["itemsets"] == {"1": 3, "2": 1}


def test_category_drivers_of_bundles(shop):
    bundles = pd.DataFrame({"bundle_id": ["B001", "B002"], "name": ["Plates + Tea Cup",
                                                                   "Plates + Cups"],
                            "items": [["p1", "t1"], ["p1", "p2"]]})
    table, note = category_drivers(shop, "shop", bundles)
    first, second = table.iloc[0], table.iloc[1]
    assert first["categories"] == "kitchen + party" and first["category_orders"] == 4
    assert first["category_lift"] == pytest.approx(0.4 / 0.36, abs=1e-3)
    assert pd.isna(second["categories"])  # one category: no combination
    summary = driver_summary(table)
    assert summary["categories"].tolist() == ["kitchen + party"]
    assert summary["bundles"].tolist() == [1] and "categories" in note
