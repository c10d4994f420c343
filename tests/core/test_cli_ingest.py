"""CLI: exit codes, one-line errors, the JSON summary; core never imports streamlit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True)


def test_ingest_json_summary(tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text("order,item,qty,customer\n1,a,1,x@y.com\n1,b,2,x@y.com\n2,a,-1,z\n")
    r = cli("ingest", f, "--workspace", tmp_path / "ws", "--json", "--dataset", "shop")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("dataset", "rows_read", "rows_kept", "dropped", "orders", "items", "customers",
                "date_min", "date_max", "mapping"):
        assert key in out
    assert out["dataset"] == "shop" and out["rows_read"] == 3 and out["rows_kept"] == 2
    assert out["dropped"] == {"non_positive_quantity": 1}
    assert out["rows_read"] == out["rows_kept"] + sum(out["dropped"].values())


def test_ingest_map_option(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("A,B,C\n1,x,2024-01-01\n1,y,2024-01-01\n")
    r = cli("ingest", f, "--workspace", tmp_path / "ws", "--json",
            "--map", "order_id=A", "--map", "item_id=B", "--map", "timestamp=C")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["mapping"] == {
        "order_id": "A", "item_id": "B", "timestamp": "C"}


def test_user_error_exit_2_one_line(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("")
    r = cli("ingest", f, "--workspace", tmp_path / "ws")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: empty.csv is empty (0 bytes). Export the orders again; the file should have a "
        "header line and one line per order line."]
    r = cli("ingest", tmp_path / "missing.csv", "--workspace", tmp_path / "ws")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = cli("ingest", f, "--map", "nonsense", "--workspace", tmp_path / "ws")
    assert r.returncode == 2 and "is not field=Column" in r.stderr


def test_core_never_imports_streamlit():
    code = ("import sys, pkgutil, importlib, core\n"
            "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
            "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            "print('streamlit' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    for path in (ROOT / "core").rglob("*.py"):
        assert "import streamlit" not in path.read_text(), path


def test_keep_placeholders_option(tmp_path):
    f = tmp_path / "pos.csv"
    f.write_text("Transaction,Item\n1,Bread\n1,NONE\n2,Coffee\n2,Tea\n")
    r = cli("ingest", f, "--workspace", tmp_path / "ws", "--json")
    assert json.loads(r.stdout.splitlines()[-1])["dropped"] == {"placeholder_item": 1}
    r = cli("ingest", f, "--workspace", tmp_path / "ws", "--json", "--keep-placeholders",
            "--dataset", "all")
    assert json.loads(r.stdout.splitlines()[-1])["rows_kept"] == 4
