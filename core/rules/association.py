"""Association rules from frequent itemsets, with mlxtend's ``association_rules`` metrics.

Every metric column has mlxtend's name and definition (``num_itemsets`` = number of orders, no
null values), computed vectorised from exact order counts:

- ``antecedent support`` sA, ``consequent support`` sC, ``support`` sAC (shares of orders);
- ``confidence`` = sAC*n / (sA*n); ``lift`` = confidence / sC;
- ``representativity`` = (n - 0) / n = 1.0 (mlxtend's share of orders without null values);
- ``leverage`` = sAC - sA*sC;
- ``conviction`` = (1 - sC) / (1 - confidence), ``inf`` where confidence >= 1;
- ``zhangs_metric`` = leverage / max(sAC*(1-sA), sA*(sC-sAC)), 0 where that denominator is 0;
- ``jaccard`` = sAC / (sA + sC - sAC);
- ``certainty`` = (confidence - sC) / (1 - sC), 0 where sC = 1;
- ``kulczynski`` = (sAC*n/(sA*n) + sAC*n/(sC*n)) / 2;

plus ``orders_together`` (orders holding antecedent and consequent). Options: minimum confidence
and lift, rules touching given items (anywhere, antecedent side only or consequent side only),
the consequent's length, redundancy pruning and a Fisher exact significance filter with a
multiple-testing correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Mapping

import numpy as np
import pandas as pd

from core.errors import BundleLabError, TooManyItemsets
from core.rules.itemsets import Itemsets

METRICS = ["antecedent support", "consequent support", "support", "confidence", "lift",
           "representativity", "leverage", "conviction", "zhangs_metric", "jaccard", "certainty",
           "kulczynski"]
ITEM_SIDES = ("any", "antecedent", "consequent")
CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
SORT_METRICS = ("lift", "confidence", "support", "orders_together", "leverage", "conviction",
                "zhangs_metric", "jaccard", "certainty", "kulczynski")
DEFAULT_MAX_RULES = 1_000_000


@dataclass(frozen=True)
class RuleParams:
    """Which rules to keep (a cache key as well).

    - ``min_confidence``, ``min_lift``: thresholds (``>=``);
    - ``items``: keep rules holding any of these item ids, on ``item_side`` "any", "antecedent"
      or "consequent";
    - ``max_consequent_len``: longest consequent (0 = any; 1 = arules' single-item consequents);
    - ``prune_redundant``: drop a rule when a rule with a smaller antecedent and the same
      consequent has at least its confidence;
    - ``significance``: keep rules whose Fisher exact test (one-sided, positive association)
      p-value, corrected with ``correction`` over the rules tested, is at most this level;
    - ``sort_by``: metric to sort by (descending); ``max_rules``: stop beyond this many rules.
    """

    min_confidence: float = 0.2
    min_lift: float = 1.0
    items: tuple[str, ...] = ()
    item_side: str = "any"
    max_consequent_len: int = 0
    prune_redundant: bool = False
    significance: float | None = None
    correction: str = "holm"
    sort_by: str = "lift"
    max_rules: int = DEFAULT_MAX_RULES

    def check(self) -> "RuleParams":
        """Raise ``BundleLabError`` for an impossible setting; return self."""
        if not 0 <= self.min_confidence <= 1:
            raise BundleLabError(f"min_confidence must be between 0 and 1, got {self.min_confidence!r} "
                                 "(e.g. 0.2 = the consequent is in at least 20% of the orders "
                                 "holding the antecedent)")
        if self.min_lift < 0:
            raise BundleLabError(f"min_lift must be 0 or more, got {self.min_lift!r} (1 = as often "
                                 "as chance, 3 = three times more often than chance)")
        if self.item_side not in ITEM_SIDES:
            raise BundleLabError(f"item_side must be one of {', '.join(ITEM_SIDES)}, got "
                                 f"{self.item_side!r}")
        if self.correction not in CORRECTIONS:
            raise BundleLabError(f"correction must be one of {', '.join(CORRECTIONS)}, got "
                                 f"{self.correction!r}")
        if self.significance is not None and not 0 < self.significance < 1:
            raise BundleLabError(f"significance must be a level between 0 and 1 (e.g. 0.05), got "
                                 f"{self.significance!r}")
        if self.sort_by not in SORT_METRICS:
            raise BundleLabError(f"sort_by must be one of {', '.join(SORT_METRICS)}, got "
                                 f"{self.sort_by!r}")
        if self.max_consequent_len < 0:
            raise BundleLabError("max_consequent_len must be 0 (any) or more")
        return self


def rule_metrics(sAC: np.ndarray, sA: np.ndarray, sC: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """mlxtend's metrics (``num_itemsets=n``, no null values) from supports, same float steps."""
    n = float(n)
    conf = (sAC * n) / (sA * n)
    conviction = np.full(conf.shape, np.inf)
    below = conf < 1.0
    conviction[below] = (1.0 - sC[below]) / (1.0 - conf[below])
    leverage = sAC - sA * sC
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.maximum(sAC * (1 - sA), sA * (sC - sAC))
        zhang = np.where(denom == 0, 0, leverage / denom)
        certainty = np.where(1 - sC == 0, 0, (conf - sC) / (1 - sC))
    return {
        "antecedent support": sA, "consequent support": sC, "support": sAC, "confidence": conf,
        "lift": conf / sC, "representativity": np.full(conf.shape, (n - 0) / n if n else 1.0),
        "leverage": leverage, "conviction": conviction, "zhangs_metric": zhang.astype(float),
        "jaccard": sAC / (sA + sC - sAC), "certainty": certainty.astype(float),
        "kulczynski": ((sAC * n) / (sA * n) + (sAC * n) / (sC * n)) / 2,
    }


def _count(itemsets: Itemsets, rows: np.ndarray) -> np.ndarray:
    if rows.shape[1] == 1:
        return itemsets.counts[1][rows[:, 0]]
    return itemsets.lookup(rows.shape[1], rows)


def _masks(k: int, max_consequent_len: int):
    """(antecedent positions, consequent positions) of every split of a k-itemset."""
    pos = range(k)
    for size in range(k - 1, 0, -1):
        if max_consequent_len and k - size > max_consequent_len:
            continue
        for ante in combinations(pos, size):
            yield list(ante), [p for p in pos if p not in ante]


def _redundant(itemsets: Itemsets, S: np.ndarray, ante: list[int], cons: list[int],
               cAC: np.ndarray, cA: np.ndarray) -> np.ndarray:
    """True where some rule A' -> C with A' a proper, non-empty subset of A has at least the
    confidence of A -> C (compared exactly on counts)."""
    out = np.zeros(len(S), dtype=bool)
    for size in range(1, len(ante)):
        for sub in combinations(ante, size):
            sub = list(sub)
            cA2 = _count(itemsets, S[:, sub])
            cA2C = _count(itemsets, S[:, sorted(sub + cons)])
            out |= cA2C * cA >= cAC * cA2
    return out


def _p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    m = len(p)
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "fdr_bh":
        from scipy import stats  # lazy: importing scipy.stats takes ~1 s

        return stats.false_discovery_control(p, method="bh")
    order = np.argsort(p, kind="stable")  # holm
    adj = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def association_rules(itemsets: Itemsets, params: RuleParams = RuleParams(), *,
                      names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Rules A -> C from every frequent itemset (every split into two non-empty parts).

    Columns: antecedents, consequents (tuples of item ids), the mlxtend metrics in mlxtend's
    order (``METRICS``), orders_together, then p_value and p_adjusted when ``significance`` is
    set, then antecedents_names and consequents_names (tuples parallel to the ids) when
    ``names`` (item id -> name) is given. Sorted by ``sort_by`` descending, then confidence,
    support. Raises ``TooManyRules`` as ``TooManyItemsets`` beyond ``max_rules``.
    """
    params.check()
    n = itemsets.n_orders
    wanted = None
    if params.items:
        ranks = itemsets.rank_of(params.items)
        wanted = np.unique(ranks[ranks >= 0])
    batches = []  # (S rows, ante positions, cons positions, counts AC, A, C)
    total = 0
    for k in sorted(itemsets.sets):
        if k < 2:
            continue
        S, cAC_all = itemsets.sets[k], itemsets.counts[k]
        if wanted is not None:
            keep = np.isin(S, wanted).any(axis=1)
            S, cAC_all = S[keep], cAC_all[keep]
        if not len(S):
            continue
        for ante, cons in _masks(k, params.max_consequent_len):
            SA, SC = S[:, ante], S[:, cons]
            cA, cC = _count(itemsets, SA), _count(itemsets, SC)
            sAC, sA, sC = cAC_all / float(n), cA / float(n), cC / float(n)
            conf = (sAC * n) / (sA * n)
            ok = (conf >= params.min_confidence) & (conf / sC >= params.min_lift)
            if wanted is not None and params.item_side != "any":
                side = SA if params.item_side == "antecedent" else SC
                ok &= np.isin(side, wanted).any(axis=1)
            if params.prune_redundant and len(ante) > 1 and ok.any():
                idx = np.flatnonzero(ok)
                ok[idx[_redundant(itemsets, S[idx], ante, cons, cAC_all[idx], cA[idx])]] = False
            if not ok.any():
                continue
            total += int(ok.sum())
            if total > params.max_rules:
                raise TooManyItemsets(
                    f"these settings give more than {params.max_rules:,} rules, too many to show "
                    "or export: raise min_confidence or min_lift, filter by an item, or raise "
                    "min_support")
            batches.append((SA[ok], SC[ok], cAC_all[ok], cA[ok], cC[ok]))
    return _frame(itemsets, batches, params, names)


def _frame(itemsets: Itemsets, batches: list, params: RuleParams,
           names: Mapping[str, str] | None) -> pd.DataFrame:
    n = itemsets.n_orders
    if batches:
        cAC = np.concatenate([b[2] for b in batches]).astype(np.int64)
        cA = np.concatenate([b[3] for b in batches]).astype(np.int64)
        cC = np.concatenate([b[4] for b in batches]).astype(np.int64)
        ante = [t for b in batches for t in itemsets.ids_of(b[0])]
        cons = [t for b in batches for t in itemsets.ids_of(b[1])]
    else:
        cAC = cA = cC = np.zeros(0, dtype=np.int64)
        ante, cons = [], []
    metrics = rule_metrics(cAC / float(n), cA / float(n), cC / float(n), n)
    df = pd.DataFrame({"antecedents": pd.Series(ante, dtype=object),
                       "consequents": pd.Series(cons, dtype=object)})
    for m in METRICS:
        df[m] = np.asarray(metrics[m], dtype=float)
    df["orders_together"] = cAC
    if params.significance is not None:
        # one-sided Fisher exact test: P(X >= together), X ~ Hypergeom(n, |A|, |C|)
        from scipy import stats  # lazy: importing scipy.stats takes ~1 s

        p = stats.hypergeom.sf(cAC - 1, n, cA, cC) if len(cAC) else np.zeros(0)
        df["p_value"] = p
        df["p_adjusted"] = _p_adjust(np.asarray(p, dtype=float), params.correction)
        df = df[df["p_adjusted"] <= params.significance]
    df = df.sort_values([params.sort_by, "confidence", "support"], ascending=False,
                        kind="stable").reset_index(drop=True)
    if names is not None:
        df["antecedents_names"] = [tuple(names.get(i, i) for i in t) for t in df["antecedents"]]
        df["consequents_names"] = [tuple(names.get(i, i) for i in t) for t in df["consequents"]]
    return df


def explain_no_rules(itemsets: Itemsets, params: RuleParams) -> str:
    """Why a setting gives no rules, and what to change (for the page and the CLI)."""
    share = f"{itemsets.min_count:,} orders, {itemsets.min_support:.2%} of {itemsets.n_orders:,}"
    if itemsets.max_len == 1:
        return "Rules need itemsets of at least two products: set the longest itemset to 2 or more."
    if not any(k >= 2 for k in itemsets.lengths()):
        lower = max(1, itemsets.min_count // 2)
        return (f"No two products are bought together in at least {share}. Lower the support, "
                f"e.g. to {lower:,} orders.")
    if params.items:
        ranks = itemsets.rank_of(params.items)
        if not (ranks >= 0).any():
            return (f"None of the chosen products is bought in at least {share}, so no rule holds "
                    "it. Lower the support or pick a more popular product.")
    loose = RuleParams(min_confidence=0.0, min_lift=0.0, items=params.items,
                       item_side=params.item_side, max_consequent_len=params.max_consequent_len,
                       max_rules=params.max_rules)
    try:
        every = association_rules(itemsets, loose)
    except TooManyItemsets:
        return ("No rule passes these filters, although many rules exist at this support: lower "
                "the minimum confidence or lift.")
    if every.empty:
        side = {"antecedent": "on the 'if' side", "consequent": "on the 'then' side"}.get(
            params.item_side, "")
        return (f"The chosen products take part in no rule {side} at this support. Try them on "
                "either side, or lower the support.")
    passing = every[(every["confidence"] >= params.min_confidence)
                    & (every["lift"] >= params.min_lift)]
    if passing.empty:
        return (f"{len(every):,} rules exist at this support, but none reaches confidence "
                f"{params.min_confidence:.2f} and lift {params.min_lift:.2f} together: the highest "
                f"confidence is {every['confidence'].max():.2f} and the highest lift "
                f"{every['lift'].max():.2f}. Lower the minimum confidence or lift.")
    return (f"{len(passing):,} rules pass the thresholds, but the redundancy pruning or the "
            "significance test removed them all: switch those off or lower the support so that "
            "more orders back each rule.")
