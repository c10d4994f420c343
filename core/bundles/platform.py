"""A bundle list in the formats shop platforms import (issue 16), next to the CSV/XLSX/JSON
tables of ``core.export``.

- **Parent/child CSV** (``parent_child_table``), the long format bundle apps and ERPs import:
  ``bundle_sku, bundle_title, bundle_price, component_sku, component_quantity``, one row per
  component. ``bundle_sku`` is ``BUNDLE-`` + the bundle id (``BUNDLE-B001``), unique within the
  list (``bundle_skus``); ``bundle_price`` is empty when unknown; ``component_quantity`` is 1
  (a bundle holds one of each item). Written by ``write_table``, so cells a spreadsheet could run
  as a formula are neutralised like every other CSV export.
- **Shopify** (``shopify_inputs``): a JSON list, one ``ProductBundleCreateInput`` per bundle
  (the ``input`` variable of the Admin GraphQL ``productBundleCreate`` mutation; send
  ``{"input": element}`` as its variables): ``title`` and ``components``, each with
  ``productId``, ``quantity`` (1) and ``optionSelections`` (required by the schema; written
  empty: fill in ``componentOptionId``/``name``/``values`` for components whose options the
  bundle should fix). BundleLab knows the shop's own item ids, not Shopify's product ids:
  ``productId`` holds the item id unless ``product_ids`` maps item ids to Shopify product ids
  (``gid://shopify/Product/<id>``, or the bare number); the caller maps them otherwise. The
  input has no price: Shopify prices a bundle on its parent variant (set it afterwards, e.g.
  from the parent/child CSV). Shopify's limits are refused with a ``BundleLabError``: at most
  30 components per bundle, and no nesting (a component may not be one of the list's bundles,
  i.e. one of its bundle SKUs).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from core.errors import BundleLabError
from core import export
from core.export import LIST_SEP, rounded, table_bytes, table_format

PARENT_CHILD_COLUMNS = ["bundle_sku", "bundle_title", "bundle_price", "component_sku",
                        "component_quantity"]
SKU_PREFIX = "BUNDLE-"
SHOPIFY_MAX_COMPONENTS = 30
SHOPIFY_PRODUCT_GID = "gid://shopify/Product/"
# export format -> the file suffix it writes
TABLE_FORMATS = {"csv": ".csv", "xlsx": ".xlsx", "json": ".json"}
PLATFORM_FORMATS = {"parent-child": ".csv", "shopify": ".json"}
EXPORT_FORMATS = {**TABLE_FORMATS, **PLATFORM_FORMATS}


def export_format(path: str | Path, fmt: str | None = None) -> str:
    """The format to write ``path`` in: ``fmt`` (one of ``EXPORT_FORMATS``) checked against the
    file's suffix, or, without ``fmt``, the table format of the suffix (``table_format``)."""
    if fmt is None:
        return table_format(path).lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise BundleLabError(f"unknown export format {fmt!r}: use one of "
                             f"{', '.join(EXPORT_FORMATS)}")
    want, name = EXPORT_FORMATS[fmt], Path(path).name
    if Path(path).suffix.lower() != want:
        raise BundleLabError(f"the {fmt} format writes a {want} file, not {name!r}: use e.g. "
                             f"--format {fmt} --out bundles{want}")
    return fmt


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).strip()


def _items(v: Any) -> list[str]:
    """One bundle's item ids as text, in order, each once (``rounded`` made them text)."""
    if isinstance(v, str):  # a table read back from CSV: "a | b"
        v = v.split(LIST_SEP.strip())
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    return list(dict.fromkeys(t for t in (_text(x) for x in v) if t))


def _price(v: Any) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return round(v, 2) if math.isfinite(v) else None


def _rows(bundles: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """The bundle SKUs and the list with ids as text (``core.export.rounded``)."""
    if "items" not in bundles.columns:
        raise BundleLabError("this table is not a bundle list (it has no 'items' column)")
    return bundle_skus(bundles), rounded(bundles).reset_index(drop=True)


def bundle_skus(bundles: pd.DataFrame) -> list[str]:
    """``BUNDLE-<bundle id>`` per row (characters other than letters, digits, ``.``, ``_`` and
    ``-`` become ``-``; the row's rank when it has no id), made unique with ``-2``, ``-3``...:
    the same list always gets the same SKUs."""
    ids = bundles["bundle_id"] if "bundle_id" in bundles.columns else [None] * len(bundles)
    seen: set[str] = set()
    out: list[str] = []
    for rank, bid in enumerate(rounded(pd.DataFrame({"bundle_id": list(ids)}))["bundle_id"], 1):
        part = re.sub(r"[^0-9A-Za-z._-]+", "-", _text(bid)).strip("-")
        base = SKU_PREFIX + (part or f"{rank:03d}")
        sku, n = base, 2
        while sku in seen:
            sku, n = f"{base}-{n}", n + 1
        seen.add(sku)
        out.append(sku)
    return out


def parent_child_table(bundles: pd.DataFrame) -> pd.DataFrame:
    """The long parent/child table: ``PARENT_CHILD_COLUMNS``, one row per component."""
    skus, r = _rows(bundles)
    names = r["name"] if "name" in r.columns else [""] * len(r)
    prices = r["bundle_price"] if "bundle_price" in r.columns else [None] * len(r)
    rows = [(sku, _text(name) or sku, _price(price), item, 1)
            for sku, name, price, items in zip(skus, names, prices, r["items"])
            for item in _items(items)]
    table = pd.DataFrame(rows, columns=PARENT_CHILD_COLUMNS)
    table["bundle_price"] = pd.to_numeric(table["bundle_price"], errors="coerce")
    table["component_quantity"] = table["component_quantity"].astype("int64")
    return table


def _product_id(item: str, product_ids: Mapping[str, str] | None) -> str | None:
    """The component's ``productId``: the item id, or its Shopify GID from ``product_ids``
    (None when the mapping lacks it)."""
    if product_ids is None:
        return item
    pid = _text(product_ids.get(item))
    if not pid:
        return None
    if pid.isdigit():
        return SHOPIFY_PRODUCT_GID + pid
    if not re.fullmatch(re.escape(SHOPIFY_PRODUCT_GID) + r"\d+", pid):
        raise BundleLabError(f"the Shopify product id {pid!r} given for item {item!r} is not a "
                             f"product id: use the number or {SHOPIFY_PRODUCT_GID}<number>")
    return pid


def shopify_inputs(bundles: pd.DataFrame,
                   product_ids: Mapping[str, str] | None = None) -> list[dict]:
    """One ``productBundleCreate`` input per bundle (see the module docstring). Refuses, naming
    the bundle, one with no items, more than ``SHOPIFY_MAX_COMPONENTS`` items, or an item that
    is itself one of the list's bundles; with ``product_ids``, items it does not map."""
    skus, r = _rows(bundles)
    ids = r["bundle_id"] if "bundle_id" in r.columns else [""] * len(r)
    names = r["name"] if "name" in r.columns else [""] * len(r)
    parents = set(skus)
    out, unmapped = [], []
    for sku, bid, name, cell in zip(skus, ids, names, r["items"]):
        items, title = _items(cell), _text(name) or sku
        which = f"bundle {_text(bid) or sku} ({title!r})"
        if not items:
            raise BundleLabError(f"{which} has no items: a Shopify bundle needs at least one "
                                 "component")
        if len(items) > SHOPIFY_MAX_COMPONENTS:
            raise BundleLabError(f"{which} has {len(items)} items, but Shopify allows at most "
                                 f"{SHOPIFY_MAX_COMPONENTS} components per bundle: leave it out "
                                 "or split it before exporting for Shopify")
        nested = [x for x in items if x in parents]
        if nested:
            raise BundleLabError(f"{which} holds {nested[0]!r}, which is itself a bundle of this "
                                 "list: Shopify does not support nested bundles (a component "
                                 "cannot be a bundle)")
        components = []
        for item in items:
            pid = _product_id(item, product_ids)
            if pid is None:
                unmapped.append(item)
            components.append({"productId": pid, "quantity": 1, "optionSelections": []})
        out.append({"title": title, "components": components})
    if unmapped:
        missing = list(dict.fromkeys(unmapped))
        raise BundleLabError(f"no Shopify product id for {len(missing)} item(s) in the bundles "
                             f"({', '.join(map(repr, missing[:5]))}"
                             f"{', ...' if len(missing) > 5 else ''}): add them to the "
                             "item_id,product_id file")
    return out


def read_product_ids(path: str | Path) -> dict[str, str]:
    """An ``item_id,product_id`` CSV (the shop's item id -> its Shopify product id) as a dict."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise BundleLabError(f"cannot read the Shopify product ids {path}: {exc}") from None
    cols = {str(c).strip().lower(): c for c in table.columns}
    if not {"item_id", "product_id"} <= set(cols):
        raise BundleLabError(f"{path.name} needs the columns item_id and product_id (one row per "
                             f"item; found {', '.join(map(str, table.columns)) or 'none'})")
    return {k.strip(): v.strip() for k, v in zip(table[cols["item_id"]], table[cols["product_id"]])
            if k.strip()}


def shopify_bytes(bundles: pd.DataFrame, product_ids: Mapping[str, str] | None = None) -> bytes:
    return json.dumps(shopify_inputs(bundles, product_ids), ensure_ascii=False,
                      indent=2).encode("utf-8")


def platform_bytes(bundles: pd.DataFrame, fmt: str,
                   product_ids: Mapping[str, str] | None = None) -> bytes:
    """The file of ``fmt`` (``parent-child`` or ``shopify``) as bytes (download buttons)."""
    if fmt == "parent-child":
        return table_bytes(parent_child_table(bundles), "csv", sheet_name="bundles")
    if fmt == "shopify":
        return shopify_bytes(bundles, product_ids)
    raise BundleLabError(f"unknown platform format {fmt!r}: use one of "
                         f"{', '.join(PLATFORM_FORMATS)}")


def write_bundles(bundles: pd.DataFrame, path: str | Path, fmt: str | None = None, *,
                  product_ids: Mapping[str, str] | None = None) -> Path:
    """Write the bundle list to ``path`` in ``fmt`` (``export_format``: a table format by the
    suffix when None, or ``parent-child`` / ``shopify``); returns the path."""
    fmt = export_format(path, fmt)
    if fmt == "parent-child":
        return export.write_table(parent_child_table(bundles), path, sheet_name="bundles")
    if fmt == "shopify":
        return export.write_bytes(shopify_bytes(bundles, product_ids), path)
    return export.write_table(bundles, path, sheet_name="bundles")  # (one patchable writer)


def formats_help(formats: Iterable[str] = EXPORT_FORMATS) -> str:
    return ", ".join(f"{f} ({EXPORT_FORMATS[f]})" for f in formats)
