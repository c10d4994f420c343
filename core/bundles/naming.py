"""Words for bundles: short names and one-sentence explanations. Pure functions over item names
and numbers; no model is loaded here. Variant detection is ``core.text.variants``, prices are
``core.bundles.pricing``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

from core.text.variants import COLOUR_WORDS, SIZE_WORDS

STOP = {"and", "with", "the", "a", "an", "of", "in", "for", "set", "pack", "s/4", "s/3", "s/2",
        "&", "-", "+", "/"}
NAME_CHARS = 80  # longest bundle name: fits a table cell and a promotion title
# A single shared word names the bundle's theme ("Baking set: ...") only when it has at least
# this many characters; shorter shared words ("tea", "mug") say too little on their own.
THEME_WORD_CHARS = 4
TOPIC_WORD_CHARS = 3  # shorter words ("of", "to", "s") are no topic
# Explanations mention the lift only when it is at least this (below, "more often than chance"
# would overstate it), and the text similarity of non-text candidates from this level on
# (cosine of the fine-tuned vectors; around 0.5 descriptions share a use).
NOTABLE_LIFT = 1.05
NOTABLE_SIMILARITY = 0.5


def words(name: str) -> list[str]:
    """The lower-cased words of a name; "/", "&", "'", "+" and "-" stay inside words."""
    return [w for w in re.split(r"[^\w/&'+-]+", str(name).lower()) if w]


def _title(text: str) -> str:
    return " ".join(w if w.isupper() and len(w) <= 3 else w.capitalize() for w in text.split())


def short_name(names: Sequence[str], max_words: int = 3) -> str:
    """A short bundle name built from the items' descriptions: the words all items share
    ("Jumbo Bag set"), else the head words of each item joined with '+'."""
    token_lists = [[w for w in words(n) if w not in STOP] for n in names]
    if not token_lists or not all(token_lists):
        return " + ".join(str(n) for n in names)[:NAME_CHARS]
    common = set(token_lists[0]).intersection(*map(set, token_lists[1:]))
    shared = [w for w in token_lists[0] if w in common and w not in COLOUR_WORDS][:max_words]
    if shared and len(shared) >= min(2, len(token_lists[0])):
        return _title(" ".join(shared)) + " set"
    if len(shared) == 1 and len(shared[0]) >= THEME_WORD_CHARS:
        # "Baking set: 9 Piece + Spaceboy Design"
        return f"{_title(shared[0])} set: {distinct_words(names)}"[:NAME_CHARS]
    heads: list[str] = []
    for toks in token_lists:
        core = [w for w in toks if w not in COLOUR_WORDS and w not in SIZE_WORDS] or toks
        head = _title(" ".join(core[-2:]))  # the noun phrase usually ends the name
        if head not in heads:
            heads.append(head)
    if len(heads) == 1:
        return heads[0] + " set"
    return " + ".join(heads)[:NAME_CHARS]


def distinct_words(names: Sequence[str], per_item: int = 2) -> str:
    """What tells the items apart: each name's words not shared by all, e.g.
    ``Red Retrospot + Pink Polkadot``."""
    token_lists = [[w for w in words(n) if w not in STOP] for n in names]
    common = set(token_lists[0]).intersection(*map(set, token_lists[1:])) if token_lists else set()
    parts = [_title(" ".join([w for w in t if w not in common][:per_item])) for t in token_lists]
    return " + ".join(p for p in parts if p) or " + ".join(names)


def explanation(*, orders_together: int, lift: float, confidence: float, anchor: str | None,
                similarity: float, shared_words: Sequence[str], provenance: Sequence[str],
                cold_item: str | None = None, proven_item: str | None = None) -> str:
    """One sentence, in business words, of why the items belong together."""
    parts = []
    if orders_together > 0:
        txt = f"Bought together in {orders_together:,} orders"
        if lift and math.isfinite(lift) and lift >= NOTABLE_LIFT:
            txt += f", {lift:.1f}x more often than chance"
        if anchor and confidence > 0:
            txt += f"; {confidence:.0%} of orders with {anchor} hold the rest"
        parts.append(txt)
    if cold_item:
        parts.append(f"{cold_item} has no sales history yet: its description is close to "
                     f"{proven_item} (text similarity {similarity:.2f})")
    elif "text" in provenance or similarity >= NOTABLE_SIMILARITY:
        topic = f" ({', '.join(shared_words[:3])})" if shared_words else ""
        parts.append(f"similar use by description{topic}, similarity {similarity:.2f}")
    if "recommender" in provenance:
        parts.append("customers who buy one are predicted to want the other")
    if not parts:
        return "Chosen for its combined score."
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def shared_topic_words(names: Sequence[str]) -> list[str]:
    """Content words appearing in at least two of the names (for explanations)."""
    counts = Counter(w for n in names for w in set(words(n))
                     if w not in STOP and len(w) >= TOPIC_WORD_CHARS)
    return [w for w, c in counts.most_common() if c >= 2]
