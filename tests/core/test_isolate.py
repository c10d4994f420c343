"""core.isolate: a step in a child process, its progress, result and errors in the parent; and the
pipeline's isolated text and recommender steps give the same bundles as the in-process ones."""

import os
import time

import pytest

from core.errors import BundleLabError, InputError
from core.isolate import run_isolated
from core.progress import Cancelled
from tests.core.test_bundles_cli import tiny  # noqa: F401,F811 - the tiny text model fixture

T = "tests.core.isolate_targets:"


def test_result_and_progress_come_back():
    seen = []
    out = run_isolated(T + "add", a=2, b=3, progress=lambda f, m: seen.append((f, m)))
    assert out["sum"] == 5 and out["pid"] != os.getpid()
    assert seen == [(0.5, "half way")]


def test_user_error_keeps_its_class_and_words():
    with pytest.raises(InputError, match="row 3, column 'Quantity'"):
        run_isolated(T + "user_error")


def test_bug_becomes_a_clear_error_without_traceback():
    with pytest.raises(BundleLabError) as err:
        run_isolated(T + "bug", what="text model step")
    assert "text model step failed (ZeroDivisionError" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_dead_child_is_reported():
    with pytest.raises(BundleLabError, match="stopped unexpectedly .exit code 9.*memory"):
        run_isolated(T + "die", what="recommender step")


def test_cancel_in_the_parent_stops_the_child():
    calls = []

    def progress(f, m):
        calls.append(f)
        if len(calls) == 3:
            raise Cancelled()

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        run_isolated(T + "slow", progress=progress)
    assert time.monotonic() - t0 < 20  # not the child's 30 s


def test_pipeline_isolated_steps_give_the_same_bundles(tmp_path, monkeypatch, tiny):  # noqa: F811
    from core.bundles.params import BundleParams
    from core.pipeline import run_pipeline
    from core.workspace import Workspace
    from tests.core.test_bundles_cli import shop_csv

    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "5")
    data = shop_csv(tmp_path / "shop.csv")
    lists = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("BUNDLELAB_ISOLATE", flag)
        ws = Workspace(tmp_path / f"ws{flag}")
        seen = []
        res = run_pipeline(ws, data, dataset="shop", progress=lambda f, m: seen.append(m),
                           params=BundleParams(min_orders=5, allow_variants=True))
        lists[flag] = res.bundles.bundles["items"].tolist()
        assert ws.runs("shop", kind="recommender").shape[0] >= 1  # the recommender was trained
        assert any("fine-tun" in m for m in seen)  # the child's progress reached the parent
    assert lists["0"] == lists["1"] and lists["0"]


def test_background_job_trains_a_large_shop_in_child_processes(tmp_path, monkeypatch, tiny):  # noqa: F811
    """The app's model job uses the same rule: a large shop's text model and recommender each
    run in a child process (BUNDLELAB_ISOLATE=1 stands in for the size), and the job ends with
    both trained, its progress seen through the child."""
    import core.job_steps as steps
    from core import jobs
    from core.ingest.load import ingest
    from core.workspace import Workspace
    from tests.core.test_bundles_cli import shop_csv

    monkeypatch.setenv("BUNDLELAB_MODEL", str(tiny))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "5")
    monkeypatch.setenv("BUNDLELAB_ISOLATE", "1")
    calls = []
    real = steps.run_isolated
    monkeypatch.setattr(steps, "run_isolated", lambda target, **kw: (calls.append(target),
                                                                     real(target, **kw))[1])
    ws = Workspace(tmp_path / "ws")
    ingest(ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    job = jobs.ModelJob(str(ws.root), "shop", ws.info("shop")["version"], text=True)
    job.run()
    s = job.status()
    assert s.state == jobs.DONE, (s.error, s.notes)
    assert calls == ["core.job_steps:text_step", "core.job_steps:recommender_step"]
    assert len(ws.runs("shop", kind="recommender")) == 1
    assert len(ws.runs("shop", kind="finetune")) >= 1
