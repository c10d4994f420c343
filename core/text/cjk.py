"""Chinese (Han) text pieces for variant detection (``core.text.variants``): which characters are
Han, a name's bracketed parts and leading shop code, and a character-bigram similarity. Pure
functions over strings; the Chinese variant word lists live with the English ones in
``core.text.variants``.
"""

from __future__ import annotations

import re

# Han ideographs: CJK Unified Ideographs, Extension A, compatibility ideographs, Extensions B+.
# Kana and Hangul are not included: their names keep the letter-run words of other scripts.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RUN = re.compile(f"[{HAN}]+")
# A name's pieces: Han runs, and letter runs of other scripts (a mixed run "强力vc银翘片" is
# 强力 / vc / 银翘片); digits, "_" and punctuation separate pieces and are dropped.
PIECE = re.compile(f"[{HAN}]+|[^\\W\\d_{HAN}]+")
# A bracketed part, ASCII or full-width: "(络活喜)", "（大份）", "【新品】", "[II]".
BRACKETED = re.compile(r"[(（\[【［〔][^()（）\[\]【】［］〔〕]*[)）\]】］〕]")
# A shop's code glued in front of a Chinese name: "G缬沙坦胶囊", "KG替米沙坦片", "x阿司匹林",
# "**阿替洛尔片" (one or two Latin letters after optional symbols, right before a run of at least
# three Han characters: the T of "T恤" or the U of "U盘" is part of a short name, not a code).
CODE_PREFIX = re.compile(f"^[^\\w{HAN}]*[A-Za-z]{{1,2}}(?=[{HAN}]{{3}})")


def has_han(text: str) -> bool:
    return HAN_RUN.search(str(text)) is not None


def is_han(piece: str) -> bool:
    """A piece of ``PIECE`` is either all Han or has none: its first character tells."""
    return bool(piece) and HAN_RUN.match(piece) is not None


def outside_brackets(text: str) -> str:
    """``text`` without its bracketed parts and without a leading shop code: the name's core."""
    return CODE_PREFIX.sub("", BRACKETED.sub(" ", str(text)))


def bracketed_parts(text: str) -> list[str]:
    """The insides of ``text``'s bracketed parts, in order: "替米沙坦片(欧美宁)(6盒/疗程)" ->
    ["欧美宁", "6盒/疗程"]."""
    return [m.group(0)[1:-1] for m in BRACKETED.finditer(str(text))]


def _grams(text: str) -> set[str]:
    runs = HAN_RUN.findall(str(text))
    grams = {run[k:k + 2] for run in runs for k in range(len(run) - 1)}
    return grams or set("".join(runs))  # single characters only: compare the characters


def cjk_bigram_similarity(a: str, b: str) -> float:
    """Dice coefficient of the Han character bigrams of ``a`` and ``b`` (bigrams within each Han
    run; names whose runs are single characters compare characters); 0 when either name has no
    Han. "凉拌菠菜" vs "凉拌黄瓜" 0.33, "尼群地平片" vs "尼莫地平片" 0.5 (two drugs)."""
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return 0.0
    return 2 * len(ga & gb) / (len(ga) + len(gb))
