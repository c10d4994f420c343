"""Variant detection (docs/ARCHITECTURE.md §5): is an item the same product as another in another
colour, pattern or size? Variants are substitutes, not complements, so the co-purchase pairs of
the fine-tuning leave them out and the bundles flag them. Pure functions over item names; the one
definition both use.

- A *variant key* is the set of an item's words without colour, pattern, size, pack and filler
  words and without numbers: equal keys are variants (``LUNCH BAG RED RETROSPOT`` and ``LUNCH
  BAG PINK POLKADOT`` are both ``bag lunch``).
- ``is_variant_pair`` adds two rules: one key is the other plus a single design word (``ROSES
  REGENCY TEACUP`` vs ``GREEN REGENCY TEACUP``), and, where the caller has it, a base-model text
  similarity at or above ``VARIANT_SIMILARITY`` (one product described in other words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

# One word list. It is the union of the two lists that used to disagree (the fine-tuning pairs
# had plain colours, sizes and pack words; the bundles also had patterns such as "retrospot" and
# "polkadot" and units such as "cm"): a word that makes a variant of one product in either place
# makes one in both.
COLOUR_WORDS = frozenset("""
red pink blue green white black ivory cream yellow orange purple gold silver grey gray brown
natural turquoise lilac teal mint beige navy aqua lavender rose copper clear multicolour
multicolor multi colour colours assorted pastel dark light bright
antique vintage polkadot retrospot spotty spot striped stripe floral gingham paisley
scandinavian apple cherry strawberry
""".split())  # colours, then patterns and designs (one product is sold in several)
SIZE_WORDS = frozenset("""
small large medium mini jumbo big giant tiny tall short xl xxl xs s m l x
set sets pack packs piece pieces pc pcs cm mm ml g kg
oz lb lbs fl ct gal qt pt pk ltr litre liter
""".split())  # sizes, pack counts ("set/6", "s/4" -> set, s) and units ("60x40cm" -> x, cm;
# "12 OZ", "2 LB", "64 FL OZ", "12 CT": a grocery catalog's package sizes)
FILLER_WORDS = frozenset("the a and with in of".split())
VARIANT_WORDS = COLOUR_WORDS | SIZE_WORDS | FILLER_WORDS

# Base-model cosine similarity at or above which two descriptions are taken for the same product
# even when the word rules miss it. Measured with all-MiniLM-L6-v2: distinct products of one range
# stay below ("SET/6 RED SPOTTY PAPER PLATES" / "... PAPER CUPS" 0.82, "SET OF 3 CAKE TINS PANTRY
# DESIGN" / "SET OF 6 SPICE TINS ..." 0.78), one product in two colours scores about 0.86-0.93
# ("WHITE" / "RED HANGING HEART T-LIGHT HOLDER" 0.90; the word rules catch those anyway). So 0.9
# errs towards keeping complements: a false "variant" loses a good bundle. It is a threshold on
# model similarity only; the fine-tuning pairs, mined without a model, use the word rules alone.
VARIANT_SIMILARITY = 0.9

# Letter runs in any script (digits, underscores and punctuation separate words and are dropped:
# "SET/6" -> set, "3-PIECE" -> piece, "60x40cm" -> x, cm).
_WORD = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"\s+")
_CACHED_TEXTS = 1 << 16  # pair mining asks about the same few thousand item texts again and again


@lru_cache(maxsize=_CACHED_TEXTS)
def variant_tokens(text: str) -> frozenset[str]:
    """The text's words (lower case) without variant words and numbers; none for a code such as
    ``P000006`` or ``A-12`` (no word of two letters or more): a file without item names has its
    ids as names, and their lone letters made every pair of items "variants" (0 bundles)."""
    words = _WORD.findall(str(text).lower())
    if not any(len(w) > 1 for w in words):
        return frozenset()
    return frozenset(w for w in words if w not in VARIANT_WORDS)


@lru_cache(maxsize=_CACHED_TEXTS)
def variant_key(text: str) -> str:
    """Items with equal keys are variants of one product: the sorted ``variant_tokens``. When no
    word is left (a name made of colour/size words only) the key is the lower-cased text itself,
    so such items are variants only of the same text."""
    tokens = variant_tokens(text)
    return " ".join(sorted(tokens)) if tokens else _SPACES.sub(" ", str(text).lower()).strip()


def is_variant_pair(text_a: str, text_b: str, similarity: float = 0.0,
                    threshold: float = VARIANT_SIMILARITY) -> bool:
    """Near-duplicates (substitutes, not complements): equal variant keys, one key the other plus
    a single design word (of a key of at least two words), or a base-model text ``similarity``
    at or above ``threshold`` (callers without a model leave it at 0)."""
    ka, kb = variant_key(text_a), variant_key(text_b)
    if (ka and ka == kb) or similarity >= threshold:
        return True
    # "roses regency teacup" vs "regency teacup": one design word apart
    wa, wb = variant_tokens(text_a), variant_tokens(text_b)
    small, big = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return len(small) >= 2 and small < big and len(big - small) == 1


def variant_flags(sets: Sequence[Sequence[int]], names: Sequence[str], vectors=None,
                  threshold: float = VARIANT_SIMILARITY,
                  needed: Sequence[bool] | None = None) -> np.ndarray:
    """One flag per item set: does it hold two variants of one product? ``is_variant_pair`` on
    ``names[i]``, ``names[j]`` and the base-model cosine of their rows of ``vectors`` (0 when
    ``vectors`` is None, as for ``is_variant_pair``).

    The word rules decide first; only the pairs they leave open read ``vectors``, all those
    rows at once: an array (one row per item) or an object with ``rows(indices) -> array``
    (``core.text.vectors.LazyItemVectors`` encodes just those items). Sets marked False in
    ``needed`` (one bool per set) are judged as if there were no vectors."""
    flags = np.zeros(len(sets), dtype=bool)
    open_pairs: list[tuple[int, int, int]] = []
    no_model = 0.0 >= threshold  # what a similarity of 0 says: the verdict without vectors
    for n, s in enumerate(sets):
        pairs = [(int(s[x]), int(s[y])) for x in range(len(s)) for y in range(x + 1, len(s))]
        if any(is_variant_pair(names[a], names[b], -np.inf, threshold) for a, b in pairs):
            flags[n] = True
        elif vectors is None or (needed is not None and not needed[n]):
            flags[n] = no_model and bool(pairs)
        else:
            open_pairs.extend((n, a, b) for a, b in pairs)
    if open_pairs:
        items = np.unique(np.asarray([p[1:] for p in open_pairs], dtype=np.int64))
        rows = vectors.rows(items) if hasattr(vectors, "rows") else np.asarray(vectors)[items]
        at = {int(i): r for r, i in enumerate(items)}
        for n, a, b in open_pairs:
            if float(rows[at[a]] @ rows[at[b]]) >= threshold:
                flags[n] = True
    return flags
