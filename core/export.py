"""Writing result tables (rules, bundles, ...) to CSV, Excel or JSON, chosen by the suffix.

- Lists and tuples (itemsets, item names) stay lists in JSON; in CSV/XLSX they are joined with
  ``" | "``.
- JSON has no infinity: infinite and NaN values (e.g. conviction when confidence is 1) become
  ``null``; XLSX leaves those cells empty; CSV writes ``inf``.
- Spreadsheet formula injection: text cells starting with ``= + - @`` (or a tab / carriage
  return) get a leading apostrophe in CSV/XLSX, so a spreadsheet shows them as text.
- Numbers are rounded for people (``rounded``): prices and money 2 decimals, lift-like ratios 3,
  shares, confidences and other measures 4, p-values 4 significant digits; ids (item, order,
  customer, bundle and list ids, alone or in lists) are written as text, never as numbers.
- Files are written to a temporary name next to the target and renamed at the end, so a failed
  export never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from core.errors import BundleLabError

LIST_SEP = " | "
FORMATS = (".csv", ".xlsx", ".json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# decimals per column; any other float column gets DEFAULT_DECIMALS
MONEY_COLUMNS = {"list_price", "bundle_price", "margin", "price", "unit_price", "cost", "revenue",
                 "revenue_in_bundles", "line_total"}
RATIO_COLUMNS = {"lift", "conviction"}
P_VALUE_COLUMNS = {"p_value", "p_adjusted"}
DEFAULT_DECIMALS = 4
ID_COLUMNS = {"items", "antecedents", "consequents", "target_customers", "bundle_id", "list_id",
              "item_id", "order_id", "customer_id"}


def table_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its suffix: ``.csv``, ``.xlsx`` or ``.json``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BundleLabError(f"cannot write {Path(path).name!r}: the file name must end in "
                             f"{', '.join(FORMATS)} (e.g. --out rules.csv)")
    return suffix


def _is_list(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


def _neutralise(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _json_value(v: Any) -> Any:
    if _is_list(v):
        return [_json_value(x) for x in v]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float):
        return None if (math.isinf(v) or math.isnan(v)) else v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _is_id_column(col: str) -> bool:
    return col in ID_COLUMNS or col.endswith("_id") or col.endswith("_ids")


def _id_text(v: Any) -> Any:
    if _is_list(v):
        return [_id_text(x) for x in v]
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return v
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and v.is_integer():  # an id read as a float: 24852.0 -> "24852"
        v = int(v)
    return str(v)


def _significant(v: float, digits: int = 4) -> float:
    if not math.isfinite(v) or v == 0:
        return v
    return round(v, digits - 1 - int(math.floor(math.log10(abs(v)))))


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as exported: float columns rounded (money 2 decimals, lift and conviction 3,
    p-values 4 significant digits, everything else, shares and measures, 4 decimals; infinity
    and NaN stay), id columns as text (lists of text in list cells)."""
    out = df.copy()
    for col in out.columns:
        name = str(col)
        s = out[col]
        if _is_id_column(name):
            out[col] = pd.Series([_id_text(v) for v in s], index=s.index, dtype=object)
        elif pd.api.types.is_float_dtype(s.dtype):
            if name in P_VALUE_COLUMNS:
                out[col] = s.map(_significant)
            else:
                digits = 2 if name in MONEY_COLUMNS else 3 if name in RATIO_COLUMNS \
                    else DEFAULT_DECIMALS
                out[col] = s.round(digits)
    return out


def to_records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe records: lists stay lists, inf/NaN -> None, timestamps -> ISO text."""
    cols = [str(c) for c in df.columns]
    return [dict(zip(cols, (_json_value(v) for v in row)))
            for row in df.itertuples(index=False, name=None)]


def flat_table(df: pd.DataFrame, *, empty_inf: bool = False) -> pd.DataFrame:
    """The table for CSV/XLSX: list cells joined with ``" | "``, formula-like text neutralised,
    infinite numbers empty when ``empty_inf``."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = [
                _neutralise(LIST_SEP.join(str(x) for x in v)) if _is_list(v)
                else _neutralise(v) if isinstance(v, str) else v
                for v in s]
        elif empty_inf and pd.api.types.is_float_dtype(s.dtype):
            out[col] = s.where(np.isfinite(s.to_numpy(dtype=float, na_value=np.nan)), None)
        else:
            out[col] = s
    return out


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path``, renamed onto it when the block ends without error and
    removed otherwise; a missing folder or an ``OSError`` is a ``BundleLabError``."""
    if path.parent and not path.parent.exists():
        raise BundleLabError(f"cannot write {path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise BundleLabError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, sheet_name: str = "table") -> Path:
    """Write ``df`` to ``path`` as CSV, XLSX or JSON (records) by its suffix; returns the path."""
    path = Path(path)
    fmt = table_format(path)
    with _replacing(path) as tmp:
        df = rounded(df)
        if fmt == ".csv":
            flat_table(df).to_csv(tmp, index=False)
        elif fmt == ".xlsx":
            flat_table(df, empty_inf=True).to_excel(tmp, index=False, sheet_name=sheet_name[:31],
                                                    engine="openpyxl")
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(to_records(df), fh, ensure_ascii=False, allow_nan=False)
    return path


def table_bytes(df: pd.DataFrame, fmt: str, *, sheet_name: str = "table") -> bytes:
    """The file ``write_table`` would write, as bytes (for download buttons). ``fmt`` is
    ``csv``, ``xlsx`` or ``json`` (with or without the dot)."""
    import tempfile

    suffix = "." + fmt.lower().lstrip(".")
    table_format("x" + suffix)
    with tempfile.TemporaryDirectory(prefix="bundlelab-export-") as tmp:
        path = write_table(df, Path(tmp) / f"table{suffix}", sheet_name=sheet_name)
        return path.read_bytes()


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write ``data`` (a file built elsewhere, e.g. ``core.bundles.platform``'s Shopify JSON) to
    ``path`` the way ``write_table`` writes: under a temporary name, renamed at the end."""
    path = Path(path)
    with _replacing(path) as tmp:
        tmp.write_bytes(data)
    return path
