"""Mining on categories as well as items (issue 16, item 3): when single items are too sparse (a
shop with 90k products), the rules between their categories still show what sells together,
and which category pairs drive the item bundles.

- ``LEVELS``: ``item`` (the default) and ``category``.
- ``item_groups(items)``: each item's category; a catalog without categories gets a rough
  product type from its name instead (``product_types``: its most common word that names no
  colour, pattern, size, material or theme, "LUNCH BAG RED RETROSPOT" -> BAG), and says so. Names without such a word (Chinese
  names, codes) have no type: mining on categories then needs a category column.
- ``group_lines(lines, items)``: the order lines with each item replaced by its group; an order
  holding two items of one group counts the group once (baskets are sets).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from core.errors import BundleLabError
from core.words import VARIANT_WORDS

LEVELS = ("item", "category")
_TYPE_WORD = re.compile(r"[A-Za-z]{3,}")
MIN_TYPED_SHARE = 0.5  # product types stand for categories when at least this share of items has one


# Words that describe a product rather than name it: materials, themes, make ("... METAL SIGN",
# "PAPER CHAIN KIT VINTAGE CHRISTMAS", "WHITE HANGING HEART T-LIGHT HOLDER").
DESCRIBING_WORDS = frozenset("""
wooden wood metal glass ceramic paper enamel zinc tin plastic fabric felt cotton wicker
christmas xmas easter birthday party wedding heart hearts love design hanging decorative
retro regency edwardian french english
""".split())


def _singular(word: str, vocab: set[str]) -> str:
    return word[:-1] if word.endswith("s") and word[:-1] in vocab else word


def product_types(names: pd.Series) -> pd.Series:
    """A rough product type per name: of its words of 3+ Latin letters that name no colour,
    pattern, size (``core.words``), material or theme (``DESCRIBING_WORDS``), plurals folded
    into the singular where the catalog has it, the one found in most names of the catalog
    (ties: the later word, nearer the head noun). "JUMBO BAG RED RETROSPOT" -> BAG, "LUNCH BOX
    SPACEBOY" -> BOX, "WHITE HANGING HEART T-LIGHT HOLDER" -> HOLDER. Rough: a catalog that
    names designs more often than products ("HAND WARMER UNION JACK") gets design words. None
    for a name without such a word (Chinese names, codes)."""
    raw = names.map(lambda n: [w for w in (_TYPE_WORD.findall(n.lower()) if isinstance(
        n, str) else []) if w not in VARIANT_WORDS and w not in DESCRIBING_WORDS])
    vocab = {w for ws in raw for w in ws}
    words = raw.map(lambda ws: [_singular(w, vocab) for w in ws])
    freq = Counter(w for ws in words for w in set(ws))

    def one(ws: list[str]) -> str | None:
        return max(reversed(ws), key=lambda w: freq[w]).upper() if ws else None

    return words.map(one)


@dataclass(frozen=True)
class Groups:
    """``of``: item id -> group label (items without a group are absent); ``source``:
    "category" or "product type"; ``note``: one sentence for the pages and the CLI."""

    of: dict[str, str]
    source: str
    note: str


def item_groups(items: pd.DataFrame, dataset: str = "the dataset") -> Groups:
    """The group of each item (module docstring). Raises ``BundleLabError`` when neither the
    categories nor the names give one to most items."""
    ids = items["item_id"].astype(str)
    if "category" in items and items["category"].notna().any():
        cat = items["category"].where(items["category"].notna(), None)
        keep = cat.map(lambda c: isinstance(c, str) and bool(c.strip()))
        of = dict(zip(ids[keep], cat[keep].astype(str).str.strip()))
        missing = len(items) - len(of)
        note = (f"mined on the items' categories ({len(set(of.values())):,} categories"
                + (f"; {missing:,} items without one are left out)" if missing else ")"))
        return Groups(of, "category", note)
    types = product_types(items["item_name"] if "item_name" in items else pd.Series(
        [None] * len(items)))
    typed = types.notna()
    if len(items) and typed.mean() >= MIN_TYPED_SHARE:
        of = dict(zip(ids[typed], types[typed]))
        note = (f"{dataset} has no categories: mined on rough product types taken from the "
                f"names ({len(set(of.values())):,} types, e.g. BAG, MUG; {int((~typed).sum()):,} "
                "items without one are left out). Map a category column at ingest or upload a "
                "catalog for real categories")
        return Groups(of, "product type", note)
    raise BundleLabError(
        f"mining on categories needs a category per item, and {dataset} has none (and its names "
        "give no product type): map a category column at ingest (--map category=COLUMN) or "
        "upload a product catalog with categories")


def group_lines(lines: pd.DataFrame, groups: Groups) -> pd.DataFrame:
    """``lines`` (``order_id``, ``item_id``, ...) with ``item_id`` replaced by the item's group;
    lines of items without a group are dropped, and one order holds each group once."""
    group = lines["item_id"].astype(str).map(groups.of)
    out = lines.assign(item_id=group)[group.notna().to_numpy()]
    return out.drop_duplicates(subset=["order_id", "item_id"])


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise BundleLabError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    return level
