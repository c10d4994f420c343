"""File sniffing never crashes with a traceback: odd but real exports load, junk is refused with an
``InputError`` naming the file, what was found and what to do; the workspace stays unchanged."""

from __future__ import annotations

import gzip

import pytest

from core.errors import InputError
from core.ingest.load import ingest
from core.ingest.sniff import SAMPLE_BYTES, sniff

GOOD = "order,item,qty\n1,a,1\n1,b,2\n2,a,1\n"
GROCERIES = ("citrus fruit,semi-finished bread,margarine,ready soups\n"
             "tropical fruit,yogurt,coffee\nwhole milk\n"
             "pip fruit,yogurt,cream cheese ,meat spreads\n")


def put(path, data: bytes):
    path.write_bytes(data)
    return path


def refused(ws, path, pattern):
    """ingest raises an InputError whose message names the file and matches ``pattern``."""
    with pytest.raises(InputError, match=pattern) as err:
        ingest(ws, path)
    assert path.name in str(err.value)
    assert ws.datasets().empty
    assert not list(ws.tmp_dir.glob("ingest-*"))
    return str(err.value)


# 1. fields and lines longer than Python's csv limit: sniffing reads bounded bytes only

def test_field_over_csv_limit_loads(ws, tmp_path):
    big = "x" * 200_000  # over csv.field_size_limit() (131,072): old sniffing raised _csv.Error
    f = put(tmp_path / "long.csv", f"order,item,note\n1,a,{big}\n1,b,short\n2,a,\n".encode())
    s = ingest(ws, f)
    assert s["rows_kept"] == 3 and s["delimiter"] == ","


def test_basket_item_over_csv_limit_is_refused(ws, tmp_path):
    f = put(tmp_path / "b.csv", f"milk,bread\n{'x' * 200_000},eggs\nmilk\n".encode())
    msg = refused(ws, f, r"line 2 cannot be read as a basket")
    assert "longer than 131,072 characters" in msg


def test_line_longer_than_duckdb_limit_is_refused(ws, tmp_path):
    f = put(tmp_path / "huge.csv", f"order,item,note\n1,a,{'x' * 2_100_000}\n2,b,c\n".encode())
    refused(ws, f, r"line 2 is longer than 2,000,000 characters")


def test_first_line_longer_than_duckdb_limit_is_refused(ws, tmp_path):
    f = put(tmp_path / "one.csv", b"x" * 2_100_000 + b"\nmilk\n")
    refused(ws, f, r"no line break in its first 2,000,000 bytes")


def test_header_wider_than_the_sample_loads(ws, tmp_path):
    header = ["order", "item"] + [f"attribute_number_{i:05d}" for i in range(SAMPLE_BYTES // 20)]
    row = ["1", "a"] + [""] * (len(header) - 2)
    f = put(tmp_path / "wide.csv", (",".join(header) + "\n" + ",".join(row) + "\n").encode())
    assert len(header[0]) + sum(len(h) + 1 for h in header) > SAMPLE_BYTES
    sn = sniff(f, tmp_path / "tmp")
    assert sn.header == header and sn.kind == "csv"


# 2. compression from the magic bytes, damaged gzip refused wherever it is read

def test_gzip_not_named_gz_and_plain_named_gz(ws, tmp_path):
    s = ingest(ws, put(tmp_path / "packed.csv", gzip.compress(GOOD.encode())))
    assert s["rows_kept"] == 3 and "gzip-compressed" in s["notes"][0]
    s = ingest(ws, put(tmp_path / "plain.csv.gz", GOOD.encode()))
    assert s["dataset"] == "plain" and s["rows_kept"] == 3


def test_corrupt_gzip_head_is_refused(ws, tmp_path):
    data = gzip.compress(("order,item\n" + "".join(f"{i},A{i % 7}\n" for i in range(2000)))
                         .encode(), mtime=0)
    bad = bytearray(data)
    bad[12] ^= 0xFF  # zlib.error: invalid code lengths set (was a traceback)
    refused(ws, put(tmp_path / "bad.csv.gz", bytes(bad)), r"gzip compression is damaged")


def test_gzip_truncated_after_the_sample_is_refused(ws, tmp_path):
    text = "order,item,qty\n" + "".join(f"{i},A{i * 7919 % 1000},1\n" for i in range(60_000))
    data = gzip.compress(text.encode(), mtime=0)
    f = put(tmp_path / "cut.csv.gz", data[: len(data) * 3 // 4])
    refused(ws, f, r"cut\.csv\.gz: the gzip compression is damaged")


# 3. a UTF-8 BOM followed by Latin-1 bytes

def test_bom_then_latin1_is_read_as_cp1252(ws, tmp_path):
    body = "order_id,sku,title,qty\n" + "".join(f"{o},A{o % 3},Crème brûlée {o % 3},1\n"
                                                 for o in range(1, 40))
    s = ingest(ws, put(tmp_path / "bom.csv", b"\xef\xbb\xbf" + body.encode("cp1252")))
    assert s["encoding"] == "cp1252" and s["mapping"]["order_id"] == "order_id"
    assert "Crème brûlée 1" in set(ws.items(s["dataset"])["item_name"])


def test_bom_then_latin1_after_the_first_megabyte(ws, tmp_path):
    rows = "".join(f"{o},A{o % 3},plain {o % 3},1\n" for o in range(1, 60_000))
    body = ("order_id,sku,title,qty\n" + rows).encode() + "9999999,Z,Crème,1\n".encode("cp1252")
    assert len(body) > 1024 * 1024
    s = ingest(ws, put(tmp_path / "late.csv", b"\xef\xbb\xbf" + body))
    assert s["encoding"] == "cp1252" and "Crème" in set(ws.items(s["dataset"])["item_name"])


# 4. junk is refused; Excel's sep= line is a delimiter hint

@pytest.mark.parametrize("name, data, pattern", [
    ("byte.csv", b"\x9c", r"holds only 1 character"),
    ("wide.csv", GOOD.encode("utf-32"), r"saved as UTF-32 text.*save it again as UTF-8"),
    ("wide_nobom.csv", GOOD.encode("utf-16-le"), r"UTF-16 or UTF-32 text without a byte-order"),
    ("mainframe.csv", GOOD.encode("cp500") * 5, r"looks like EBCDIC text"),
    ("mainframe_b.csv", GROCERIES.encode("cp500"), r"looks like EBCDIC text"),
    ("page.csv", b"\n  <!DOCTYPE html>\n<html><body>Please log in</body></html>\n",
     r"is a web page \(HTML\)"),
    ("feed.csv", b"<?xml version='1.0'?>\n<orders><o id='1'/></orders>\n", r"is an XML document"),
    ("ctrl.csv", bytes(range(1, 32)) * 10 + b"\nmilk,bread\n", r"does not look like text"),
    ("dots.csv", b"...\n---\n", r"has no letters or digits"),
])
def test_junk_is_refused(ws, tmp_path, name, data, pattern):
    refused(ws, put(tmp_path / name, data), pattern)


@pytest.mark.parametrize("hint, delim", [("sep=;", ";"), ("sep=,", ","), ("sep=\t", "\t"),
                                         ("sep=|", "|"), ('"sep=;"', ";")])
def test_excel_sep_line_is_the_delimiter_and_skipped(ws, tmp_path, hint, delim):
    text = f"{hint}\r\n" + GOOD.replace(",", delim).replace("\n", "\r\n")
    s = ingest(ws, put(tmp_path / "excel.csv", text.encode()))
    assert s["delimiter"] == delim and s["layout"] == "csv"
    assert s["mapping"]["order_id"] == "order" and s["rows_kept"] == 3
    assert ws.lines("excel")["item_id"].tolist() == ["a", "b", "a"]


def test_excel_sep_line_odd_forms(ws, tmp_path):
    # "sep=;\r" + "\r\n" leaves a blank line before the header; a hint that does not split
    # the header (SEP=; over commas) is skipped but not used
    s = ingest(ws, put(tmp_path / "cr.csv", ("sep=;\r\r\n" + GOOD.replace(",", ";")).encode()))
    assert (s["delimiter"], s["rows_read"], s["rows_kept"]) == (";", 3, 3)
    s = ingest(ws, put(tmp_path / "wrong.csv", ("\ufeffSEP=;\n" + GOOD).encode()))
    assert (s["delimiter"], s["rows_read"], s["rows_kept"]) == (",", 3, 3)


def test_blank_lines_before_the_header(ws, tmp_path):
    s = ingest(ws, put(tmp_path / "lead.csv", ("\n \r\n" + GOOD).encode()))
    assert s["rows_read"] == 3 and s["dropped"] == {}  # was 4: the header read as a data row
    assert s["mapping"]["order_id"] == "order"


def test_excel_sep_line_latin1_and_sniff_output(tmp_path):
    f = put(tmp_path / "de.csv", "sep=;\nBestellung;Artikel;Name\n1;A;Crème\n2;B;Brot\n"
            .encode("cp1252"))
    sn = sniff(f, tmp_path / "tmp")
    assert (sn.delimiter, sn.header, sn.encoding, sn.temp) == (
        ";", ["Bestellung", "Artikel", "Name"], "cp1252", True)
    assert sn.path.read_text(encoding="utf-8").splitlines()[0] == "Bestellung;Artikel;Name"


def test_valid_baskets_still_load(ws, tmp_path):
    s = ingest(ws, put(tmp_path / "groceries.csv", GROCERIES.encode()))
    assert s["layout"] == "baskets" and s["orders"] == 4 and s["rows_read"] == 12


def test_ingest_connection_follows_the_machine_within_the_memory_limit(monkeypatch):
    """DuckDB gets the machine's cores, but no more threads than fit in its memory limit."""
    import duckdb

    from core.ingest import rawread

    for cores, threads in ((1, 1), (4, 4), (64, rawread.MAX_THREADS)):
        monkeypatch.setenv("BUNDLELAB_THREADS", str(cores))
        con = duckdb.connect()
        rawread.configure(con)
        got = con.execute("SELECT current_setting('threads'), "
                          "current_setting('preserve_insertion_order')").fetchone()
        assert got == (threads, True)
        con.close()
