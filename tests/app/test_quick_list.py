"""AppTest: the Bundles page shows the quick list at once while the models train in the
background, refines it when they are ready and says what changed; Cancel stops the training and
keeps the quick list. A small synthetic shop with a tiny text model."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.ingest.load import ingest
from tests.conftest import ROOT
from tests.core.test_bundles_cli import shop_csv
from tests.core.embedding_helpers import make_tiny_encoder

TIMEOUT = 240


@pytest.fixture
def shop_ws(app_ws, tmp_path, monkeypatch):
    from tests.core.test_bundles_cli import PAIRS

    words = tuple(n for p in PAIRS for n in p) + ("TEA SAUCER NEW", "STORAGE JAR", "GREETING")
    monkeypatch.setenv("BUNDLELAB_MODEL", str(make_tiny_encoder(tmp_path / "enc",
                                                                extra_words=words)))
    monkeypatch.setenv("BUNDLELAB_FINETUNE_SECONDS", "20")
    monkeypatch.setenv("BUNDLELAB_FINETUNE_PAIRS", "64")
    monkeypatch.setenv(jobs.ENV_AUTO, "1")  # as the app runs for a user
    ingest(app_ws, shop_csv(tmp_path / "shop.csv"), dataset="shop")
    return app_ws


@pytest.fixture
def gate(monkeypatch):
    """The text model step waits until the test opens the gate (so the page is seen while the
    models are still training, whatever the machine's speed)."""
    opened = threading.Event()
    original = jobs.ModelJob._text

    def gated(self, ws, notes, progress):
        while not opened.wait(0.05):
            progress(0.0, "waiting")  # a Cancel is noticed here too
        return original(self, ws, notes, progress)

    monkeypatch.setattr(jobs.ModelJob, "_text", gated)
    return opened


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "5_Bundles.py"), default_timeout=TIMEOUT)


def _subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def test_quick_list_first_then_the_refined_list(shop_ws, gate):
    at = _page()
    # the tiny random text model finds every name alike: variant flagging would leave no bundle
    at.session_state["bundles_variants"] = True
    at.run()
    assert not at.exception, at.exception
    job = jobs.find(shop_ws, "shop", shop_ws.info("shop")["version"], True)
    assert job is not None and job.status().active  # started by the page itself
    assert any("quick list" in s for s in _subheaders(at))  # shown before training ends
    quick = at.dataframe[0].value
    assert len(quick) > 0
    assert any("Quick list" in i.value and "background" in i.value for i in at.info)
    assert at.get("progress"), "the training progress is on the page"
    gate.set()
    assert jobs.wait(job, TIMEOUT).state == jobs.DONE
    at.run()
    assert not at.exception, at.exception
    assert not any("quick list" in s for s in _subheaders(at))
    refined = [s.value for s in at.success if "Refined with the models" in s.value]
    assert refined and ("Compared with the quick list" in refined[0]
                        or "did not change" in refined[0])
    assert "similarity" in at.dataframe[0].value.columns


def test_cancel_keeps_the_quick_list_and_offers_to_train_again(shop_ws, gate):
    runs_before = len(shop_ws.runs("shop"))
    at = _page().run()
    cancel = [b for b in at.button if b.label == "Cancel training"]
    assert cancel, [b.label for b in at.button]
    cancel[0].click().run()
    job = jobs.find(shop_ws, "shop", shop_ws.info("shop")["version"], True)
    assert jobs.wait(job, TIMEOUT).state == jobs.CANCELLED
    at.run()
    assert not at.exception, at.exception
    assert any("cancelled" in i.value for i in at.info)
    assert any("quick list" in s for s in _subheaders(at))
    assert len(at.dataframe[0].value) > 0
    # nothing was trained: only the quick lists' bundle runs were recorded
    assert set(shop_ws.runs("shop")["kind"].iloc[runs_before:]) <= {"bundles"}
    gate.set()
    at.button(key="jobs_again").click().run()
    again = jobs.find(shop_ws, "shop", shop_ws.info("shop")["version"], True)
    assert again is not job and jobs.wait(again, TIMEOUT).state == jobs.DONE
