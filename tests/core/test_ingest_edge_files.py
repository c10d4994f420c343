"""Valid files that were refused or misread: quoted newlines, very wide files, compression told
by the file's bytes rather than its name. Each failed before the fix."""

from __future__ import annotations

import gzip

from core.ingest.load import ingest
from core.workspace import Workspace

ROWS = "1,A,Apple,1\n1,B,Bread,2\n2,A,Apple,1\n2,C,Cheese,1\n"


def test_quoted_newline_in_a_short_row(tmp_path):
    f = tmp_path / "notes.csv"
    # a text field with a newline, and a row shorter than the header (null padding)
    f.write_text('order,item,name,qty,note\n1,A,"two\nlines",1,x\n1,B,b,2\n2,A,a,1,"y"\n')
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["rows_read"] == 3 and s["rows_kept"] == 3
    names = set(Workspace(tmp_path / "ws").items("notes")["item_name"])
    assert "two\nlines" in names


def test_ten_thousand_columns(tmp_path):
    f = tmp_path / "wide.csv"
    header = ["order", "item", "qty"] + [f"x{i}" for i in range(9997)]
    rows = [[str(r // 3), f"i{r % 5}", "1"] + [str(r * 7 + i) for i in range(9997)]
            for r in range(30)]
    rows.append(list(rows[0]))  # one exact duplicate of the whole row
    rows.append(rows[1][:3] + ["other"] * 9997)  # same order/item, other columns: not a duplicate
    f.write_text("\n".join(",".join(r) for r in [header] + rows) + "\n")
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["rows_read"] == 32
    assert s["dropped"] == {"duplicate_row": 1}
    assert s["rows_kept"] == 31 and s["orders"] == 10 and s["items"] == 5
    assert any("10,000 columns" in n for n in s["notes"])
    assert s["mapping"] == {"order_id": "order", "item_id": "item", "quantity": "qty"}
    assert not list((tmp_path / "ws" / "tmp").glob("ingest-*"))


def test_gzip_not_named_gz_and_plain_named_gz(tmp_path):
    ws = Workspace(tmp_path / "ws")
    text = "order,item,name,qty\n" + ROWS
    zipped = tmp_path / "orders_zipped.csv"
    zipped.write_bytes(gzip.compress(text.encode()))
    plain = tmp_path / "orders_plain.csv.gz"
    plain.write_text(text)
    assert ingest(ws, zipped, dataset="z")["rows_kept"] == 4
    assert ingest(ws, plain, dataset="p")["rows_kept"] == 4
