"""Background model jobs (``core.jobs``): they train the text model and the recommender and put
the refined list's inputs into the cache; one at a time per workspace; a cancel in the middle of
a step leaves the workspace as it was. On a small synthetic shop with a tiny text model."""

from __future__ import annotations

import pandas as pd
import pytest

from core import jobs
from core.bundles.compare import compare_lists
from core.bundles.params import BundleParams
from core.bundles.service import build_for_dataset
from core.ingest.load import ingest

from tests.core.test_bundles_cli import shop_csv, tiny  # noqa: F401 (fixture)

WAIT = 300


@pytest.fixture
def shop(ws, tmp_path, tiny, monkeypatch):  # noqa: F811
    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "20")
    monkeypatch.setenv("BUNDLELAB_FINETUNE_PAIRS", "64")
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    yield ws
    jobs.cancel_all(ws)


def _files(ws) -> list[str]:
    return sorted(str(p.relative_to(ws.root)) for p in ws.models_dir.rglob("*") if p.is_file())


def test_job_trains_the_models_and_fills_the_cache(shop):
    cache: dict = {}
    job = jobs.start(shop, "shop", text=True, cache=cache)
    assert jobs.start(shop, "shop", text=True, cache=cache) is job  # asked again: the same job
    s = jobs.wait(job, WAIT)
    assert s.state == jobs.DONE, s
    assert s.fraction == 1.0 and s.steps == ("text model", "recommender", "bundle inputs")
    kinds = set(shop.runs("shop")["kind"])
    assert {"finetune", "recommender"} <= kinds
    assert len(cache) == 1  # the refined list's inputs, ready for the page
    (inp,) = cache.values()
    assert inp.vectors is not None and inp.affinity is not None
    # the refined list is built from the cache: nothing is trained again
    before = len(shop.runs("shop"))
    refined = build_for_dataset(shop, "shop", BundleParams(top=5, allow_variants=True),
                                save=False, record=False, cache=cache)
    assert len(refined.bundles) > 0 and len(shop.runs("shop")) == before
    assert jobs.start(shop, "shop", text=True, cache=cache) is job  # done: found, not rerun


def test_cancel_in_the_middle_of_fine_tuning_leaves_the_workspace_as_it_was(shop, monkeypatch):
    runs_before = shop.runs("shop")
    files_before = _files(shop)
    original = jobs.ModelJob._progress

    def cancel_mid_step(self, step, before, later):
        inner = original(self, step, before, later)

        def progress(fraction, message):
            if step.label == "text model" and fraction > 0.1:
                self.cancel()  # the user presses Cancel while the model trains
            inner(fraction, message)
        return progress

    monkeypatch.setattr(jobs.ModelJob, "_progress", cancel_mid_step)
    job = jobs.start(shop, "shop", text=True)
    s = jobs.wait(job, WAIT)
    assert s.state == jobs.CANCELLED, s
    assert _files(shop) == files_before  # no model, no vector cache, no temp leftovers
    pd.testing.assert_frame_equal(shop.runs("shop"), runs_before)
    # asked again after a cancel: a new job, which finishes
    monkeypatch.setattr(jobs.ModelJob, "_progress", original)
    again = jobs.start(shop, "shop", text=True, again=True)
    assert again is not job and jobs.wait(again, WAIT).state == jobs.DONE


def test_one_job_per_workspace_the_newest_request_wins(shop, tmp_path):
    ingest(shop, shop_csv(tmp_path / "other.csv", seed=2), dataset="other")
    first = jobs.start(shop, "shop", text=True)
    second = jobs.start(shop, "other", text=False)
    seen_together = False
    while not all(j.status().state in jobs.FINISHED for j in (first, second)):
        states = {first.status().state, second.status().state}
        seen_together |= states == {jobs.RUNNING}
        jobs.wait(first, 0.05)
    assert not seen_together
    assert second.status().state == jobs.DONE
    assert first.status().state == jobs.CANCELLED and first.superseded
    # asked for again: a superseded job starts anew (a user's cancel needs ``again``)
    third = jobs.start(shop, "shop", text=True)
    assert third is not first and jobs.wait(third, WAIT).state == jobs.DONE


def test_a_reloaded_dataset_fails_the_old_versions_job_with_a_clear_message(shop, tmp_path):
    job = jobs.ModelJob(str(shop.root), "shop", version=0, text=False)
    job.run()  # run directly: version 0 is not the dataset's version
    s = job.status()
    assert s.state == jobs.FAILED and "re-loaded" in s.error


def test_time_left_blends_the_prediction_with_the_steps_own_pace():
    from core.progress import time_left as _step_left

    assert _step_left(0.0, 0.0, None) is None  # nothing known yet
    assert _step_left(5.0, 0.0, 100.0) == 95.0  # only the prediction
    assert _step_left(10.0, 0.5, None) == 10.0  # only the pace: half done in 10 s
    # early on the prediction weighs more, later the pace alone
    early = _step_left(2.0, 0.05, 100.0)
    assert abs(early - (1 / 6 * 38.0 + 5 / 6 * 98.0)) < 1e-9
    assert _step_left(30.0, 0.6, 100.0) == 20.0
    assert _step_left(200.0, 0.1, 100.0) > 0  # slower than predicted: never negative


def test_compare_lists_counts_added_removed_and_moved():
    before = pd.DataFrame({"items": [["a", "b"], ["c", "d"], ["e", "f"]],
                           "cold_start": [False] * 3})
    after = pd.DataFrame({"items": [["d", "c"], ["a", "b"], ["n", "a"]],
                          "cold_start": [False, False, True]})
    c = compare_lists(before, after)
    assert (c["added"], c["removed"], c["kept"]) == (1, 1, 2)
    assert c["reranked"] == 2  # c+d moved above a+b
    assert c["cold_added"] == 1  # "n": new, bundled by text
    same = compare_lists(before, before)
    assert (same["added"], same["removed"], same["reranked"]) == (0, 0, 0)


def test_auto_start_setting(monkeypatch):
    monkeypatch.delenv(jobs.ENV_AUTO, raising=False)
    assert jobs.auto_start()
    monkeypatch.setenv(jobs.ENV_AUTO, "0")
    assert not jobs.auto_start()
