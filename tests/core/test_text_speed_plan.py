"""The text stage's plans and cost model (core.text.plan, core.text.speed), variant flags read
from lazily given vectors (core.text.variants.variant_flags) and torch's threads while the text
models run (core.text.runtime). Pure or nearly: no model is loaded here."""

from __future__ import annotations

import numpy as np
import pytest

from core.text.params import FinetuneParams
from core.text.plan import BUDGET_SHARE, estimate_text_seconds, plan_training
from core.text.speed import STEP_OVERHEAD, PairCosts, TextSpeed, batch_shapes
from core.text.variants import is_variant_pair, variant_flags

SPEED = TextSpeed("cpu", 2, text_a=1e-3, text_b=1e-4, tok_a=1e-3, tok_b=2e-4, step_seconds=1.0,
                  load_seconds=2.0, setup_seconds=1.0, save_seconds=0.5, step_passes=3.0)


# ---------------------------------------------------------------------------- training plans
def test_everything_fits_all_pairs_all_epochs():
    plan = plan_training(300, FinetuneParams(), 0.5)  # 5 steps a pass, 4 passes: 10 s
    assert (plan.pairs, plan.epochs, plan.steps) == (300, 4, 20)
    assert plan.seconds == pytest.approx(10.0) and not plan.limited
    assert plan.why.startswith("300 co-purchase pairs with signal, 4 epochs, 20 steps, about 10 s")


def test_a_slow_machine_keeps_the_epochs_over_the_strongest_whole_batches():
    params = FinetuneParams(seconds=100.0)
    plan = plan_training(1536, params, 2.0)  # all: 96 steps = 192 s, over the budget
    assert plan.epochs == 4 and plan.pairs % 64 == 0 and plan.pairs < 1536
    assert plan.seconds <= params.seconds * BUDGET_SHARE
    assert plan.seconds + 4 * 2.0 > params.seconds * BUDGET_SHARE  # the most batches that fit
    assert plan.limited and "the strongest" in plan.why and "over the 100 s budget" in plan.why


def test_not_one_batch_a_pass_fits_fewer_epochs_of_one_batch():
    plan = plan_training(1536, FinetuneParams(seconds=10.0), 4.0)  # 8.5 s: two steps fit
    assert (plan.pairs, plan.epochs, plan.steps) == (64, 2, 2) and plan.limited
    tiny = plan_training(1536, FinetuneParams(seconds=1e-6), 4.0)  # nothing fits: one step
    assert (tiny.pairs, tiny.epochs, tiny.steps) == (64, 1, 1)


def test_plan_reads_the_cost_of_the_pairs_it_keeps():
    calls = []

    def epoch(k):  # the strongest pairs come first; a pass costs 0.01 s a pair
        calls.append(k)
        return 0.01 * k

    plan = plan_training(1000, FinetuneParams(seconds=20.0), epoch)
    assert plan.pairs == 384 and plan.epochs == 4  # 4 * 3.84 s = 15.4 s <= 17 s; 448 does not
    assert plan.seconds == pytest.approx(4 * 3.84) and all(k <= 1000 for k in calls)


def test_estimates_add_up_and_skip_training_costs_without_training():
    texts = ["tea cup", "garden spade and fork"]
    est = estimate_text_seconds(texts, 12.0, SPEED)
    parts = est["parts"]
    assert parts == {"load": 2.0, "setup": 1.0, "train": 12.0, "save": 0.5,
                     "encode": pytest.approx(2e-3 + 1e-4 * 28, abs=0.01)}
    assert est["finetune"] == pytest.approx(15.5) and est["total"] == pytest.approx(
        15.5 + parts["encode"], abs=0.01)
    only = estimate_text_seconds(1000, 0, SPEED)
    assert only["finetune"] == 0 and only["encode"] == pytest.approx(1000 * (1e-3 + 30e-4))
    assert estimate_text_seconds(10, 0, SPEED, load_encoder=True)["encode"] > 2.0


# ---------------------------------------------------------------------------- batches
def test_batches_hold_no_text_twice_and_shrink_when_few_items():
    keys_a = [f"item {i % 5}" for i in range(40)]  # 5 anchors, 40 distinct positives
    keys_p = [f"other {i}" for i in range(40)]
    tokens = np.arange(40) % 7 + 3
    shapes = batch_shapes(tokens, tokens, keys_a, keys_p, batch_size=16)
    assert len(shapes) == 3  # the trainer's steps a pass: ceil(40 / 16)
    assert all(size <= 5 for size, _, _ in shapes)  # an anchor text once a batch
    free = batch_shapes(tokens, tokens, keys_p, [k + "!" for k in keys_p], batch_size=16)
    assert [s[0] for s in free] == [16, 16, 8]
    assert all(longest <= 9 for _, longest, _ in free)


def test_batch_sizes_follow_sentence_transformers_sampler():
    from datasets import Dataset
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

    rng = np.random.default_rng(1)
    anchors = [f"item {i}" for i in rng.integers(0, 30, 300)]
    positives = [f"item {i}" for i in rng.integers(30, 90, 300)]
    data = Dataset.from_dict({"anchor": anchors, "positive": positives})
    real = list(NoDuplicatesBatchSampler(data, batch_size=32, drop_last=False, seed=0))
    real = real[:len(NoDuplicatesBatchSampler(data, batch_size=32, drop_last=False))]
    tokens = np.full(300, 4)
    ours = batch_shapes(tokens, tokens, anchors, positives, batch_size=32)
    assert len(ours) == len(real) == 10
    assert np.mean([s[0] for s in ours]) == pytest.approx(np.mean([len(b) for b in real]),
                                                          rel=0.2)


def test_pair_costs_grow_with_pairs_and_length():
    short = PairCosts(np.full(128, 5), np.full(128, 5), [f"a{i}" for i in range(128)],
                      [f"p{i}" for i in range(128)], batch_size=64)
    assert short.epoch_seconds(64, SPEED) == pytest.approx(SPEED.batch_seconds(64, 5, 5))
    assert short.epoch_seconds(128, SPEED) == pytest.approx(2 * short.epoch_seconds(64, SPEED))
    assert SPEED.batch_seconds(64, 20, 20) > SPEED.batch_seconds(64, 5, 5) > STEP_OVERHEAD


# ---------------------------------------------------------------------------- variant flags
class Rows:
    """Vectors given on demand, recording what was asked."""

    def __init__(self, vectors):
        self.vectors, self.asked = vectors, []

    def __len__(self):
        return len(self.vectors)

    def rows(self, idx):
        self.asked.append(list(idx))
        return self.vectors[idx]


def _brute(sets, names, vectors, threshold):
    return np.array([any(is_variant_pair(names[a], names[b],
                                         float(vectors[a] @ vectors[b]) if vectors is not None
                                         else 0.0, threshold)
                         for x, a in enumerate(s) for b in s[x + 1:]) for s in sets])


def test_variant_flags_match_the_pairwise_rule_and_read_rows_once():
    rng = np.random.default_rng(0)
    names = np.array(["LUNCH BAG RED", "LUNCH BAG PINK", "TEA CUP", "CAKE STAND",
                      "GARDEN SPADE", "PAPER PLATES", "PAPER CUPS", "CAKE TIN"], dtype=object)
    vectors = rng.normal(size=(8, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[7] = vectors[4]  # "CAKE TIN" and "GARDEN SPADE" one product by the model
    sets = [(0, 1), (2, 3), (4, 7), (5, 6), (0, 2, 4), (1, 5, 6)]
    for threshold in (0.9, 0.5, -1.0):
        want = _brute(sets, names, vectors, threshold)
        assert variant_flags(sets, names, vectors, threshold).tolist() == want.tolist()
        lazy = Rows(vectors)
        assert variant_flags(sets, names, lazy, threshold).tolist() == want.tolist()
        assert len(lazy.asked) <= 1  # one batch of rows
        assert variant_flags(sets, names, None, threshold).tolist() == \
            _brute(sets, names, None, threshold).tolist()
    lazy = Rows(vectors)
    flags = variant_flags(sets, names, lazy, 0.9, needed=[True, True, True, False, False, False])
    assert flags.tolist()[:3] == [True, False, True]  # bag: words; tin/spade: the model
    assert sorted(lazy.asked[0]) == [2, 3, 4, 7]  # word-rule variants need no vector


# ---------------------------------------------------------------------------- threads
def test_text_work_runs_on_every_core_and_restores_torch_threads(monkeypatch):
    import torch

    from core.text.runtime import torch_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("BUNDLELAB_THREADS", "2")
    try:
        torch.set_num_threads(1)  # as the recommender leaves it while it trains
        with torch_threads() as n:
            assert n == 2 and torch.get_num_threads() == 2
            with torch_threads():  # nested or concurrent sections share the setting
                assert torch.get_num_threads() == 2
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_openmp_waits_passively_unless_told_otherwise(monkeypatch):
    from core.text import runtime

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    runtime.passive_openmp()
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    runtime.passive_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
