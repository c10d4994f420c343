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

Chinese names have no spaces, so a Han run was one "word" (红色剪刀 and 蓝色剪刀 had different
keys). Now, in names with Han characters only (other names are read exactly as before):

- Chinese variant words (``CJK_COLOUR_WORDS``, a colour character only when followed by 色,
  ``CJK_SIZE_WORDS``, ``CJK_PACK_WORDS``, ``CJK_UNIT_WORDS`` after a number, a
  ``CJK_SPEC_WORDS`` label with its value) are cut out of the Han runs; what is left of a run
  splits into pieces, and the pieces are the words (Latin words in the name stay words, through
  the English lists): 红色剪刀 -> 剪刀, 白饭/大碗 -> 白饭, 维生素C片 100片装 -> 维生素, c, 片.
  A lone 红 or 白 is no colour (红烧肉, 白饭 and 白斩鸡 are dishes).
- Brand rule (``is_variant_pair``): two names whose *cores* are equal are variants. The core is
  the words of the name outside its brackets and without a shop code glued in front (one or two
  Latin letters before three or more Han characters: the pharmacy's G, KG, TG, D, x; not the T
  of T恤): 苯磺酸氨氯地平片(安内真), (络活喜) and G苯磺酸氨氯地平片(6盒/疗程) are one drug
  under several brands/packs (substitutes). Also a name whose core is a bracketed brand of the
  other: 心痛定 vs 硝苯地平片(心痛定). Why this and no looser rule: in the real data the
  brackets of drug names hold brands, packs and notes (请报77504), never a different product,
  while names that differ outside the brackets are different products however alike they look.
- No character-similarity threshold: ``core.text.cjk.cjk_bigram_similarity`` (Dice of Han
  character bigrams) was measured on the real names and no threshold separates them. Different
  products score high (厄贝沙坦氢氯噻嗪片 vs 缬沙坦氢氯噻嗪片 0.8, two drugs; 尼群地平片 vs
  尼莫地平片 0.5; 凉拌菠菜 vs 凉拌黄瓜 0.33), one drug under two brands as low as 0.5 (with the
  brackets), and the one variant the rules miss that it could find, a dish also entered with a
  traditional character (烤紅酒牛肉 vs 烤红酒牛肉), scores 0.78. Its only safe form is
  similarity 1 of the cores: the brand rule's equal cores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from core.words import COLOUR_WORDS, FILLER_WORDS, SIZE_WORDS, VARIANT_WORDS  # noqa: F401
from core.text.cjk import PIECE, bracketed_parts, has_han, is_han, outside_brackets

# The English word lists live in ``core.words`` (the rules' product types read them too).

# Chinese variant words, cut out of Han runs wherever they stand (longest first), except the
# units, which are cut only right after a number. Colours: the -色 forms and other colour names
# (透明 clear, 彩色/多色 multicolour, 玫瑰金 rose gold); 色拉 (salad) is no colour.
CJK_COLOUR_WORDS = frozenset("""
红色 蓝色 黑色 白色 绿色 黄色 粉色 紫色 灰色 棕色 金色 银色 橙色 米色 青色 褐色 咖啡色 藏青色
藏蓝色 天蓝色 宝蓝色 湖蓝色 酒红色 玫红色 大红色 墨绿色 军绿色 卡其色 香槟色 奶白色 米白色
透明 彩色 多色 混色 随机色 玫瑰金
""".split())
# A colour character is a colour only when 色 follows (红色, 深蓝色): a lone 红 or 白 is part
# of a dish or a drug (红烧肉, 白饭, 红豆粥); 深/浅/淡/亮/暗 before it are shades.
CJK_COLOUR_CHARS = frozenset("红橙黄绿青蓝紫黑白灰粉棕褐金银米")
CJK_SHADE_CHARS = frozenset("深浅淡亮暗")
# Sizes of clothes (大号, 均码), drinks (大杯) and restaurant portions (大份, 大碗: 白饭/大碗 and
# 白饭/小碗 are one dish). Not 大盘/小盘 or 大包: 大盘鸡 and 大包子 are dishes.
CJK_SIZE_WORDS = frozenset("""
特大号 超大号 加大号 大号 中号 小号 加大 加小 大码 中码 小码 均码 超大杯 大杯 中杯 小杯 大份 中份 小份
半份 大碗 中碗 小碗 大例 中例 小例
""".split())
# Packs without a number: "盒装" boxed, "袋装" bagged, "罐装" canned (哈尔滨啤酒罐装), ..., and
# 疗程 of a pharmacy's "(6盒/疗程)" (six boxes a course of treatment; 6盒 is a unit below).
CJK_PACK_WORDS = frozenset("""
礼盒装 盒装 袋装 瓶装 罐装 听装 桶装 箱装 散装 家庭装 量贩装 组合装 独立装 套装 疗程
""".split())
# Units and counters, cut only after a number, with an optional 装 ("10片装") and a per-pack
# tail ("100片/瓶", "0.25g*24粒"): 片 (tablet) and 粒 alone are part of names (维生素C片).
# 度 is alcohol proof (38度剑南春). Latin units (500ml, 1L, 250g) are English size words.
CJK_UNIT_WORDS = frozenset("""
毫升 升 毫克 千克 公斤 克 斤 厘米 毫米 片 粒 丸 颗 支 袋 盒 瓶 包 罐 听 板 贴 个 只 枚 件 条 张 双
套 人份 度 寸
""".split())
# Labels whose value is a variant: "规格:500ml", "型号A", "尺码:XL" (the label and its value up
# to the next space, bracket or comma are cut).
CJK_SPEC_WORDS = frozenset("规格 型号 尺码 尺寸 颜色 款式".split())


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_CJK_VARIANT = re.compile(
    f"(?:{_alternation(CJK_SPEC_WORDS)})[:：]?[^\\s()（）\\[\\]【】,，;；、]*"
    f"|\\d+(?:\\.\\d+)?\\s*(?:{_alternation(CJK_UNIT_WORDS)})装?"
    f"(?:\\s*[/／*×x]\\s*(?:\\d+(?:\\.\\d+)?)?\\s*(?:{_alternation(CJK_UNIT_WORDS)})装?)*"
    f"|(?:{_alternation(CJK_COLOUR_WORDS)}"
    f"|[{''.join(sorted(CJK_SHADE_CHARS))}]?[{''.join(sorted(CJK_COLOUR_CHARS))}]色)(?!拉)"
    f"|{_alternation(CJK_SIZE_WORDS | CJK_PACK_WORDS)}")

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
    if not has_han(text):
        return frozenset(w for w in words if w not in VARIANT_WORDS)
    return frozenset(_cjk_words(str(text)))


def _cjk_words(text: str) -> list[str]:
    """The words of a name with Han characters, in order: Chinese variant words cut out of it,
    then its pieces (Han runs and other letter runs), the non-Han ones without English variant
    words."""
    cut = _CJK_VARIANT.sub(" ", text.lower())
    return [w for w in PIECE.findall(cut) if is_han(w) or w not in VARIANT_WORDS]


@lru_cache(maxsize=_CACHED_TEXTS)
def cjk_core(text: str) -> tuple[str, ...]:
    """The words of a Chinese name outside its brackets and without a shop code in front
    ("KG替米沙坦片(欧美宁)(6盒/疗程)" -> ("替米沙坦片",)); () when no Han word is left (a name
    without Han, or one whose Han is all in brackets or variant words)."""
    if not has_han(text):
        return ()
    core = tuple(_cjk_words(outside_brackets(text)))
    return core if any(is_han(w) for w in core) else ()


def _same_cjk_product(text_a: str, text_b: str) -> bool:
    """The brand rule: equal cores, or one name's core is a bracketed brand of the other
    ("心痛定" vs "硝苯地平片(心痛定)")."""
    ca, cb = cjk_core(text_a), cjk_core(text_b)
    if not ca or not cb:
        return False
    if ca == cb:
        return True
    for core, other in ((ca, text_b), (cb, text_a)):
        if len("".join(core)) >= 2 and all(is_han(w) for w in core) and any(
                tuple(_cjk_words(part)) == core for part in bracketed_parts(other)):
            return True
    return False


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
    a single design word (of a key of at least two words), Chinese names of one product under
    other brands/packs (equal ``cjk_core``, see the module docstring), or a base-model text
    ``similarity`` at or above ``threshold`` (callers without a model leave it at 0)."""
    ka, kb = variant_key(text_a), variant_key(text_b)
    if (ka and ka == kb) or similarity >= threshold or _same_cjk_product(text_a, text_b):
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
