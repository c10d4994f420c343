"""Variant detection for Chinese names (core.text.variants, core.text.cjk): Chinese colour, size,
pack, unit and 规格/型号 words, segmentation of Han runs, the brand-in-brackets rule and the
negative cases (different dishes and drugs that share characters)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.baskets import build_baskets
from core.text.cjk import cjk_bigram_similarity
from core.text.pairs import mine_pairs
from core.text.variants import (CJK_COLOUR_WORDS, CJK_PACK_WORDS, CJK_SIZE_WORDS, CJK_UNIT_WORDS,
                                cjk_core, is_variant_pair, variant_flags, variant_key,
                                variant_tokens)


@pytest.mark.parametrize("a, b", [
    ("红色剪刀", "蓝色剪刀"),                       # colours
    ("剪刀 深蓝色", "剪刀红色"),                     # a shade, and a colour glued to the name
    ("保温杯 咖啡色", "保温杯 透明"),
    ("白饭/大碗", "白饭/小碗"),                     # restaurant portions
    ("收纳盒大号", "收纳盒小号"),                   # sizes
    ("T恤 大码", "T恤 均码"),
    ("奶茶(大杯)", "奶茶(小杯)"),
    ("维生素C片 100片装", "维生素C片 60片装"),       # units after a number
    ("可乐 500ml", "可乐 1L"),
    ("矿泉水550毫升", "矿泉水1.5升"),
    ("钙片 100片/瓶", "钙片 60片/瓶"),
    ("大米 5公斤 袋装", "大米 10斤"),
    ("剪刀 规格:大", "剪刀 规格:小"),               # 规格/型号 labels and their values
    ("剪刀型号A", "剪刀型号B"),
    ("插座 型号:XL-200", "插座"),
    ("苯磺酸氨氯地平片(安内真)", "苯磺酸氨氯地平片(络活喜)"),   # one drug, two brands
    ("替米沙坦片", "KG替米沙坦片(欧美宁)(6盒/疗程)"),       # shop code, brand and pack
    ("x阿司匹林", "阿司匹林"),
    ("心痛定", "硝苯地平片(心痛定)"),               # the brand alone names the drug
    ("氨加黄敏胶囊", "氨加黄敏胶囊(请报77504)"),
])
def test_chinese_variants(a, b):
    assert is_variant_pair(a, b) and is_variant_pair(b, a)


@pytest.mark.parametrize("a, b", [
    ("红烧肉", "白饭"),            # a lone 红 or 白 is no colour
    ("红烧肉", "烧肉"),
    ("白斩鸡", "鸡"),
    ("红茶", "绿茶"),
    ("宫保鸡丁", "辣子鸡丁"),      # dishes sharing characters are different products
    ("凉拌菠菜", "凉拌黄瓜"),
    ("宫保鸡丁", "麻婆豆腐"),
    ("宫保鸡丁", "米饭"),
    ("清蒸海鱼", "清蒸蝶鱼"),
    ("大盘鸡", "小盘鸡"),          # 大盘 is part of the dish, not a size
    ("紫甘蓝色拉", "紫甘蓝"),      # 色拉 is salad, not a colour
    ("尼群地平片", "尼莫地平片"),  # two drugs one character apart
    ("厄贝沙坦氢氯噻嗪片(安博诺)", "缬沙坦氢氯噻嗪片(复代文)"),
    ("苯磺酸左旋氨氯地平片(施慧达)", "苯磺酸氨氯地平片(兰迪)"),
    ("维生素C片", "维生素E片"),
    ("强力VC银翘片", "维C银翘片"),
    ("红色", "蓝色"),              # nothing but variant words: only the same text
    ("大号", "小号"),
])
def test_chinese_non_variants(a, b):
    assert not is_variant_pair(a, b) and not is_variant_pair(b, a)


def test_segmentation_and_keys():
    assert variant_tokens("红色剪刀") == {"剪刀"}
    assert variant_tokens("维生素C片 100片装") == {"维生素", "c", "片"}
    assert variant_tokens("苯磺酸氨氯地平片(络活喜)") == {"苯磺酸氨氯地平片", "络活喜"}
    assert variant_key("白饭/大碗") == variant_key("白饭/小碗") == "白饭"
    assert variant_key("哈尔滨啤酒罐装") == "哈尔滨啤酒"
    assert variant_key("38度剑南春") == "剑南春"
    # a number without a unit, or a unit without a number, stays
    assert variant_key("阿司匹林片") == "阿司匹林片"
    assert variant_key("三色凉拌手撕兔") == "三色凉拌手撕兔"
    assert cjk_core("G硝苯地平缓释片(II)(6盒/疗程)") == ("硝苯地平缓释片",)
    assert cjk_core("T恤") == ("t", "恤")  # one letter before a short name is no shop code
    assert cjk_core("LUNCH BAG RED") == ()


def test_word_lists():
    assert {"红色", "咖啡色", "藏青色", "透明"} <= CJK_COLOUR_WORDS
    assert {"大号", "特大号", "均码", "大碗", "小碗", "大杯"} <= CJK_SIZE_WORDS
    assert {"盒装", "袋装", "瓶装"} <= CJK_PACK_WORDS
    assert {"毫升", "升", "克", "片", "粒"} <= CJK_UNIT_WORDS
    assert "红" not in CJK_COLOUR_WORDS and "白" not in CJK_COLOUR_WORDS


def test_codes_and_names_without_letters_are_unchanged():
    assert variant_tokens("12345") == frozenset() and variant_key("12345") == "12345"
    assert not is_variant_pair("12345", "12346")
    assert not is_variant_pair("P000006", "P000488")
    assert variant_tokens("12粒") == frozenset()  # a lone character, as before
    assert not variant_flags([(0, 1), (1, 2)], ["P000006", "P000488", "4711"]).any()


def test_bigram_similarity():
    assert cjk_bigram_similarity("宫保鸡丁", "宫保鸡丁") == 1.0
    assert cjk_bigram_similarity("凉拌菠菜", "凉拌黄瓜") == pytest.approx(1 / 3)
    assert cjk_bigram_similarity("尼群地平片", "尼莫地平片") == pytest.approx(0.5)
    assert cjk_bigram_similarity("茶", "茶") == 1.0  # single characters compare as characters
    assert cjk_bigram_similarity("TEA", "茶") == 0.0


def test_variant_flags_on_chinese_names():
    names = ["红色剪刀", "蓝色剪刀", "宫保鸡丁", "米饭"]
    assert variant_flags([(0, 1), (2, 3), (0, 2)], names).tolist() == [True, False, False]


def _lines(orders):
    return pd.DataFrame([(f"o{n}", item) for n, order in enumerate(orders) for item in order],
                        columns=["order_id", "item_id"])


def test_mine_pairs_keeps_chinese_complements_and_drops_colour_variants():
    names = {"gb": "宫保鸡丁", "rice": "米饭", "red": "红色剪刀", "blue": "蓝色剪刀",
             "tape": "透明胶带", "mp": "麻婆豆腐"}
    orders = ([["gb", "rice"]] * 5 + [["red", "blue"]] * 5 + [["red", "tape"]] * 4 +
              [["mp"]] * 20)
    got = mine_pairs(build_baskets(_lines(orders)), pd.Series(names), min_cocount=3)
    pairs = {frozenset(p) for p in zip(got.anchor_id, got.positive_id)}
    assert frozenset({"gb", "rice"}) in pairs  # bought together: complements
    assert frozenset({"red", "blue"}) not in pairs  # one product in two colours
    assert frozenset({"red", "tape"}) in pairs


_RESTAURANT = Path("/work/shared/datasets/restaurant_cn/meal_order_detail.csv.gz")


@pytest.mark.skipif(not _RESTAURANT.exists(), reason=f"{_RESTAURANT} is not on this machine")
def test_restaurant_dishes_sharing_characters_are_not_variants():
    import itertools

    dishes = pd.read_csv(_RESTAURANT, usecols=["dishes_name"]).dishes_name.dropna().unique()
    found = {frozenset(p) for p in itertools.combinations(sorted(map(str, dishes)), 2)
             if is_variant_pair(*p)}
    assert frozenset({"白饭/大碗", "白饭/小碗"}) in found
    assert len(found) <= 2  # (+ maybe a traditional/simplified spelling of one dish)
