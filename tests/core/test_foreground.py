"""core.foreground: background work waits while a page works for the user, and no longer."""

import threading
import time

import pytest

from core import foreground


@pytest.fixture(autouse=True)
def _clean():
    foreground.clear()
    yield
    foreground.clear()


def waiter(stop=None):
    """Start wait_idle in a thread; returns (thread, result dict)."""
    out = {}

    def run():
        out["waited"] = foreground.wait_idle(stop)
        out["at"] = time.monotonic()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_idle_returns_at_once():
    assert foreground.idle()
    assert foreground.wait_idle() < 0.05


def test_waits_while_busy_and_resumes_when_done():
    with foreground.busy():
        assert not foreground.idle()
        t, out = waiter()
        time.sleep(0.4)
        assert t.is_alive(), "background work ran while the page was busy"
        released = time.monotonic()
    t.join(2)
    assert not t.is_alive()
    assert out["waited"] >= 0.35
    assert out["at"] - released < 0.3  # woken when the block ended, not at the next poll only
    assert foreground.idle()


def test_nested_busy_blocks_count():
    with foreground.busy():
        with foreground.busy():
            pass
        assert not foreground.idle()
    assert foreground.idle()


def test_busy_ends_on_error():
    with pytest.raises(ValueError):
        with foreground.busy():
            raise ValueError("page failed")
    assert foreground.idle()


def test_hold_until_released():
    foreground.hold(("first list", "ws", "a"), 30)
    t, out = waiter()
    time.sleep(0.3)
    assert t.is_alive()
    foreground.release(("first list", "ws", "b"))  # another key: still held
    time.sleep(0.3)
    assert t.is_alive()
    foreground.release(("first list", "ws", "a"))
    t.join(2)
    assert not t.is_alive() and out["waited"] >= 0.5


def test_hold_expires():
    foreground.hold("k", 0.3)
    t0 = time.monotonic()
    waited = foreground.wait_idle()
    assert 0.25 <= waited < 1.5
    assert time.monotonic() - t0 < 1.5
    assert foreground.idle()


def test_stop_ends_the_wait():
    stop = threading.Event()
    with foreground.busy():
        t, out = waiter(stop.is_set)
        time.sleep(0.3)
        assert t.is_alive()
        stop.set()
        t.join(2)
        assert not t.is_alive()
        assert not foreground.idle()  # the page is still busy; the waiter left because of stop


def test_background_job_waits_for_the_page_and_leaves_the_wait_out_of_its_pace(tmp_path):
    """A model job started after a load does not start before the first list is shown; then it
    runs; a cancel while it pauses for a page still ends it."""
    from core import jobs
    from core.ingest.load import ingest
    from core.workspace import Workspace
    from tests.conftest import ROOT

    ws = Workspace(tmp_path / "ws")
    ingest(ws, ROOT / "sample_data" / "online_retail_2011Q1.csv.gz", dataset="s")
    version = ws.info("s")["version"]
    foreground.hold(("first list", str(ws.root), "s"), 60)
    job = jobs.ModelJob(str(ws.root), "s", version, text=False)
    t = threading.Thread(target=job.run, daemon=True)
    t.start()
    time.sleep(1.0)
    assert job.status().state == jobs.QUEUED, "the job started while the first list was held"
    foreground.release(("first list", str(ws.root), "s"))
    deadline = time.monotonic() + 30
    while job.status().state == jobs.QUEUED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status().state != jobs.QUEUED, "the job did not start once the list was shown"
    with foreground.busy():  # a page rebuilds its list: the job pauses at its next report
        job.cancel()         # and a cancel during the pause still ends it
        t.join(15)
    assert not t.is_alive() and job.status().state in (jobs.CANCELLED, jobs.DONE)
