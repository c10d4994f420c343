"""Words for bundles: short names and one-sentence explanations. Pure functions over item names
and numbers; no model is loaded here. Variant detection is ``core.text.variants``, prices are
``core.bundles.pricing``.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from core.text.variants import COLOUR_WORDS, SIZE_WORDS

STOP = {"and", "with", "the", "a", "an", "of", "in", "for", "set", "pack", "s/4", "s/3", "s/2",
        "&", "-", "+", "/"}
TOPIC_WORD_CHARS = 3  # shorter words ("of", "to", "s") are no topic
# Explanations mention the lift only when it is at least this (below, "more often than chance"
# would overstate it), and the text similarity of non-text candidates from this level on
# (cosine of the fine-tuned vectors; around 0.5 descriptions share a use).
NOTABLE_LIFT = 1.05
NOTABLE_SIMILARITY = 0.5


def words(name: str) -> list[str]:
    """The lower-cased words of a name; "/", "&", "'", "+" and "-" stay inside words."""
    return [w for w in re.split(r"[^\w/&'+-]+", str(name).lower()) if w]


NAME_CHARS = 40  # longest bundle name, in display columns (a CJK character counts 2)
NAME_WORDS = 3   # at most this many words of each item say what tells it from the others
CORE_WORDS = 3   # at most this many words name an item when the items share no product noun
# Words that qualify a product but never name it: items sharing only these ("Organic Whole
# Milk" + "Organic Whole String Cheese") are named by their own nouns ("Milk + String Cheese").
MODIFIER_WORDS = frozenset("""
organic whole natural fresh original classic traditional style homestyle premium pure plain
simple non fat free low reduced lite skim nonfat lowfat unsweetened sweetened unsalted salted
extra virgin gluten authentic select finest simply real healthy new mixed design
""".split())
PACK_WORDS = {"set", "sets", "pack", "packs", "piece", "pieces", "pc", "pcs", "s"}  # "S/3"
# The shared words name the bundle's product ("Lunch Box: Spaceboy + Dolly Girl") when they hold
# every item's noun (``_head``) or, in upper-case names (UCI puts the noun first, "HERB MARKER
# THYME"), are at least this share of each item's content words; fewer ("HEART" of a T-light
# holder, a wicker heart and a candle holder) are a motif.
THEME_SHARE = 1 / 3
_TOKEN = re.compile(r"[^\W_](?:[\w'/&+.-]*[^\W_])?")  # a word; "-", "/", "'" stay inside it
_KEY = re.compile(r"[^\W_]+")  # a word's parts, for matching: "Non-fat" matches "Non Fat"
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_ID = re.compile(r"[A-Za-z]{0,3}[-_]?\d[\w-]*")  # "13176", "85123A", "SKU-0042"
_KINDS = {"content": 0, "variant": 1, "modifier": 2, "filler": 3}


def width(text: str) -> int:
    """Display columns of ``text``: a CJK (wide) character counts 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cut(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` cut to ``limit`` columns at a word boundary (a word without spaces, CJK, at a
    character), without a dangling separator."""
    out = text
    while out and width(out) > limit:
        out = out[:-1] if " " not in out.strip() else out.rstrip().rsplit(" ", 1)[0]
    return re.sub(r"[\s+:&(/,-]+$", "", out) if out != text else text


@dataclass(frozen=True)
class _Tok:
    text: str              # as shown
    keys: frozenset[str]   # lower-case parts, for matching
    kind: str              # "filler" (stop, pack, number), "variant", "modifier" or "content"
    upper: bool            # from an upper-case name (UCI: descriptors after the noun, "BAG RED")


def _kind(keys: frozenset[str]) -> str:
    if all(k in STOP or k in PACK_WORDS or any(c.isdigit() for c in k) for k in keys):
        return "filler"   # "of", "set/6", "s/3", "of4", "60"
    if all(k in COLOUR_WORDS or k in SIZE_WORDS for k in keys):
        return "variant"  # a colour, pattern or size: one product's variants differ by these
    variant_or_modifier = COLOUR_WORDS | SIZE_WORDS | MODIFIER_WORDS
    return "modifier" if keys <= variant_or_modifier else "content"


def _tokens(name: str) -> list[_Tok]:
    cased = [ch for ch in name if ch.lower() != ch.upper()]
    # all upper case (UCI "WHITE HANGING HEART T-LIGHT HOLDER") or all lower case: title case
    upper = bool(cased) and not _CJK.search(name) and all(map(str.isupper, cased))
    lower = bool(cased) and not _CJK.search(name) and all(map(str.islower, cased))
    out = []
    for w in _TOKEN.findall(name):
        keys = frozenset(k.lower() for k in _KEY.findall(w))
        if upper or lower:
            w = w.lower() if w.lower() in STOP else re.sub(
                r"(^|[-/])(\w)", lambda m: m.group(1) + m.group(2).upper(), w.lower())
        if out and keys and keys == out[-1].keys:
            continue  # "RIBBON RIBBON": a name built from a type and a category ending alike
        out.append(_Tok(w, keys, _kind(keys), upper))
    return out


def _is_id(name: str) -> bool:
    """An id only (a number, a stock code): at least half digits, no word to show."""
    return bool(_ID.fullmatch(name)) and 2 * sum(map(str.isdigit, name)) >= len(name)


def _join(toks) -> str:
    return " ".join(t.text for t in toks)


def _pick(toks: Sequence[_Tok], k: int) -> list[_Tok]:
    """At most ``k`` of ``toks``, in their order: content words first, then colours/patterns;
    of those the first of an upper-case name, the last (next to the noun) of a mixed-case one."""
    best = sorted(range(len(toks)),
                  key=lambda j: (_KINDS[toks[j].kind], j if toks[j].upper else -j))
    return [toks[j] for j in sorted(best[:k])]


def _head(toks: list[_Tok], drop: set[int] | frozenset[int] = frozenset()) -> int | None:
    """Where an item's noun is: its last word (English), but in an upper-case name its last
    content word ("LUNCH BAG RED RETROSPOT": bag; a trailing colour or pattern describes it)."""
    kept = [j for j, t in enumerate(toks) if j not in drop and t.kind != "filler"]
    content = [j for j in kept if toks[j].kind == "content"]
    if toks and toks[0].upper:
        return (content or kept or [None])[-1]
    # a trailing size or colour is no noun ("... Sunrise 12 OZ", a catalog's package size last)
    named = [j for j in kept if toks[j].kind != "variant"]
    return (named or kept or [None])[-1]


def _core(toks: list[_Tok], drop: set[int], n: int) -> str:
    """An item's head: its noun (``_head``) and the words before it, from its ``n``-th last
    content word on ("String Cheese"; a modifier up to it, "Cake Tins Pantry Design", stays)."""
    head = _head(toks, drop)
    if head is None:
        return _join(toks)
    idx = [j for j, t in enumerate(toks) if j < head and j not in drop and t.kind == "content"]
    end = max(j for j, t in enumerate(toks) if j == head or (
        j > head and j not in drop and t.kind == "modifier" and t.upper))
    return _join(t for t in toks[(idx + [head])[-min(n, len(idx) + 1)]:end + 1]
                 if t.kind != "filler" or t.keys & STOP)


def _grow(render, n: list[int], most: list[int], limit: int) -> str:
    """``render(n)`` with the words per item ``n`` raised one at a time, first items first, as
    long as the result fits ``limit``."""
    grown = True
    while grown:
        grown = False
        for i in range(len(n)):
            if n[i] < most[i]:
                n[i] += 1
                if width(render(n)) <= limit:
                    grown = True
                else:
                    n[i] -= 1
    return render(n)


def _theme_name(items: list[list[_Tok]], shared: list[set[int]], limit: int) -> str | None:
    """"Theme: diff + diff" when the items share their product words ("Lunch Box: Spaceboy +
    Dolly Girl"), else None. The theme is the shared words, shortened (colours and modifiers
    out, then words from the front) until one word of each item fits beside it."""
    heads, share = True, True
    for toks, s in zip(items, shared):
        content = [j for j, t in enumerate(toks) if t.kind == "content"]
        heads = heads and _head(toks) in s
        share = share and bool(content) and toks[0].upper and len(
            set(content) & s) >= THEME_SHARE * len(content)
    diffs = [[t for j, t in enumerate(toks) if j not in s and t.kind != "filler"]
             for toks, s in zip(items, shared)]
    if not (heads or share) or not all(diffs):  # no shared product, or one item is it plain
        return None
    first = [t for j, t in enumerate(items[0]) if j in shared[0] and t.kind != "filler"]
    content = [t for t in first if t.kind == "content"]
    ones = " + ".join(_join(_pick(d, 1)) for d in diffs)
    theme = next((t for t in [first] + [content[j:] for j in range(len(content))]
                  if width(f"{_join(t)}: {ones}") <= limit), content[-1:])
    return _grow(lambda n: f"{_join(theme)}: " + " + ".join(
        _join(_pick(d, k)) for d, k in zip(diffs, n)), [1] * len(diffs),
        [min(NAME_WORDS, len(d)) for d in diffs], limit)


def _cjk_name(names: list[str], limit: int) -> str:
    """Names without spaces (Chinese): the product form all end with ("颗粒") as the theme, the
    brand all start with left out; too long, the bracketed parts go ("（10袋）"), then the last
    items ("+ 2 more", two stay), then each keeps its start (the form is last), "…"."""
    names = [re.sub(r"\s+", "", n) for n in names]
    pre = os.path.commonprefix(names) if len(names) > 1 else ""
    suf = os.path.commonprefix([n[::-1] for n in names])[::-1] if len(names) > 1 else ""
    rest = [n[len(pre):] or n for n in names]
    head = ""
    if len(suf) >= 2 and all(len(r) > len(suf) for r in rest):
        head, rest = f"{suf}: ", [r[:-len(suf)] for r in rest]
    if width(head + " + ".join(rest)) > limit:
        rest = [re.sub(r"[（(【\[][^）)】\]]*[）)】\]]", "", r) or r for r in rest]
    more, room, parts = "", limit - width(head) + 3, {}
    while len(rest) > 2 and width(head + " + ".join(rest) + more) > limit:
        rest, more = rest[:-1], f" + {len(names) - len(rest) + 1} more"  # the first ones whole
    room -= width(more) + 3 * len(rest)
    for i in sorted(range(len(rest)), key=lambda i: width(rest[i])):  # short ones whole
        share = max(3, room // (len(rest) - len(parts)))
        parts[i] = rest[i] if width(rest[i]) <= share else cut(rest[i], share - 1) + "…"
        room -= width(parts[i])
    return cut(head + " + ".join(parts[i] for i in range(len(rest))) + more, limit)


def _one_name(names: list[str], limit: int) -> str:
    ids = [_is_id(n) for n in names]
    if all(ids):
        text = " + ".join(f"Item {n}" for n in names)
        return text if width(text) <= limit else cut("Items " + " + ".join(names), limit)
    if all(_CJK.search(n) for n in names):
        return _cjk_name(names, limit)
    items = [[] if i else _tokens(n) for n, i in zip(names, ids)]
    keys = [set().union(*(t.keys for t in toks if t.kind != "filler")) for toks in items if toks]
    shared = [{j for j, t in enumerate(toks)
               if t.kind != "filler" and all(t.keys <= k for k in keys)} for toks in items]
    theme = _theme_name(items, shared, limit) if len(keys) == len(names) > 1 else None
    if theme:
        return cut(theme, limit)
    # one item plainly the others' product ("PARTY BUNTING", "TEA TIME PARTY BUNTING"): in full
    plain = any(not [j for j, t in enumerate(toks) if j not in s and t.kind != "filler"]
                for toks, s in zip(items, shared) if toks)
    drops = [set() if plain else s for s in shared]

    def render(n: list[int], m: int = len(names), more: bool = True) -> str:  # "+ 2 more"
        parts = [f"Item {name}" if i else _core(t, d, k)
                 for name, i, t, d, k in list(zip(names, ids, items, drops, n))[:m]]
        more = more and m < len(names)
        return " + ".join([p for p in parts if p] + [f"{len(names) - m} more"] * more)
    m = len(names)
    while m > 1 and width(render([1] * m, m)) > limit:
        m -= 1
    if width(render([1], 1)) > limit:
        return cut(render([1], 1, more=False), limit)
    most = [0 if i else CORE_WORDS + plain for i in ids]
    return cut(_grow(lambda n: render(n, m), [1] * len(names), most, limit), limit)


def _extra(mine: Sequence[str], others: list[Sequence[str]], name: str) -> str:
    """Two words of the bundle's items not in its name yet, those the ``others`` lack first."""
    def keys(text: str) -> set[str]:
        return {k.lower() for k in _KEY.findall(text)}
    theirs, taken = keys(" ".join(str(n) for o in others for n in o)), keys(name)
    toks = [t for n in mine for t in _tokens(str(n)) if t.kind != "filler" and not t.keys <= taken]
    toks = [t for j, t in enumerate(toks) if t.keys not in [u.keys for u in toks[:j]]]
    return _join(([t for t in toks if not t.keys <= theirs] or toks)[:2])


def bundle_names(bundles: Sequence[Sequence[str]], item_ids: Sequence[Sequence[str]] | None = None,
                 limit: int = NAME_CHARS) -> list[str]:
    """A name for each bundle of a list (``bundles``: each bundle's item names): short (at most
    ``limit`` columns, cut at a word), distinct within the list, made of the items' own words.

    - items sharing their product words: "Lunch Box: Spaceboy + Dolly Girl" (the shared words,
      then what tells the items apart); else each item's head noun, "Milk + String Cheese"
      (words all items share, "Organic Whole", are left out);
    - UPPER CASE names in title case; id-only names "Item 13176 + Item 21137"; Chinese names by
      what tells them apart ("颗粒: 板蓝根 + 感冒灵", the shared product form first);
    - too many items for the width: the first ones and "+ 2 more";
    - the same name twice: each gets, in parentheses, words of its items the others lack
      ("Bowl + Plate (Blue)"), then, where the item names are the same, its own item ids."""
    names = [_one_name([str(n).strip() for n in b], limit) or "Unnamed items" for b in bundles]
    for step in ("words", "ids"):
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            groups.setdefault(n.casefold(), []).append(i)
        for g in (g for g in groups.values() if len(g) > 1):
            base = names[g[0]]
            for i in g:
                if step == "words":
                    add = _extra(bundles[i], [bundles[j] for j in g if j != i], base)
                else:
                    ids = item_ids if item_ids is not None else [()] * len(names)
                    own = [str(x) for x in ids[i]]
                    theirs = {str(x) for j in g if j != i for x in ids[j]}
                    add = " + ".join(([x for x in own if x not in theirs] or own)[:2])
                if add:
                    add = cut(add, limit // 2)
                    names[i] = f"{cut(base, limit - width(add) - 3)} ({add})"
    return names


def short_name(names: Sequence[str], limit: int = NAME_CHARS) -> str:
    """The name of one bundle on its own (``bundle_names`` of a one-bundle list)."""
    return bundle_names([names], limit=limit)[0]


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
