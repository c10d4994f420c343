"""Bundle names (``core.bundles.naming.bundle_names``): short, distinct within the list, and made
of the items' own words: the product the items share, then what tells them apart ("Tea Cups:
Pink + Blue"), else each item's head noun ("Milk + String Cheese", not the shared adjectives
"Organic Whole"); UPPER CASE names in title case, Chinese names by their distinguishing
characters, id-only names as "Item 13176". The real list: the 50 bundles of the bundled UCI
sample (2011 Q1)."""

from __future__ import annotations

import re

import pytest

from core.bundles.naming import NAME_CHARS, bundle_names, short_name, width
from tests.conftest import SAMPLE

YOGURTS = [["Icelandic Style Skyr Blueberry Non-fat Yogurt",
            "Non Fat Icelandic Style Strawberry Yogurt"],
           ["Icelandic Style Skyr Vanilla Non-fat Yogurt",
            "Non Fat Icelandic Style Raspberry Yogurt"]]
MILK = ["Organic Whole Milk", "Organic Whole String Cheese"]
# item lists of bundles in the UCI sample's list, with the names they get
UCI = {
    ("SPACEBOY LUNCH BOX", "DOLLY GIRL LUNCH BOX"): "Lunch Box: Spaceboy + Dolly Girl",
    ("SET/6 RED SPOTTY PAPER PLATES", "SET/6 RED SPOTTY PAPER CUPS"):
        "Red Spotty Paper: Plates + Cups",
    ("JUMBO BAG RED RETROSPOT", "JUMBO  BAG BAROQUE BLACK WHITE"):
        "Jumbo Bag: Red Retrospot + Baroque Black",
    ("SET OF 3 HEART COOKIE CUTTERS", "SET OF 3 BUTTERFLY COOKIE CUTTERS"):
        "Cookie Cutters: Heart + Butterfly",
    ("RECYCLING BAG RETROSPOT", "TOY TIDY PINK POLKADOT"): "Recycling Bag + Toy Tidy",
    ("PARTY BUNTING", "TEA TIME PARTY BUNTING"): "Party Bunting + Tea Time Party Bunting",
    ("PLEASE ONE PERSON METAL SIGN", "HAND OVER THE CHOCOLATE   SIGN",
     "LADIES & GENTLEMEN METAL SIGN"): "Sign: Please One + Hand Over + Ladies",
    ("WHITE HANGING HEART T-LIGHT HOLDER", "REGENCY CAKESTAND 3 TIER",
     "GREEN REGENCY TEACUP AND SAUCER"): "T-Light Holder + Cakestand Tier + Saucer",
}


def keys(text: str) -> set[str]:
    return {k.lower() for k in re.findall(r"[^\W_]+", text)}


def made_of_item_words(name: str, items) -> bool:
    """Every word of the name is a whole word of one of the items (or "Item(s)" of an id, or
    "+ 2 more" for the items that do not fit)."""
    return keys(re.sub(r"\+ \d+ more$", "", name)) <= keys(" ".join(items)) | {"item", "items"}


def test_shared_adjectives_do_not_name_the_bundle():
    assert bundle_names([MILK]) == ["Milk + String Cheese"]
    # a shared product noun does: "Tea Cups: Pink + Blue"
    assert bundle_names([["Pink Tea Cups", "Blue Tea Cups"]]) == ["Tea Cups: Pink + Blue"]


def test_two_yogurt_bundles_get_two_names_with_their_flavours():
    names = bundle_names(YOGURTS + [MILK])
    assert names == ["Icelandic Yogurt: Blueberry + Strawberry",
                     "Icelandic Yogurt: Vanilla + Raspberry", "Milk + String Cheese"]
    for name, items in zip(names, YOGURTS + [MILK]):
        assert width(name) <= NAME_CHARS and made_of_item_words(name, items)
        assert name.count(":") <= 1  # no "X: A + B: A + B"


def test_the_same_name_twice_is_told_apart_by_item_words_then_ids():
    polka = [["BLUE POLKADOT BOWL", "BLUE POLKADOT PLATE"],
             ["PINK POLKADOT BOWL", "PINK POLKADOT PLATE"]]
    assert bundle_names(polka) == ["Bowl + Plate (Blue)", "Bowl + Plate (Pink)"]
    # UCI has one description under two stock codes: only the ids differ
    same = [["TEA POT", "SUGAR BOWL"], ["TEA POT", "SUGAR BOWL"]]
    names = bundle_names(same, item_ids=[["22423", "21137"], ["22424", "21137"]])
    assert names == ["Tea Pot + Sugar Bowl (22423)", "Tea Pot + Sugar Bowl (22424)"]
    assert not any("#" in n for n in names)


def test_upper_case_names_in_title_case_and_cut_at_words():
    names = bundle_names([list(k) for k in UCI])
    assert names == list(UCI.values())
    for name, items in zip(names, UCI):
        assert not [w for w in re.findall(r"[A-Za-z]{2,}", name) if w.isupper()]
        assert made_of_item_words(name, items)  # no word cut in half
    long = ["WHITE HANGING HEART T-LIGHT HOLDER", "PINK HEART SHAPE EGG FRYING PAN",
            "SET OF 3 CAKE TINS PANTRY DESIGN", "ASSORTED COLOUR BIRD ORNAMENT"]
    for limit in (40, 25, 15, 8):
        name = bundle_names([long], limit=limit)[0]
        assert 0 < width(name) <= limit and made_of_item_words(name, long), (limit, name)
        assert not re.search(r"[+:&]$", name)
    # more items than fit: the first ones by their nouns, and how many more
    groceries = ["Organic Bananas", "Organic Strawberries", "Large Lemon", "Organic Hass Avocado",
                 "Organic Baby Spinach", "Limes"]
    assert short_name(groceries) == "Bananas + Strawberries + Lemon + 3 more"


def test_chinese_names():
    assert bundle_names([["强力VC银翘片", "清热解毒口服液"]]) == ["强力VC银翘片 + 清热解毒口服液"]
    # the product form all share first, the brand all share left out
    assert bundle_names([["板蓝根颗粒", "999感冒灵颗粒"], ["同仁堂六味地黄丸", "同仁堂乌鸡白凤丸"]]) == \
        ["颗粒: 板蓝根 + 999感冒灵", "六味地黄丸 + 乌鸡白凤丸"]
    # too wide (a CJK character is two columns): bracketed pack sizes go, then the last items
    # ("+ 2 more"), then the rest of a long name ("…"); what is shown starts as the item does
    long = ["复方氨酚烷胺胶囊（感康）", "维C银翘片（强力型，24片）", "999感冒灵颗粒（10袋）",
            "连花清瘟胶囊"]
    dishes = ["白饭/大碗", "凉拌菠菜", "谷稻小庄", "蒙古烤羊腿"]  # restaurant_cn
    juice = ["农夫山泉NFC果汁100%橙汁", "苯磺酸氨氯地平片(络活喜)"]
    names = bundle_names([long, dishes, juice])
    assert names == ["复方氨酚烷胺胶囊 + 维C银翘片 + 2 more", "白饭/大碗 + 凉拌菠菜 + 谷稻小庄 + 1 more",
                     "农夫山泉NFC果汁100%… + 苯磺酸氨氯地平片"]
    for name, items in zip(names, [long, dishes, juice]):
        assert width(name) <= NAME_CHARS
        shown = [p for p in name.split(" + ") if not p.endswith(" more")]
        assert all(it.startswith(p.rstrip("…")) for p, it in zip(shown, items))


def test_id_only_names():
    assert bundle_names([["13176", "21137"], ["85123A", "TEA POT"]]) == \
        ["Item 13176 + Item 21137", "Item 85123A + Tea Pot"]
    ids = ["13176", "21137", "22423", "85123A", "84879"]
    name = short_name(ids)
    assert name.startswith("Items 13176 + 21137") and width(name) <= NAME_CHARS


def test_one_bundle_contract_kept():
    assert NAME_CHARS <= 40  # a table cell, a promotion title
    assert short_name(["TEA POT", "SUGAR BOWL"]) == "Tea Pot + Sugar Bowl"
    assert bundle_names([]) == []


@pytest.fixture(scope="module")
def sample_list(tmp_path_factory):
    from core.bundles import BundleParams, build_for_dataset
    from core.ingest.load import ingest
    from core.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("names") / "ws")
    ingest(ws, SAMPLE / "online_retail_2011Q1.csv.gz", dataset="sample")
    return build_for_dataset(ws, "sample", BundleParams(text=False), save=False,
                             record=False).bundles


def test_uci_sample_list_names_are_short_distinct_and_from_the_items(sample_list):
    names, items = sample_list["name"].tolist(), sample_list["item_names"].tolist()
    assert len(names) == 50
    assert len({n.casefold() for n in names}) == len(names), names
    too_long = [n for n in names if width(n) > NAME_CHARS]
    assert not too_long
    assert all(made_of_item_words(n, it) for n, it in zip(names, items)), \
        [(n, it) for n, it in zip(names, items) if not made_of_item_words(n, it)]
    assert names == bundle_names(items, item_ids=sample_list["items"].tolist())
    # the bundles above come from this list
    listed = {tuple(it) for it in items}
    assert sum(k in listed for k in UCI) >= 6
