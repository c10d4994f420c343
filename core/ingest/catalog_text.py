"""Item names from a catalog's descriptive columns, when no file has a name column.

A grocery chain's ``products.csv`` may hold ``product_id, department, brand, product_category,
product_type, package_size`` and no name: bundles would then read as ids (``1082185 +
1029743``). ``add_item_names`` gives the catalog's ``item_name`` the combination of its
descriptive text columns (``brand+product_type+product_category+package_size``), the same
mechanism as ``--map item_name=A+B+C`` (``core.ingest.mapping``; text joined with a space), and
says so in the detection (``why`` and ``notes``), so the data check and the ingest report show
it. Only when neither file has a column detected as item name and the user mapped none (an
explicit mapping, even an empty one, always wins).

Which columns (``name_columns``), from a sample of the catalog's rows: text columns with more
than one value, filled on at least half of the rows; not the join key, not a mapped price or
cost, not a column whose name says id/code/price/date/quantity, not mostly numbers or dates,
not near-unique codes (``A-1093``), not long free text. The most specific first, by the column
name: type, category, brand, size, other text, then department; at most ``MAX_PARTS``, shown
with the brand first (``brand+product_type+product_category+package_size``). A
catalog whose only such column is the category gets no built names (every item would be
named after its category).
"""

from __future__ import annotations

import csv
import re
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.errors import InputError
from core.ingest import parquet
from core.ingest.mapping import Detection, norm
from core.ingest.streams import GZIP_ERRORS, LineTooLong, bounded_lines, open_text

MAX_PARTS = 4
SAMPLE_ROWS = 20_000  # catalog rows looked at (the whole of most catalogs)
MAX_MEDIAN_CHARS = 80  # longer values are free text (descriptions), not a label

# Specificity ranks by parts of the normalised column name, most specific first; a column
# without a hint ranks between sizes and departments.
RANKS = [
    ["subcat", "subcommodity", "type", "variety", "flavor", "flavour", "style", "model", "kind",
     "类型", "型号", "口味"],
    ["category", "commodity", "class", "group", "family", "类别", "品类", "分类", "类目"],
    ["brand", "manufacturer", "maker", "品牌", "厂家"],
    ["size", "package", "pack", "weight", "volume", "color", "colour", "规格", "包装"],
    [],  # no hint
    ["department", "dept", "aisle", "section", "division", "部门"],
]
NO_HINT = 4
BRAND = 2  # the rank of brand columns

# Words of a column name that rule it out: ids and codes, money, dates, quantities.
SKIP_WORDS = {"id", "code", "sku", "ean", "upc", "gtin", "barcode", "plu", "no", "nr", "number",
              "num", "key", "ref", "price", "cost", "amount", "value", "margin", "tax", "vat",
              "msrp", "rrp", "date", "time", "day", "year", "month", "created", "updated", "qty",
              "quantity", "stock", "inventory", "count", "sales", "url", "image", "link"}
SKIP_PARTS = ["编码", "编号", "代码", "价", "成本", "日期", "时间", "库存", "数量"]

_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_NUMBER = re.compile(r"^[-+]?[$€£¥]?\s*[0-9][0-9,]*(\.[0-9]+)?\s*%?$")
_DATE = re.compile(r"^[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}([ T].*)?$")


def sample(path: Path, delimiter: str, limit: int = SAMPLE_ROWS) -> list[list[str]]:
    """The first ``limit`` data rows of a sniffed (UTF-8) catalog, or of a Parquet one; fewer
    when the file ends or cannot be parsed further (reading it later reports that)."""
    if parquet.is_parquet(path):
        try:
            return parquet.head_rows(Path(path), Path(tempfile.gettempdir()), limit)
        except InputError:
            return []
    rows: list[list[str]] = []
    try:
        with open_text(path, "utf-8") as text:
            reader = csv.reader(bounded_lines(text), delimiter=delimiter)
            next(reader, None)
            for row in reader:
                rows.append(row)
                if len(rows) >= limit:
                    break
    except (csv.Error, LineTooLong, OSError, UnicodeError, *GZIP_ERRORS):
        pass
    return rows


def _skipped_name(column: str) -> bool:
    words = {w.lower() for w in _WORDS.findall(column)}
    return bool(words & SKIP_WORDS) or any(p in column for p in SKIP_PARTS)


def _rank(column: str) -> int:
    name = norm(column)
    return next((i for i, hints in enumerate(RANKS) if any(h in name for h in hints)), NO_HINT)


def _descriptive(values: list[str], n_rows: int) -> bool:
    """A column of labels: filled on at least half of the rows, more than one value, not
    numbers, dates, near-unique codes or long free text."""
    filled = [v for v in values if v]
    if not filled or len(filled) < n_rows / 2 or len(set(filled)) < 2:
        return False
    n = len(filled)
    if sum(bool(_NUMBER.match(v)) for v in filled) >= 0.9 * n:
        return False
    if sum(bool(_DATE.match(v)) for v in filled) >= 0.8 * n:
        return False
    if statistics.median(len(v) for v in filled) > MAX_MEDIAN_CHARS:
        return False
    codes = (len(set(filled)) >= 0.9 * n
             and sum(not any(c.isspace() for c in v) for v in filled) >= 0.9 * n
             and sum(any(c.isdigit() for c in v) for v in filled) >= 0.5 * n)
    return not codes


def name_columns(header: list[str], rows: list[list[str]], *, skip: set[str],
                 mapped: set[str] = frozenset()) -> list[str]:
    """The catalog columns to build item names from, most specific first (see the module
    docstring); [] when none qualifies beyond those in ``mapped`` (e.g. the category).
    ``skip``: columns never used (the join key, a mapped price or cost)."""
    found = []
    for i, column in enumerate(header):
        if column in skip or _skipped_name(column):
            continue
        values = [row[i].strip() if i < len(row) else "" for row in rows]
        if _descriptive(values, len(rows)):
            found.append((_rank(column), -len(set(values)), i, column))
    chosen = [column for *_, column in sorted(found)][:MAX_PARTS]
    # shown brand first, as shops write names ("National Soft Drinks 12oz Can ... 12 OZ"): the
    # bundle names then end on the product, not the brand or the size ("COFFEE National +
    # Private + National" became "COFFEE + BAKED BREAD/BUNS/ROLLS + CHEESE")
    chosen.sort(key=lambda column: _rank(column) != BRAND)
    return chosen if set(chosen) - set(mapped) else []


def add_item_names(det: Detection, header: list[str] | None,
                   rows: list[list[str]] | Callable[[], list[list[str]]],
                   overrides: dict[str, str] | None = None) -> None:
    """Give the catalog's ``item_name`` the combination of its descriptive columns (in place),
    when there is a catalog (with its join key), no file has an item name and ``overrides``
    names none; with the reason in ``det.why`` and a sentence in ``det.notes``. ``rows``: the
    catalog's sample rows, or a function reading them (called only when names are needed)."""
    if header is None or "item_id" not in det.catalog or "item_name" in (overrides or {}) \
            or "item_name" in det.lines or "item_name" in det.catalog:
        return
    skip = {c for f in ("item_id", "unit_price", "cost") for c in det.catalog.get(f, [])}
    mapped = {c for cols in det.catalog.values() for c in cols}
    cols = name_columns(header, rows() if callable(rows) else rows, skip=skip, mapped=mapped)
    if not cols:
        return
    det.catalog["item_name"] = cols
    parts = " + ".join(cols)
    det.why[("catalog", "item_name")] = (f"no name column in either file: built from the "
                                         f"catalog's descriptive columns ({parts})")
    det.notes.append(f"Item names built from {parts} (the catalog has no name column). Map "
                     "item_name to choose other columns.")
