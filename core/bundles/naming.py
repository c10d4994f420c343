"""Words for bundles: short names, one-sentence explanations, variant detection, prices.

Pure functions over item names and numbers; no model is loaded here.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

COLOURS = {
    "red", "blue", "pink", "green", "black", "white", "ivory", "cream", "gold", "silver", "grey",
    "gray", "yellow", "orange", "purple", "brown", "beige", "natural", "turquoise", "lilac",
    "navy", "teal", "aqua", "mint", "rose", "copper", "clear", "multicolour", "multi", "pastel",
    "dark", "light", "bright", "antique", "vintage", "polkadot", "retrospot", "spotty", "spot",
    "striped", "stripe", "floral", "gingham", "paisley", "scandinavian", "apple", "cherry",
    "strawberry",
}
SIZES = {
    "small", "large", "medium", "mini", "jumbo", "big", "giant", "tiny", "xl", "xxl", "xs", "s",
    "m", "l", "s/4", "s/3", "s/2", "set", "of", "pack", "x", "cm", "ml", "g", "kg",
}
STOP = {"and", "with", "the", "a", "an", "of", "in", "for", "set", "pack", "s/4", "s/3", "s/2",
        "&", "-", "+", "/"}


def words(name: str) -> list[str]:
    return [w for w in re.split(r"[^\w/&'+-]+", str(name).lower()) if w]


def variant_key(name: str) -> str:
    """The name without colour, pattern, size and number words: two items with the same key are
    the same product in another colour or size."""
    kept = [w for w in words(name) if w not in COLOURS and w not in SIZES
            and not re.fullmatch(r"[\d./x]+(cm|mm|ml|g|kg)?", w)]
    return " ".join(kept)


def is_variant_pair(name_a: str, name_b: str, base_similarity: float,
                    threshold: float = 0.9) -> bool:
    """Near-duplicates (substitutes, not complements): the same variant key (name without colour,
    pattern and size words), one key the other plus one design word, or base-model text
    similarity at or above ``threshold``."""
    ka, kb = variant_key(name_a), variant_key(name_b)
    if ka and ka == kb or base_similarity >= threshold:
        return True
    # one name is the other plus a single design word ("ROSES REGENCY TEACUP" vs "GREEN
    # REGENCY TEACUP" -> "roses regency teacup" vs "regency teacup")
    wa, wb = set(ka.split()), set(kb.split())
    small, big = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return len(small) >= 2 and small < big and len(big - small) == 1


def _title(text: str) -> str:
    return " ".join(w if w.isupper() and len(w) <= 3 else w.capitalize() for w in text.split())


def short_name(names: Sequence[str], max_words: int = 3) -> str:
    """A short bundle name built from the items' descriptions: the words all items share
    ("Jumbo Bag set"), else the head words of each item joined with '+'."""
    token_lists = [[w for w in words(n) if w not in STOP] for n in names]
    if not token_lists or not all(token_lists):
        return " + ".join(str(n) for n in names)[:80]
    common = set(token_lists[0]).intersection(*map(set, token_lists[1:]))
    shared = [w for w in token_lists[0] if w in common and w not in COLOURS][:max_words]
    if shared and len(shared) >= min(2, len(token_lists[0])):
        return _title(" ".join(shared)) + " set"
    if len(shared) == 1 and len(shared[0]) >= 4:  # "Baking set: 9 Piece + Spaceboy Design"
        return f"{_title(shared[0])} set: {distinct_words(names)}"[:80]
    heads: list[str] = []
    for toks in token_lists:
        core = [w for w in toks if w not in COLOURS and w not in SIZES] or toks
        head = _title(" ".join(core[-2:]))  # the noun phrase usually ends the name
        if head not in heads:
            heads.append(head)
    if len(heads) == 1:
        return heads[0] + " set"
    return " + ".join(heads)[:80]


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
        if lift and math.isfinite(lift) and lift >= 1.05:
            txt += f", {lift:.1f}x more often than chance"
        if anchor and confidence > 0:
            txt += f"; {confidence:.0%} of orders with {anchor} hold the rest"
        parts.append(txt)
    if cold_item:
        parts.append(f"{cold_item} has no sales history yet: its description is close to "
                     f"{proven_item} (text similarity {similarity:.2f})")
    elif "text" in provenance or similarity >= 0.5:
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
    counts = Counter(w for n in names for w in set(words(n)) if w not in STOP and len(w) > 2)
    return [w for w, c in counts.most_common() if c >= 2]


def bundle_price(list_price: float, *, discount: float, cost: float | None = None,
                 min_margin: float = 0.1) -> tuple[float, str]:
    """Suggested bundle price: the list price less ``discount``, rounded down to .x9 endings,
    never below ``cost * (1 + min_margin)`` when the cost is known. Returns (price, note)."""
    if list_price is None or not math.isfinite(list_price * 10) or list_price <= 0:
        return float("nan"), "no price data"
    raw = list_price * (1.0 - discount)
    price = math.floor(raw * 10) / 10 - 0.01 if raw >= 1 else round(raw, 2)
    price = max(price, 0.01)
    note = f"{discount:.0%} off the list price"
    if cost is not None and math.isfinite(cost) and cost > 0:
        floor = round(cost * (1.0 + min_margin), 2)
        if price < floor:
            price, note = floor, f"held at the price floor (cost + {min_margin:.0%})"
    return round(price, 2), note
