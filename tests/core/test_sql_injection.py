"""A file name, a workspace path or a value in the file never runs SQL (issue: SQL injection
through the upload's file name). Each test here failed on the f-string ``read_csv('{path}')``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import BundleLabError
from core.ingest.load import ingest
from core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
VALID = ("order,item,name,qty,price,customer,date\n"
         "1,A,Apple,1,2.5,c1,2024-01-01\n1,B,Bread,2,1.0,c1,2024-01-01\n"
         "2,A,Apple,1,2.5,c2,2024-01-02\n2,C,Cheese,1,4.0,c2,2024-01-02\n"
         "3,B,Bread,1,1.0,c1,2024-01-03\n3,C,Cheese,1,4.0,c1,2024-01-03\n")


def _payload(target: Path) -> str:
    """The file name from the issue, writing to ``target`` ('/' spelled as '|' since a file name
    cannot hold a slash) and deleting every dataset's order lines."""
    spelled = target.as_posix().replace("/", "|")
    return (f"x*'); COPY (SELECT 1) TO (replace('{spelled}','|',chr(47))); DELETE FROM lines; "
            "SELECT * FROM read_csv('y.csv")


def _digest(ws: Workspace, name: str) -> tuple:
    return tuple(ws.query("SELECT count(*), sum(hash(order_id, item_id, quantity)) FROM lines "
                          "WHERE dataset = ?", [name]).iloc[0]) + (ws.info(name)["version"],)


@pytest.fixture
def loaded(tmp_path):
    ws = Workspace(tmp_path / "ws")
    keep = tmp_path / "keep.csv"
    keep.write_text(VALID)
    ingest(ws, keep, dataset="keep")
    return ws, _digest(ws, "keep")


def test_file_name_payload_changes_nothing(tmp_path, loaded):
    ws, before = loaded
    target = tmp_path / "PWNED.txt"
    folder = tmp_path / "in"
    folder.mkdir()
    evil = folder / (_payload(target) + ".csv")
    evil.write_text(VALID)
    try:
        summary = ingest(ws, evil)
    except BundleLabError:
        summary = None
    assert not target.exists(), "the file name ran SQL: COPY wrote a file"
    assert _digest(ws, "keep") == before, "the file name ran SQL: order lines were deleted"
    if summary is not None:  # it is a valid file: it loads as itself
        assert summary["rows_kept"] == 6 and summary["orders"] == 3


def test_file_name_payload_through_the_cli(tmp_path, loaded):
    ws, before = loaded
    target = tmp_path / "PWNED-cli.txt"
    evil = tmp_path / (_payload(target) + ".csv")
    evil.write_text(VALID)
    r = subprocess.run([sys.executable, "-m", "core", "ingest", str(evil), "--workspace",
                        str(ws.root), "--dataset", "evil", "--json"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["rows_kept"] == 6
    assert not target.exists()
    assert _digest(ws, "keep") == before


def test_glob_characters_read_exactly_that_file(tmp_path, loaded):
    """``x*.csv`` is one file, not a pattern matching its neighbours."""
    ws, _ = loaded
    folder = tmp_path / "glob"
    folder.mkdir()
    (folder / "x*.csv").write_text(VALID)
    (folder / "x-other.csv").write_text(VALID.replace("Apple", "Other"))
    (folder / "x[1].csv").write_text(VALID)
    assert ingest(ws, folder / "x*.csv", dataset="star")["rows_kept"] == 6
    assert ingest(ws, folder / "x[1].csv", dataset="bracket")["rows_kept"] == 6
    names = set(ws.items("star")["item_name"])
    assert names == {"Apple", "Bread", "Cheese"}
    assert not list(ws.tmp_dir.glob("ingest-*")), "the temporary link was left behind"


def test_quote_in_file_name_loads(tmp_path):
    ws = Workspace(tmp_path / "ws")
    f = tmp_path / "it's.csv"
    f.write_text(VALID)
    summary = ingest(ws, f)
    assert summary["rows_kept"] == 6 and summary["dataset"] == "it_s"


def test_quote_in_workspace_path(tmp_path):
    ws = Workspace(tmp_path / "o'brien's shop")
    f = tmp_path / "orders.csv"
    f.write_text(VALID)
    assert ingest(ws, f)["rows_kept"] == 6
    assert len(ws.lines("orders")) == 6


def test_sql_in_values_is_data(tmp_path):
    ws = Workspace(tmp_path / "ws")
    f = tmp_path / "orders.csv"
    evil = "'); DELETE FROM lines; --"
    f.write_text("order,item,name,qty\n1,A,\"" + evil + "\",1\n1,B,b,1\n")
    ingest(ws, f)
    assert evil in set(ws.items("orders")["item_name"])
    assert len(ws.lines("orders")) == 2
