"""Item text (docs/ARCHITECTURE.md §5): what the encoder reads for each item. The item name, plus
`` (category)`` when the item has a category not already in its name; the item id when the name
is missing. Pure function over the items table. Variant detection reads the name alone
(``with_category=False``): a shared category word is no evidence of one product."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_SPACES = re.compile(r"\s+")


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return _SPACES.sub(" ", str(value)).strip()


def item_texts(items: pd.DataFrame, *, with_category: bool = True) -> pd.Series:
    """Text per item (index = item_id): item_name, plus `` (category)`` when the item has a
    category not already in its name (and ``with_category``); item_id when the name is
    missing."""
    ids = items["item_id"].astype(str).tolist()
    names = items["item_name"].tolist() if "item_name" in items else [None] * len(items)
    cats = (items["category"].tolist() if with_category and "category" in items
            else [None] * len(items))
    out = []
    for item_id, name, cat in zip(ids, names, cats):
        text, cat = _clean(name) or item_id, _clean(cat)
        if cat and cat.lower() not in text.lower():
            text = f"{text} ({cat})"
        out.append(text)
    return pd.Series(out, index=pd.Index(ids, name="item_id"), name="text")
