"""Bad input gets a clear, specific error and changes nothing in the workspace."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.errors import InputError, MappingError, WorkspaceBusy
from core.progress import Cancelled
from core.ingest.load import IngestOptions, ingest

ROOT = Path(__file__).resolve().parents[2]
GOOD = "order,item,qty\n1,a,1\n1,b,2\n2,a,1\n"


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def loaded(ws, tmp_path):
    """A workspace that already holds dataset 'shop' (it must survive every failure)."""
    ingest(ws, write(tmp_path / "good.csv", GOOD), dataset="shop")
    return ws


def unchanged(ws):
    assert ws.datasets()["name"].tolist() == ["shop"]
    assert len(ws.lines("shop")) == 3
    assert ws.info("shop")["version"] == 1
    assert sorted(p.name for p in (ws.uploads_dir).iterdir()) == ["shop"]


def test_empty_file(loaded, tmp_path):
    with pytest.raises(InputError, match=r"empty\.csv is empty \(0 bytes\)"):
        ingest(loaded, write(tmp_path / "empty.csv", ""), dataset="shop")
    unchanged(loaded)


def test_header_only(loaded, tmp_path):
    with pytest.raises(InputError, match=r"h\.csv has a header \(order, item, qty\) but no data rows"):
        ingest(loaded, write(tmp_path / "h.csv", "order,item,qty\n"), dataset="shop")
    unchanged(loaded)


def test_binary_file(loaded, tmp_path):
    f = tmp_path / "photo.csv"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    with pytest.raises(InputError, match="looks like a PNG image, not a table"):
        ingest(loaded, f, dataset="shop")
    g = tmp_path / "blob.bin"
    g.write_bytes(b"abc\x00\x01\x02" * 100)
    with pytest.raises(InputError, match="binary file"):
        ingest(loaded, g, dataset="shop")
    unchanged(loaded)


def test_no_order_or_item_column(loaded, tmp_path):
    with pytest.raises(MappingError) as err:
        ingest(loaded, write(tmp_path / "x.csv", "colour,size,weight\nred,1,2\nblue,1,3\n"),
               dataset="shop")
    msg = str(err.value)
    assert "x.csv: no column that can be an order id" in msg
    assert "Columns seen: colour, size, weight" in msg and "--map order_id=COLUMN" in msg
    unchanged(loaded)


def test_map_unknown_column(loaded, tmp_path):
    with pytest.raises(MappingError, match=r"--map item_id=Artikel: no column named 'Artikel'"):
        ingest(loaded, write(tmp_path / "g.csv", GOOD), dataset="shop",
               options=IngestOptions(mapping={"item_id": "Artikel"}))
    unchanged(loaded)


def test_ragged_rows(loaded, tmp_path):
    text = "order,item,name\n1,a,Mug\n1,b,Mug, large\n2,a,Mug\n3,c,Cup, blue, big\n"
    with pytest.raises(InputError) as err:
        ingest(loaded, write(tmp_path / "r.csv", text), dataset="shop")
    msg = str(err.value)
    assert "r.csv: rows with more fields than the header's 3 columns" in msg
    assert "row 2 (4 fields), row 4 (5 fields)" in msg and "quote such fields" in msg
    unchanged(loaded)


def test_duplicate_column_names(loaded, tmp_path):
    with pytest.raises(InputError, match=r"duplicate column names \('price' at columns 3, 4\)"):
        ingest(loaded, write(tmp_path / "d.csv", "order,item,price,price\n1,a,1,2\n"),
               dataset="shop")
    unchanged(loaded)


def test_bad_quantities_are_reported_not_raised(ws, tmp_path):
    s = ingest(ws, write(tmp_path / "q.csv", "order,item,qty\n1,a,abc\n1,b,2\n2,a,1,\n"))
    assert s["dropped"] == {"unparseable_quantity": 1}
    ex = ws.dropped_examples("q")
    assert ex.iloc[0].line_no == 1 and json.loads(ex.iloc[0].detail)["qty"] == "abc"


def test_unparseable_dates_drop_or_keep(ws, tmp_path):
    text = "order,item,date\n1,a,2024-01-01\n2,b,soon\n3,c,2024-01-03\n4,d,??\n"
    s = ingest(ws, write(tmp_path / "dates.csv", text))
    assert s["dropped"] == {"unparseable_timestamp": 2}
    assert ws.dropped_examples("dates")["line_no"].tolist() == [2, 4]
    s = ingest(ws, tmp_path / "dates.csv", options=IngestOptions(bad_dates="keep"))
    assert s["rows_kept"] == 4 and ws.lines("dates")["timestamp"].isna().sum() == 2


def test_cancelled_ingest_leaves_workspace_unchanged(loaded, tmp_path):
    calls = []

    def progress(fraction, message):
        calls.append(message)
        if fraction >= 0.5:
            raise Cancelled()

    with pytest.raises(Cancelled):
        ingest(loaded, write(tmp_path / "new.csv", GOOD * 1 + "3,c,1\n"), dataset="shop",
               progress=progress)
    unchanged(loaded)
    assert not list(loaded.tmp_dir.glob("ingest-*"))


def test_workspace_busy_when_another_process_writes(loaded, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(loaded.db_path)!r})
        print("locked", flush=True)
        time.sleep(20)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceBusy, match="workspace busy: another BundleLab process"):
            with loaded.connect(wait=0.5):
                pass
        r = subprocess.run([sys.executable, "-m", "core", "ingest", str(write(tmp_path / "n.csv", GOOD)),
                            "--workspace", str(loaded.root)], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: workspace busy")
        assert "Traceback" not in r.stderr
    finally:
        holder.kill()
        holder.wait()
    unchanged(loaded)
