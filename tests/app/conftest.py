"""AppTest fixtures: every page test runs against its own temporary workspace."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT  # noqa: F401  (puts the project root on sys.path)


@pytest.fixture(autouse=True)
def no_stray_jobs(monkeypatch):
    """Pages leave model training to its button (tests that test the background jobs turn it
    on), and no test leaves a background job running into the next one."""
    from core import jobs

    monkeypatch.setenv(jobs.ENV_AUTO, "0")
    yield
    jobs.cancel_all()


@pytest.fixture
def app_ws(tmp_path, monkeypatch):
    """An empty workspace that the app under test uses (via BUNDLELAB_WORKSPACE)."""
    from core.workspace import Workspace

    path = tmp_path / "ws"
    monkeypatch.setenv("BUNDLELAB_WORKSPACE", str(path))
    monkeypatch.chdir(ROOT)
    return Workspace(path)


@pytest.fixture
def sample_ws(app_ws):
    """The workspace with the bundled sample loaded (as the home page does on first start)."""
    from core.ingest.load import ingest

    ingest(app_ws, ROOT / "sample_data" / "online_retail_2011Q1.csv.gz",
           dataset="sample_online_retail")
    return app_ws
