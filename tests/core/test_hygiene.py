"""Workspace hygiene: safe names for uploaded files, and the sweep of temp entries that a killed
process left behind (staging folders, converted temp files, incoming uploads, model temp dirs)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from core.files import is_stale, owned_name, owner_pid, pid_alive, pid_tag, safe_upload_name
from core.ingest.load import default_name, ingest
from core.workspace import Workspace, check_dataset_name

LONG_CHINESE = "二零二四年第三季度华东区全部门店销售订单明细导出" * 6 + ".csv.gz"  # 867 bytes
AWKWARD = ["..", ".", "", "a\x00b.csv", "orders\x00", LONG_CHINESE, "订单" * 100 + ".xlsx",
           "../../etc/passwd", "C:\\Users\\me\\Desktop\\orders.csv", ".hidden.csv",
           "\u202egpj.csv", "tab\there\nnew.csv", 'a<b>c:"d"|e?f*.tsv', "CON.csv", " . ",
           "x" * 300, "\udcff.csv", "![b](http://host/beacon.png).csv"]


def _dead_pid() -> int:
    """The PID of a process that has exited (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


@pytest.mark.parametrize("name", AWKWARD)
def test_safe_upload_name_can_be_stored(name, tmp_path):
    safe = safe_upload_name(name)
    raw = safe.encode("utf-8")  # no lone surrogates left
    assert safe and len(raw) <= 200
    assert not safe.startswith(".") and not set(safe) & set("/\\\x00\n\r\t<>:\"|?*\u202e")
    assert safe not in (".", "..")
    (tmp_path / safe).write_bytes(b"order_id,item_id\n1,a\n")  # a file system takes it
    assert [p.name for p in tmp_path.iterdir()] == [safe]


def test_safe_upload_name_stays_readable():
    assert safe_upload_name("Bestellungen März.csv") == "Bestellungen März.csv"
    assert safe_upload_name("../../etc/passwd") == "passwd"
    assert safe_upload_name("C:\\Users\\me\\orders.csv") == "orders.csv"
    assert safe_upload_name(".hidden.csv") == "hidden.csv"
    assert safe_upload_name("a\x00b.csv") == "ab.csv"
    for fallback in ("..", ".", "", None, "\x00", " / "):
        assert safe_upload_name(fallback) == "upload.csv"
    long = safe_upload_name(LONG_CHINESE)
    assert long.endswith(".csv.gz") and long.startswith("二零二四年")
    assert 190 <= len(long.encode()) <= 200  # cut at a character boundary (3 bytes each)
    assert safe_upload_name("订单" * 100 + ".xlsx").endswith(".xlsx")
    assert safe_upload_name("CON.csv") == "_CON.csv"


@pytest.mark.parametrize("name", AWKWARD)
def test_default_dataset_name_copes(name):
    assert check_dataset_name(default_name(name))  # the page proposes it from the raw name
    assert check_dataset_name(default_name(safe_upload_name(name)))


def test_owned_names_carry_the_pid():
    me = os.getpid()
    assert owner_pid(owned_name(".staging-")) == me
    assert owner_pid(owned_name("ingest-", ".csv")) == me
    assert owner_pid(owned_name("")) == me
    folder = Path(tempfile.mkdtemp(prefix=f".encoder-cut-2011-02-01-ab12.{pid_tag()}"))
    try:
        assert owner_pid(folder.name) == me
    finally:
        folder.rmdir()
    assert owner_pid(f".encoder-all-0a1b.old-{pid_tag()}abc123") == me
    assert owner_pid(f".0a1b2c.{pid_tag()}x_y1.npz") == me
    # names without a PID: the old formats, and tags that merely contain "-p5-"
    for name in (".staging-0a1b2c3d4e", "ingest-0a1b2c3d4e.csv", "0a1b2c3d4e",
                 ".encoder-split-p5-x-0a1b.k3j_x9q2", ".encoder-split-p5-x-0a1b.old-abc123",
                 "encoder-all-0a1b"):
        assert owner_pid(name) is None, name


def _age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (then, then), follow_symlinks=False)


def _make(path: Path, hours: float = 0.0, file: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if file:
        path.write_text("x")
    else:
        path.mkdir()
        (path / "part.csv").write_text("x")
    if hours:
        _age(path, hours)
    return path


def test_opening_a_workspace_sweeps_only_stale_leftovers(tmp_path):
    root = tmp_path / "ws"
    dead, me = _dead_pid(), os.getpid()
    up, tmp, inc, models = root / "uploads", root / "tmp", root / "incoming", root / "models" / "shop"
    stale = [
        _make(up / f".staging-p{dead}-0a1b2c3d4e"),                        # killed ingest
        _make(up / ".staging-1a2b3c4d5e", hours=7),                        # old format, old
        _make(tmp / f"ingest-p{dead}-0a1b2c3d4e.csv", file=True),
        _make(tmp / "ingest-1a2b3c4d5e.csv", hours=7, file=True),
        _make(inc / f"p{dead}-0a1b2c3d4e"),                                # abandoned upload
        _make(up / ".incoming" / "2a2b3c4d5e", hours=7),                   # older versions' area
        _make(models / f".encoder-all-0a1b2c.p{dead}-k3j_x9q2"),           # killed fine-tune
        _make(models / ".encoder-all-0a1b2c.old-abc123", hours=7),
        _make(models / "recommender" / f".all.p{dead}-k3j_x9q2"),
        _make(models / "vectors" / f".0a1b2c.p{dead}-x_y1.npz", file=True),
    ]
    kept = [
        _make(up / f".staging-p{me}-3a2b3c4d5e", hours=7),                # a live process's
        _make(up / ".staging-4a2b3c4d5e"),                                 # old format, fresh
        _make(tmp / f"ingest-p{me}-3a2b3c4d5e.csv", file=True),
        _make(tmp / "ingest-4a2b3c4d5e.csv", file=True),
        _make(tmp / "duckdb_temp_storage-0.tmp", hours=30, file=True),   # DuckDB's own
        _make(inc / f"p{me}-3a2b3c4d5e", hours=7),
        _make(models / "encoder-all-0a1b2c", hours=30),                    # finished models
        _make(models / f".encoder-all-9a1b2c.p{me}-k3j_x9q2"),
        _make(models / "recommender" / "all", hours=30),
        _make(models / "vectors" / "0a1b2c.npz", hours=30, file=True),
        _make(up / "shop" / "orders.csv", hours=30, file=True),            # a stored upload
    ]
    Workspace(root)
    assert [p for p in stale if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []

    # once per workspace and process: a second open does not walk the folders again
    late = _make(up / f".staging-p{dead}-5a2b3c4d5e")
    ws = Workspace(root)
    assert late.exists()
    assert ws.sweep_leftovers() == [late] and not late.exists()


def test_sweep_keeps_uploads_that_datasets_read(tmp_path):
    """Older versions loaded page uploads straight from ``uploads/.incoming/<id>/``: such a
    dataset keeps its upload (it is read again by 'Clean again')."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    used = ws.uploads_dir / ".incoming" / "0a1b2c3d4e" / "orders.csv"
    used.parent.mkdir(parents=True)
    used.write_text("order_id,item_id\n1,a\n1,b\n2,a\n2,b\n")
    ingest(ws, used, dataset="orders")
    assert ws.info("orders")["source"] == "uploads/.incoming/0a1b2c3d4e/orders.csv"
    orphan = _make(ws.uploads_dir / ".incoming" / "1a1b2c3d4e", hours=7)
    _age(used.parent, hours=7)
    assert ws.sweep_leftovers() == [orphan]
    assert used.exists()


def test_is_stale_rules(tmp_path):
    dead = _dead_pid()
    fresh = _make(tmp_path / f"p{dead}-0a1b2c3d4e")
    assert is_stale(fresh)                                   # owner gone: at once
    mine = _make(tmp_path / owned_name(""), hours=7)
    assert not is_stale(mine)                                # owner alive
    assert is_stale(mine, now=time.time() + 8 * 24 * 3600)   # ... unless absurdly old (PID reuse)
    anon = _make(tmp_path / "0a1b2c3d4e")
    assert not is_stale(anon) and is_stale(anon, max_age=-1)
    inner = _make(tmp_path / "1a1b2c3d4e", hours=7)
    (inner / "part.csv").write_text("still being written")  # a recent write inside counts
    assert not is_stale(inner)
