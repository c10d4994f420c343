"""Variant detection (core.text.variants): one definition for the fine-tuning pairs and the
bundles; plus the small shared pieces around the text stage (latest metrics, env overrides)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.baskets import build_baskets
from core.errors import BundleLabError
from core.text.pairs import mine_pairs
from core.text.variants import (COLOUR_WORDS, SIZE_WORDS, VARIANT_SIMILARITY, is_variant_pair,
                                variant_key)


def test_one_definition_for_pairs_and_bundles():
    import core.bundles.candidates as candidates
    import core.text.pairs as pairs

    assert pairs.is_variant_pair is candidates.is_variant_pair is is_variant_pair


def test_word_list_is_the_union_of_the_old_lists():
    # patterns (once bundles-only) and pack words (once pairs-only) make variants everywhere
    assert {"retrospot", "polkadot", "assorted", "lavender"} <= COLOUR_WORDS
    assert {"pcs", "pieces", "jumbo", "cm"} <= SIZE_WORDS
    assert variant_key("LUNCH BAG RED RETROSPOT") == variant_key("lunch bag pink polkadot")
    assert variant_key("SET/6 PAPER CUPS") == variant_key("PAPER CUPS 12 PCS") == "cups paper"
    assert variant_key("60x40cm SHELF") == "shelf"


def test_keys_of_other_scripts_and_of_colour_only_names():
    # letters of any script are words; numbers and units are not
    assert variant_key("阿莫西林胶囊 0.25g*24粒") == variant_key("阿莫西林胶囊 0.5g*12粒")
    assert variant_key("强力VC银翘片") != variant_key("维C银翘片")
    # nothing but colour/size words: the text itself, so only the same text is a variant
    assert variant_key(" RED  Set ") == "red set"
    assert is_variant_pair("RED", "red") and not is_variant_pair("RED", "BLUE")


def test_variant_pair_rules_and_threshold():
    assert is_variant_pair("ROSES REGENCY TEACUP", "GREEN REGENCY TEACUP")  # one design word
    assert not is_variant_pair("JUMBO BAG", "LUNCH BAG RED RETROSPOT")  # a one-word key: no rule
    assert not is_variant_pair("TEA POT", "TEA CUP", VARIANT_SIMILARITY - 0.01)
    assert is_variant_pair("TEA POT", "TEA CUP", VARIANT_SIMILARITY)


def test_pairs_detect_variants_on_names_not_categories():
    """A shared category word is no evidence of one product: with the names given, "LUNCH BAG
    RED RETROSPOT (bags)" and "JUMBO BAG (bags)" stay a pair, as the bundles would see them."""
    texts = pd.Series({"l": "LUNCH BAG RED RETROSPOT (bags)", "j": "JUMBO BAG (bags)",
                       "x": "GLASS JAR (kitchen)"})
    names = pd.Series({"l": "LUNCH BAG RED RETROSPOT", "j": "JUMBO BAG", "x": "GLASS JAR"})
    lines = pd.DataFrame([(f"o{i}", item) for i, order in enumerate([["l", "j"]] * 3 + [["x"]] * 5)
                          for item in order], columns=["order_id", "item_id"])
    b = build_baskets(lines)
    assert mine_pairs(b, texts, min_cocount=2).empty  # by texts: one design word apart
    got = mine_pairs(b, texts, min_cocount=2, names=names)
    assert {frozenset(p) for p in zip(got.anchor_id, got.positive_id)} == {frozenset("lj")}
    assert set(got.anchor) | set(got.positive) == set(texts[["l", "j"]])  # trained on texts


def test_latest_metrics_newest_run_with_the_block(ws, tmp_path):
    from core.ingest.load import ingest
    from core.runs import latest_metrics

    csv = tmp_path / "o.csv"
    csv.write_text("order_id,item_id\n1,a\n1,b\n2,a\n")
    ingest(ws, csv, dataset="s")
    assert latest_metrics(ws, "s", "embeddings") is None
    ws.record_run("s", "evaluate", params={}, seconds=1, metrics={"cut": "2011-01-01",
                                                                   "embeddings": {"x": 1}})
    ws.record_run("s", "evaluate", params={}, seconds=1, metrics={"recommender": {"y": 2}})
    block, about = latest_metrics(ws, "s", "embeddings")
    assert block == {"x": 1} and about["cut"] == "2011-01-01"
    assert set(about) == {"cut", "created_at", "data_version"}
    assert latest_metrics(ws, "s", "recommender")[0] == {"y": 2}
    assert latest_metrics(ws, "s", "embeddings", kind="bundles") is None


def test_finetune_env_overrides(monkeypatch):
    from core.text import default_params

    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "5")
    monkeypatch.setenv("BUNDLELAB_FINETUNE_PAIRS", "64")
    assert (default_params().seconds, default_params().max_pairs) == (5.0, 64)
    monkeypatch.setenv("BUNDLELAB_FINETUNE_PAIRS", "many")
    with pytest.raises(BundleLabError, match=r"BUNDLELAB_FINETUNE_PAIRS='many' is not a whole"):
        default_params()
