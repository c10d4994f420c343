"""Pair mining rules (core.text.pairs) and the pairs dataset: pure, no model."""

from __future__ import annotations

import pandas as pd
import pytest

from core.baskets import build_baskets
from core.text.pairs import PAIR_COLUMNS, mine_pairs, pairs_dataset
from core.text.variants import variant_key


def _baskets(orders: list[list[str]]):
    lines = pd.DataFrame([(f"o{i}", item) for i, order in enumerate(orders) for item in order],
                         columns=["order_id", "item_id"])
    return build_baskets(lines)


TEXTS = pd.Series({
    "bag_red": "LUNCH BAG RED RETROSPOT", "bag_pink": "LUNCH BAG PINK RETROSPOT",
    "cup": "TEA CUP AND SAUCER", "tin": "CAKE TIN", "plates": "PAPER PLATES",
    "napkins": "PAPER NAPKINS", "star": "CHRISTMAS TREE STAR", "mug": "MUG",
    "a": "GARDEN BASKET", "b": "HERB MARKER MINT", "c": "HERB MARKER BASIL", "d": "GLASS JAR",
    "e": "DOLL HOUSE", "f": "CANDLE HOLDER",
})


def test_pair_columns_are_exactly_anchor_positive_in_order():
    pairs = pd.DataFrame({"positive": ["b", "d"], "cocount": [3, 4], "anchor": ["a", "c"]})
    ds = pairs_dataset(pairs)
    assert ds.column_names == ["anchor", "positive"] == list(PAIR_COLUMNS)
    assert ds[0] == {"anchor": "a", "positive": "b"}


def test_min_cocount_and_positive_pmi():
    orders = ([["plates", "napkins"]] * 3 + [["cup", "tin"]] * 2 +
              [["plates", "mug"], ["napkins", "mug"]] + [["mug"]] * 6 + [["star"]] * 2)
    pairs = mine_pairs(_baskets(orders), TEXTS, min_cocount=3)
    got = {frozenset(p) for p in zip(pairs.anchor_id, pairs.positive_id)}
    assert got == {frozenset({"plates", "napkins"})}  # cup+tin only twice
    assert list(pairs.columns) == ["anchor_id", "positive_id", "anchor", "positive", "cocount",
                                   "pmi", "score"]
    assert pairs.cocount.tolist() == [3]
    assert (pairs.pmi > 0).all()
    assert set(pairs.anchor) | set(pairs.positive) == {"PAPER PLATES", "PAPER NAPKINS"}
    # two items each in every order: lift exactly 1, PMI 0 -> not a pair
    assert mine_pairs(_baskets([["plates", "napkins"]] * 5), TEXTS, min_cocount=1).empty


def test_per_item_cap_stops_a_best_seller_from_dominating():
    others = ["a", "b", "c", "d", "e", "f"]
    orders = [["mug", o] for o in others for _ in range(4)] + [["star"]] * 30
    pairs = mine_pairs(_baskets(orders), TEXTS, min_cocount=2, per_item_cap=2)
    assert len(pairs) == 2
    assert all("mug" in (a, p) for a, p in zip(pairs.anchor_id, pairs.positive_id))
    assert len(mine_pairs(_baskets(orders), TEXTS, min_cocount=2, per_item_cap=10)) == 6
    assert len(mine_pairs(_baskets(orders), TEXTS, min_cocount=2, per_item_cap=10,
                          max_pairs=4)) == 4


def test_variants_are_not_pairs_and_are_deduplicated():
    orders = ([["bag_red", "bag_pink"]] * 5 + [["bag_red", "cup"]] * 4 +
              [["bag_pink", "cup"]] * 3 + [["star"]] * 20)
    pairs = mine_pairs(_baskets(orders), TEXTS, min_cocount=2)
    assert variant_key("LUNCH BAG RED RETROSPOT") == variant_key("lunch bag pink retrospot")
    got = [frozenset(p) for p in zip(pairs.anchor_id, pairs.positive_id)]
    assert frozenset({"bag_red", "bag_pink"}) not in got  # substitutes, not complements
    assert got == [frozenset({"bag_red", "cup"})]  # one pair per variant group, the stronger


def test_identical_texts_of_different_ids_are_not_pairs():
    texts = pd.Series({"x1": "PAPER PLATES", "x2": "paper plates ", "y": "CAKE TIN"})
    orders = [["x1", "x2"]] * 4 + [["x1", "y"]] * 3 + [["z"]] * 10
    pairs = mine_pairs(_baskets(orders), texts, min_cocount=2)
    assert [frozenset(p) for p in zip(pairs.anchor_id, pairs.positive_id)] == [
        frozenset({"x1", "y"})]


def test_orientation_is_seeded_and_every_pair_kept_once():
    orders = [[a, b] for a, b in [("a", "b"), ("c", "d"), ("e", "f"), ("cup", "tin")]
              for _ in range(3)] + [["star"]] * 20
    p1 = mine_pairs(_baskets(orders), TEXTS, min_cocount=2, seed=1)
    p2 = mine_pairs(_baskets(orders), TEXTS, min_cocount=2, seed=1)
    pd.testing.assert_frame_equal(p1, p2)
    assert len({frozenset(p) for p in zip(p1.anchor_id, p1.positive_id)}) == len(p1) == 4


@pytest.mark.parametrize("orders", [[], [["a"]], [["a"], ["b"]]])
def test_no_pairs_from_degenerate_baskets(orders):
    assert mine_pairs(_baskets(orders), TEXTS).empty


def test_rank_by_orders_candidates_before_the_cap():
    # (a, d): 20 orders together, each in 30 -> PMI log(2.2), score 16;
    # (e, f): 3 orders together, each in 3 -> PMI log(33), score 10.5
    orders = ([["a", "d"]] * 20 + [["a"]] * 10 + [["d"]] * 10 + [["e", "f"]] * 3 +
              [["mug"]] * 57)
    first = {rank: frozenset(mine_pairs(_baskets(orders), TEXTS, min_cocount=2, rank_by=rank)
                             [["anchor_id", "positive_id"]].iloc[0])
             for rank in ("score", "cocount", "pmi")}
    assert first == {"score": {"a", "d"}, "cocount": {"a", "d"}, "pmi": {"e", "f"}}
    with pytest.raises(ValueError, match="rank_by"):
        mine_pairs(_baskets(orders), TEXTS, rank_by="lift")


def test_item_codes_as_names_are_not_variants_of_each_other():
    """A file without item names has its ids as names: "P000006" and "P000488" share only the
    lone letter p, which made every pair "variants" and the scale shop's list empty."""
    from core.text.variants import is_variant_pair, variant_flags, variant_key

    assert not is_variant_pair("P000006", "P000488")
    assert not is_variant_pair("A-12", "A-13")
    assert variant_key("P000006") == "p000006"
    assert not variant_flags([(0, 1), (1, 2)], ["P000006", "P000488", "SKU 77"]).any()
    # real names keep their rules
    assert is_variant_pair("LUNCH BAG RED RETROSPOT", "LUNCH BAG PINK POLKADOT")
    assert is_variant_pair("T-LIGHT HOLDER RED", "T-LIGHT HOLDER BLUE")
    assert not is_variant_pair("TEA POT", "TEA CUP")
