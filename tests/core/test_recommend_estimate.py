"""The recommender step's time prediction (``core.recommend.estimate``) and its progress, which
grows with time (``core.recommend.pace``), issue 13: honest estimates. Tiny synthetic shops."""

from __future__ import annotations

import numpy as np
import pytest

from core import jobs
from core.ingest.load import ingest
from core.recommend import estimate, pace
from core.recommend.store import RecommenderParams, train_recommender

from tests.core.test_recommender import checkerboard_lines


def _shop(ws, tmp_path, n_customers: int, name: str = "shop") -> str:
    path = tmp_path / f"{name}.csv"
    checkerboard_lines(n_customers=n_customers).to_csv(path, index=False)
    ingest(ws, path, dataset=name)
    return name


FIXED = ({"repeat": 0.01, "explore": 0.02}, 1e-4, 5e-4)  # minibatch, validation row, mix row


def test_the_prediction_follows_the_formula_and_grows_with_the_data(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(estimate, "_time_minibatches", lambda *a: FIXED)  # the machine: fixed
    params = RecommenderParams(text="none")
    small = estimate.plan_recommender(ws, _shop(ws, tmp_path, 12, "small"), params=params)
    big = estimate.plan_recommender(ws, _shop(ws, tmp_path, 400, "big"), params=params)
    assert big.sizes["customers"] > 10 * small.sizes["customers"]
    assert big.sizes["batches"] > small.sizes["batches"] >= 1
    p, s = big.parts, big.sizes
    val = s["validation"] * FIXED[1]
    assert p["repeat"] == pytest.approx(10 * (s["batches"] * 0.01 + val), rel=1e-3)
    assert p["explore"] == pytest.approx(30 * (s["batches"] * 0.02 + val), rel=1e-3)
    assert p["mix"] == pytest.approx(s["validation"] * FIXED[2], rel=1e-2)
    assert big.seconds == pytest.approx(sum(p.values()), abs=0.02)
    assert big.seconds > 2 * small.seconds  # more customers, orders: more minibatches per epoch
    assert "customers" in big.why and "epochs" in big.why
    # the time budget caps the stages (45% / 95% of max_seconds, counted from the fit's start)
    tight = estimate.plan_recommender(ws, "big", params=RecommenderParams(text="none",
                                                                           max_seconds=2.0))
    fit = sum(tight.parts[k] for k in ("prep", "repeat", "explore"))
    assert fit <= 2.0 * 0.95 + 2 * s["validation"] * FIXED[1] + 1e-6
    assert tight.seconds < big.seconds


def test_the_measured_prediction_grows_with_the_data_and_a_trained_model_is_free(ws, tmp_path):
    params = RecommenderParams(text="none", epochs=3)
    small = estimate.plan_recommender(ws, _shop(ws, tmp_path, 12, "small"), params=params)
    big = estimate.plan_recommender(ws, _shop(ws, tmp_path, 400, "big"), params=params)
    assert 0 < small.seconds < big.seconds
    assert big.parts["repeat"] > small.parts["repeat"]
    train_recommender(ws, "small", params=params)
    assert estimate.plan_recommender(ws, "small", params=params).seconds == 0.0  # reused


class _Time:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_fit_progress_grows_linearly_with_time_when_the_epochs_are_as_expected(monkeypatch):
    """A simulated fit: 5 minibatches per epoch (1 s each, explore ones ``EXPLORE_OVER_REPEAT``
    s), a 2 s validation pass; the repeat stage learns until epoch 6 and stops 4 epochs later
    (10, as expected), the explore stage learns for all its 30 epochs. The fraction is the share
    of the time at every report."""
    clock_time = _Time()
    monkeypatch.setattr(pace.time, "perf_counter", clock_time)
    seen: list[tuple[float, float]] = []
    clock = pace.FitClock(lambda f, m: seen.append((clock_time.now - 100.0, f)),
                          stages=pace.STAGES, epochs=30, patience=4, n_batches=5,
                          val_batches=2.0, deadlines=[None, None])
    for stage, n_epochs, best, seconds in (("repeat", 10, 6, 1.0),
                                           ("explore", 30, 30, pace.EXPLORE_OVER_REPEAT)):
        clock.restart()
        for epoch in range(n_epochs):
            for b in range(5):
                clock_time.now += seconds
                clock.batch(stage, epoch, b + 1, "batch")
            clock_time.now += 2.0
            score = 0.1 + 0.01 * min(epoch + 1, best)
            clock.validated(stage, epoch, 2.0, "validated", score)
        clock.stage_done(stage, "done")
    total = clock_time.now - 100.0 + pace.MIX_OVER_VALIDATION * 2.0  # the mixing weights
    assert total == pytest.approx(10 * 7 + 30 * (5 * pace.EXPLORE_OVER_REPEAT + 2) + 12)
    errors = [abs(f - t / total) for t, f in seen]
    assert max(errors) < 1e-9, max(errors)
    assert seen[-1][1] == pytest.approx(1 - 12 / total)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)


def test_a_stage_that_does_not_learn_is_expected_to_stop_after_its_patience(monkeypatch):
    clock_time = _Time()
    monkeypatch.setattr(pace.time, "perf_counter", clock_time)
    clock = pace.FitClock(None, stages=pace.STAGES, epochs=30, patience=4, n_batches=5,
                          val_batches=2.0, deadlines=[None, None])
    for epoch, score in enumerate([0.27, 0.271, 0.269]):  # flat: +0.4%
        clock_time.now += 5.0
        clock.batch("explore", epoch, 5, "batch")
        clock.validated("explore", epoch, 0.0, "validated", score)
    assert clock.expected["explore"] == 2 + 4  # best epoch 2, then patience
    for epoch, score in enumerate([0.10, 0.11, 0.12]):  # +20%: learning, expect the prior
        clock.validated("repeat", epoch, 0.0, "validated", score)
    assert clock.expected["repeat"] == pace.EXPECTED_EPOCHS[False]["repeat"]
    for epoch, score in enumerate([0.121, 0.1205, 0.121, 0.1212], start=3):  # it levelled off
        clock.validated("repeat", epoch, 0.0, "validated", score)
    assert clock.expected["repeat"] == 7 + 4  # best epoch 7, then patience


def test_the_job_predicts_the_recommender_step_and_shows_a_time_left_from_its_start(
        ws, tmp_path, monkeypatch):
    name = _shop(ws, tmp_path, 60)
    version = int(ws.info(name)["version"])
    steps = jobs.ModelJob(str(ws.root), name, version, text=False)._plan(ws, [])
    rec = {s.label: s for s in steps}["recommender"]
    assert rec.predicted is not None and rec.predicted > 0
    seen = []
    original = jobs.ModelJob._progress

    def recording(self, step, before, later):
        inner = original(self, step, before, later)

        def progress(fraction, message):
            inner(fraction, message)
            seen.append((fraction, self.status()))
        return progress

    monkeypatch.setattr(jobs.ModelJob, "_progress", recording)
    job = jobs.ModelJob(str(ws.root), name, version, text=False)
    job.run()
    assert job.status().state == jobs.DONE, job.status()
    during = [(f, s) for f, s in seen if s.step == "recommender"]
    assert during, "no progress report from the recommender step"
    first_fraction, first = during[0]
    assert first_fraction == 0.0
    # no pace yet at the step's start: only the prediction can give a time left
    assert first.step_eta_seconds is not None and first.step_eta_seconds > 0
    assert first.eta_seconds is not None and first.eta_seconds >= first.step_eta_seconds
    assert all(s.eta_seconds is not None for _, s in during)
    fractions = [f for f, _ in during]
    assert np.all(np.diff(fractions) >= -1e-9), "the recommender's fraction went back"
