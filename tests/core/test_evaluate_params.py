"""Evaluation settings are checked before any data is read, with one message listing every
problem (the ``__post_init__`` style of all parameter dataclasses)."""

from __future__ import annotations

import pytest

from core.errors import BundleLabError
from core.evaluate.run import BLOCKS, EvalParams, evaluate


def test_eval_params_list_every_problem():
    with pytest.raises(BundleLabError, match=r"top=0, blocks=\('bundels',\) \(top >= 1, blocks "
                       r"among embeddings, bundles, recommender\)"):
        EvalParams(top=0, blocks=("bundels",))
    assert EvalParams(blocks=()).blocks == ()  # nothing chosen on the page: nothing runs
    assert [n for n, _ in BLOCKS] == ["embeddings", "bundles", "recommender"]


def test_unknown_block_fails_before_the_data_is_read(ws):
    with pytest.raises(BundleLabError, match="evaluation setting"):
        evaluate(ws, "no-such-dataset", blocks=["bundels"])
