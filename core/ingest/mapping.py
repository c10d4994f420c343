"""Column mapping: canonical fields (docs/ARCHITECTURE.md §3) matched against source column names,
case- and space-insensitively, with user overrides ``field=Col`` or ``field=ColA+ColB`` (text
joined with a space; for ``timestamp`` date and time joined)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from core.errors import InputError, MappingError

FIELDS = ["order_id", "item_id", "item_name", "quantity", "unit_price", "line_total",
          "customer_id", "timestamp", "category"]
CATALOG_FIELDS = ["item_id", "item_name", "category", "unit_price", "cost"]
REQUIRED = ["order_id", "item_id"]

# Chinese headers are built from a noun and a suffix: 产品/商品/货品/菜品 + ID/编号/编码/代码 ...
_GOODS = ["商品", "产品", "货品", "菜品", "物品", "药品"]


def _zh(stems: list[str], suffixes: list[str]) -> list[str]:
    return [a + b for a in stems for b in suffixes]


# Highest priority first. Names are normalised: lower case, no spaces, '_', '-', '.', '/'.
SYNONYMS: dict[str, list[str]] = {
    "order_id": ["orderid", "invoiceno", "invoice", "invoiceid", "invoicenumber", "ordernumber",
                 "orderno", "order", "transactionid", "transactionno", "transaction", "basketid",
                 "basket", "receiptid", "receiptno", "receipt", "ticketid", "billno", "billid",
                 "订单号", "订单编号", "订单id", "订单编码", "订单", "单号", "单据号", "小票号",
                 "流水号", "交易号", "交易编号", "id"],
    "item_id": ["itemid", "stockcode", "sku", "lineitemsku", "productid", "productcode",
                "variantsku", "articleid", "itemcode", "dishesid", "dishid", "goodsid",
                "article", "item"] + _zh(_GOODS, ["编码", "id", "编号", "代码", "号"]) + [
                "ean", "barcode", "upc"],
    "timestamp": ["timestamp", "invoicedate", "orderdate", "createdat", "transactiontimestamp",
                  "transactiondate", "purchasedate", "datetime", "orderdatetime", "paidat",
                  "placeordertime", "ordertime", "下单时间", "订单时间", "购买时间", "交易时间",
                  "销售时间", "购药时间", "销售日期", "订单日期", "交易日期", "日期", "时间",
                  "date"],
    "customer_id": ["customerid", "customer", "userid", "householdid", "clientid", "memberid",
                    "membernumber", "memberno", "cardno", "cardnumber", "accountid",
                    "customeremail", "email", "客户id", "客户编号", "客户号", "会员id", "会员号",
                    "会员编号", "会员卡号", "用户id", "顾客id", "社保卡号", "卡号", "buyer"],
    "quantity": ["quantity", "qty", "lineitemquantity", "units", "销售数量", "数量", "购买数量",
                 "counts", "count"],
    "unit_price": ["unitprice", "price", "lineitemprice", "itemprice", "saleprice",
                   "sellingprice", "单价", "销售单价", "售价", "价格", "listprice"],
    # a line's revenue (quantity x unit price): the unit price is derived from it when the file
    # has no unit price column
    "line_total": ["linetotal", "lineamount", "linerevenue", "sales", "salesamount", "revenue",
                   "实收金额", "销售额", "销售金额", "应收金额"],
    "item_name": ["itemname", "description", "productname", "title", "lineitemname",
                  "productdescription", "itemdescription", "dishesname", "dishname", "goodsname",
                  "goods", "product"] + _zh(_GOODS, ["名称", "名", "标题"]) + [
                  "名称", "name", "item"],
    "category": ["subcategory", "category", "productcategory", "department", "aisle",
                 "producttype", "parentclassname", "子类别", "类别", "品类", "类目", "分类",
                 "level2", "level1"],
    "cost": ["cost", "unitcost", "costprice", "cogs", "成本"],
}


# Too generic to make a product of on their own: an orders table's "name" is a person's name.
# They name items when an item id exists, but never become the item id (`id, Goods` does).
GENERIC_NAMES = {"name", "名称", "title"}


def norm(name: str) -> str:
    return re.sub(r"[\s_\-./]+", "", str(name).strip().lstrip("\ufeff").lower())


def match_columns(columns: list[str], fields: list[str] | None = None) -> dict[str, str]:
    """Automatic mapping field -> column for the given header (each column used once)."""
    fields = fields or FIELDS
    normed = {c: norm(c) for c in columns}
    combined: dict[str, str] = {}
    if "timestamp" in fields:  # a date column and a time column, and nothing better
        date = next((c for c in columns if normed[c] in ("date", "orderdate", "day")), None)
        time_ = next((c for c in columns if normed[c] in ("time", "ordertime")), None)
        stronger = [c for c in columns if normed[c] in SYNONYMS["timestamp"]
                    and normed[c] not in ("date", "orderdate")]
        if date and time_ and not stronger:
            combined["timestamp"] = f"{date}+{time_}"
    shopify = "lineitemname" in normed.values() or "lineitemsku" in normed.values()
    taken: set[str] = set()
    out: dict[str, str] = {}
    taken.update(p for spec in combined.values() for p in spec.split("+"))
    out.update(combined)
    order = [f for f in ["order_id", "item_id", "timestamp", "customer_id", "quantity",
                         "unit_price", "line_total", "item_name", "category", "cost"]
             if f in fields and f not in combined]
    for f in order:
        syns = list(SYNONYMS[f])
        if f == "order_id" and shopify:
            syns.insert(0, "name")  # Shopify's order number column is "Name"
        for syn in syns:
            hit = next((c for c in columns if normed[c] == syn and c not in taken), None)
            if hit is not None:
                out[f] = hit
                taken.add(hit)
                break
    return out


def check_header(columns: list[str], file: str) -> None:
    """Duplicate or empty column names are refused with the positions named."""
    counts = Counter(columns)
    dups = [c for c, n in counts.items() if n > 1]
    if dups:
        where = "; ".join(
            f"{c!r} at columns {', '.join(str(i + 1) for i, x in enumerate(columns) if x == c)}"
            for c in dups)
        raise InputError(f"{file}: duplicate column names ({where}). Rename them so each column "
                         "has its own name, then upload again.", file=file, columns=columns)


def split_spec(spec: str) -> list[str]:
    return [p.strip() for p in spec.split("+") if p.strip()]


CUSTOMER_DAY = "(customer + day)"

# The fields in words, for explanations and messages.
FIELD_TEXT = {"order_id": "order id", "item_id": "item id", "item_name": "item name",
              "quantity": "quantity", "unit_price": "unit price", "line_total": "line total",
              "customer_id": "customer", "timestamp": "date / time", "category": "category",
              "cost": "cost"}


@dataclass
class Detection:
    """The mapping of the order lines and of the catalog (``{field: [columns]}``; ``order_id:
    []`` = one customer on one day), per ``(source, field)`` why that column was taken, and
    ``notes``: sentences for the user about a mapping the files' contents decided (item names
    built from a catalog's columns, ``core.ingest.catalog_text``)."""

    lines: dict[str, list[str]]
    catalog: dict[str, list[str]]
    why: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def explain(self) -> list[dict[str, str]]:
        """One row per mapped field: ``column``, ``field`` (its words), ``source`` (``order
        lines`` or ``catalog``), ``why``."""
        rows = []
        for source, fmap in (("order lines", self.lines), ("catalog", self.catalog)):
            for f in [f for f in FIELDS + ["cost"] if f in fmap]:
                rows.append({"column": "+".join(fmap[f]) or CUSTOMER_DAY, "field": FIELD_TEXT[f],
                             "source": source, "why": self.why.get((source, f), "")})
        return rows


def _auto(columns: list[str], fields: list[str] | None, source: str,
          why: dict[tuple[str, str], str]) -> dict[str, list[str]]:
    """``match_columns`` as ``{field: [columns]}``, with the reason for each match."""
    out = {f: split_spec(c) for f, c in match_columns(columns, fields).items()}
    for f, cols in out.items():
        if len(cols) > 1:
            why[(source, f)] = "a date column and a time column, joined"
        elif f == "order_id" and norm(cols[0]) == "name":
            why[(source, f)] = "Shopify's order number column (Name)"
        else:
            syn = norm(cols[0])
            why[(source, f)] = ("header synonym" + (f" '{syn}'" if syn != cols[0] else "")
                                + (" (joins the catalog to the order lines)"
                                   if source == "catalog" and f == "item_id" else ""))
    return out


def detect(lines_cols: list[str], catalog_cols: list[str] | None = None,
           overrides: dict[str, str] | None = None, *, file: str = "the order lines",
           catalog_file: str | None = None, strict: bool = False) -> Detection:
    """The one column detection of preview, data check and ingest: header synonyms
    (``match_columns``), then the user's overrides (``field=Col``, ``field=ColA+ColB``; an empty
    value unmaps the field; ``order_id=(customer + day)`` asks for the derived order id), then the
    rules of docs/ARCHITECTURE.md §3: an item name is the item id when there is no id column, one
    customer on one day is an order when there is no order id, a line total is used only without
    a unit price, and one column feeds one field. A column named in an override is looked up in
    the lines file first, then in the catalog. ``strict`` (ingest, data check) raises
    ``MappingError`` when no order id or item id can be found or the catalog has no item id;
    unknown fields and columns in ``overrides`` always raise."""
    overrides = overrides or {}
    bad = [f for f in overrides if f not in FIELDS + ["cost"]]
    if bad:
        raise MappingError(f"unknown field {bad[0]!r} in --map; fields are: "
                           f"{', '.join(FIELDS + ['cost'])}", file=file)
    why: dict[tuple[str, str], str] = {}
    lines_map = _auto(lines_cols, None, "order lines", why)
    cat_map: dict[str, list[str]] = {}
    if catalog_cols is not None:
        cat_map = _auto(catalog_cols, CATALOG_FIELDS, "catalog", why)
    lower_lines = {norm(c): c for c in lines_cols}
    lower_cat = {norm(c): c for c in (catalog_cols or [])}
    for f, spec in overrides.items():
        parts = split_spec(spec)
        if f == "order_id" and spec.strip() == CUSTOMER_DAY:
            lines_map[f] = []
            why[("order lines", f)] = "your choice: one customer on one day is one order"
            continue
        if not parts:
            lines_map.pop(f, None)
            cat_map.pop(f, None)
            continue
        in_lines = [lower_lines.get(norm(p)) for p in parts]
        in_cat = [lower_cat.get(norm(p)) for p in parts]
        if all(in_lines):
            lines_map[f] = in_lines  # type: ignore[assignment]
            why[("order lines", f)] = "your choice"
            if f == "item_id" and catalog_cols is not None and all(in_cat):
                cat_map[f] = in_cat  # type: ignore[assignment]
                why[("catalog", f)] = "your choice (joins the catalog to the order lines)"
            elif f != "item_id":
                cat_map.pop(f, None)
        elif catalog_cols is not None and all(in_cat) and f in CATALOG_FIELDS:
            cat_map[f] = in_cat  # type: ignore[assignment]
            why[("catalog", f)] = "your choice"
            if f != "item_id":
                lines_map.pop(f, None)
        else:
            missing = [p for p, a, b in zip(parts, in_lines, in_cat) if not a and not b]
            seen = ", ".join(lines_cols) + (f"; catalog: {', '.join(catalog_cols)}"
                                            if catalog_cols else "")
            raise MappingError(f"--map {f}={spec}: no column named {missing[0]!r} in {file}"
                               f"{' or ' + catalog_file if catalog_file else ''}. Columns seen: "
                               f"{seen}", file=file, columns=lines_cols)
    _rules(lines_map, overrides, why)
    if strict:
        _require(lines_map, lines_cols, catalog_cols, cat_map, file, catalog_file)
    return Detection(lines_map, cat_map, why)


def _rules(lines_map: dict[str, list[str]], overrides: dict[str, str],
           why: dict[tuple[str, str], str]) -> None:
    """The rules of docs/ARCHITECTURE.md §3, applied in place after the overrides."""
    # one source column must not feed two fields of the lines
    used = Counter(c for cols in lines_map.values() for c in cols)
    for f in list(lines_map):
        if f not in overrides and any(used[c] > 1 for c in lines_map[f]):
            lines_map.pop(f)
            used = Counter(c for cols in lines_map.values() for c in cols)
    if "unit_price" in lines_map and "line_total" not in overrides:
        lines_map.pop("line_total", None)  # a unit price is there: the line total is not needed
    if "line_total" in lines_map and "unit_price" not in lines_map:
        total = "+".join(lines_map["line_total"])
        qty = "+".join(lines_map.get("quantity", []))
        rule = f"{total} / {qty}" if qty else f"{total} (no quantity column)"
        why[("order lines", "line_total")] = (f"{why.get(('order lines', 'line_total'), '')}; "
                                              f"no unit price column: unit price = {rule}"
                                              ).lstrip("; ")
    if "item_id" not in lines_map and "item_name" in lines_map \
            and not any(norm(c) in GENERIC_NAMES for c in lines_map["item_name"]):
        lines_map["item_id"] = list(lines_map["item_name"])  # names are the ids (`id, Goods`)
        why[("order lines", "item_id")] = "no item id column: the item name is the id"
    if "order_id" not in lines_map and "order_id" not in overrides \
            and "customer_id" in lines_map and "timestamp" in lines_map:
        lines_map["order_id"] = []  # no order id: one customer on one day is one basket
        why[("order lines", "order_id")] = ("no order id column: one customer on one day is one "
                                            "order")


def _require(lines_map, lines_cols, catalog_cols, cat_map, file, catalog_file) -> None:
    if lines_map.get("order_id") == [] and not ("customer_id" in lines_map
                                                and "timestamp" in lines_map):
        raise MappingError(f"{file}: an order id of {CUSTOMER_DAY} needs a customer column and a "
                           f"date column. Columns seen: {', '.join(lines_cols)}.", file=file,
                           columns=lines_cols)
    for f in REQUIRED:
        if f not in lines_map:
            what = "an order id (one id per order, e.g. InvoiceNo)" if f == "order_id" else \
                "an item id (e.g. SKU or StockCode)"
            raise MappingError(
                f"{file}: no column that can be {what}. Columns seen: {', '.join(lines_cols)}. "
                f"Map one with --map {f}=COLUMN (CLI) or the column selector (Upload page); for a "
                "file with one basket per line and no header, use the baskets layout.",
                file=file, columns=lines_cols)
    if catalog_cols is not None and "item_id" not in cat_map:
        raise MappingError(
            f"{catalog_file}: no column that can be the item id to join the catalog on. Columns "
            f"seen: {', '.join(catalog_cols)}. Name it with --map item_id=COLUMN (it must be the "
            "same column name in both files) or rename it to item_id.",
            file=catalog_file, columns=catalog_cols)


def resolve(lines_cols: list[str], catalog_cols: list[str] | None, overrides: dict[str, str],
            *, file: str, catalog_file: str | None = None) -> tuple[dict[str, list[str]],
                                                                   dict[str, list[str]]]:
    """Final mapping for the order lines and the catalog: ``{field: [columns]}`` each
    (``detect`` with ``strict``). Raises ``MappingError`` for unknown fields/columns and when no
    order id or item id column can be found, naming the columns seen."""
    d = detect(lines_cols, catalog_cols, overrides, file=file, catalog_file=catalog_file,
               strict=True)
    return d.lines, d.catalog


def derived_order_id(mapping: dict[str, list[str]]) -> bool:
    """True when the file has no order id and a basket is one customer on one day."""
    return mapping.get("order_id") == []


def describe(mapping: dict[str, list[str]]) -> dict[str, str]:
    """``{field: "ColA+ColB"}`` for reports and the CLI JSON; a derived order id reads
    ``(customer + day)``."""
    return {f: "+".join(cols) if cols or f != "order_id" else CUSTOMER_DAY
            for f, cols in mapping.items()}
