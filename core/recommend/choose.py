"""The recommender chooses itself (issue 14): on each shop, the method that the bundles stage
uses (recommender affinity, target customers) is the one that predicted best on a validation
window inside the training period, not a method fixed in advance.

    choice = choose_recommender(train_lines, item_ids=items, item_text_vectors=vectors)
    choice.method, choice.record["validation"], describe(choice.record)

How:
- split: ``core.baskets.temporal_split`` of the training lines: the fit part = the orders before
  the day that leaves the last ~20% of them (by timestamp; the last 20% in file order when the
  lines have no timestamps), the validation part = the rest;
- each candidate (``CANDIDATES``: popularity, gp_topfreq, item_knn, ease, tifu_knn, neural; the
  optional ``als``, which needs Spark, only when passed in ``candidates``) is fitted on the fit
  part, over the same item index as the final model, and scored with the evaluation's protocol
  (``core.recommend.protocol.evaluate_recommenders``: each fit-part customer's first validation
  order, NDCG@10 and recall@10);
- rule: the cheapest candidate (``COST``) whose NDCG@10 is within one standard error of the
  best's (the standard error of the paired per-customer difference), i.e. ties and differences
  within noise go to the simpler method (the "one-standard-error rule", Hastie, Tibshirani &
  Friedman, The Elements of Statistical Learning, §7.10);
- fallback: fewer than ``MIN_CUSTOMERS`` validation customers with a fit-part history (or no
  window at all: one day of orders, no customers) keeps the fixed default (``DEFAULT``, today's
  method) without validation, and the record says so.
Deterministic: the baselines are closed forms, the neural model is seeded (unless its time
budget cuts a fit short). The caller refits the chosen method on the whole training period.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from core.baskets import day, temporal_split
from core.errors import BundleLabError
from core.progress import Progress, report, sub_progress
from core.recommend.history import PurchaseHistory, build_history, item_index_for
from core.recommend.protocol import evaluate_recommenders, first_test_orders

# popularity too: on restaurant_cn and groceries_member_date (few repeat purchases) it beat
# every other method on the test period (bench/corpus_eval.py), and it costs nothing to fit
# tifu_knn (issue 14, item 4): the repeat-aware user-KNN of next-basket recommendation, for the
# repeat-heavy shops where gp_topfreq matched or beat the neural model (pharmacy_cn)
CANDIDATES: tuple[str, ...] = ("popularity", "gp_topfreq", "item_knn", "ease", "tifu_knn",
                               "neural")
DEFAULT = "neural"  # the method kept without validation (the default before issue 14)
VALIDATION_SHARE = 0.2
# Below 30 validation customers the comparison is noise: per-customer NDCG@10 is mostly 0 or
# large (standard deviation ~0.3), so the standard error of a mean over 30 customers is ~0.05,
# more than the spread between the methods on every corpus shop (0.01-0.05); 30 is also the
# usual size from which a mean's normal approximation (the one-standard-error rule) holds.
MIN_CUSTOMERS = 30
# Relative cost of a fit (cheapest first): the order in which ties go and each method's share
# of the progress bar. From fits on UCI Online Retail on 2 cores: gp_topfreq and popularity
# ~0.3 s, item_knn ~1 s, EASE ~3 s (3,600 items; cubic in items), neural ~60 s; tifu_knn fits
# in ~0.01 s but pays at scoring (a cosine search over every customer): fit + scoring all 4,334
# customers 1.2 s, against 0.2 s for gp_topfreq and 0.6-0.75 s for item_knn (measured together).
# als (optional, never a default candidate: it needs Spark): a Spark start (~4 s) and ~3-8 s of
# fit on the sample data (sample_data/, 1,500 customers, 2 cores).
COST = {"popularity": 1.0, "gp_topfreq": 1.0, "item_knn": 3.0, "tifu_knn": 4.0, "ease": 10.0,
        "als": 40.0, "neural": 200.0}
# Settings of the candidates where they differ from the registry's defaults (the caller's
# ``params`` override them; the chosen method is refitted with the same): EASE inverts a dense
# items x items matrix, 20,000 items by default: ~3.2 GB per copy and minutes on 2 cores (a
# 4,000 x 4,000 inverse took 5.9 s here, cubic in items), too much for a step that runs on every
# upload; the 5,000 most-bought items keep it near 10 s and 0.6 GB (UCI Online Retail, ~3,700
# items, is unchanged).
CHOICE_PARAMS: dict[str, dict[str, Any]] = {"ease": {"max_items": 5000}}


@dataclass(frozen=True)
class Validation:
    """The validation window of some training lines: ``history`` (the fit part's purchase
    histories), ``test`` (the validation part's lines), ``customers`` (validation customers with
    a fit-part history), ``window`` (words for it), ``cut`` (its first day, None in file order),
    ``problem`` (why it cannot be used, None when it can)."""

    history: PurchaseHistory | None
    test: pd.DataFrame | None
    customers: int
    window: str
    cut: str | None
    problem: str | None


@dataclass(frozen=True)
class Choice:
    """``method``: the chosen method; ``params``: its hyperparameters (refit it with them);
    ``record``: the JSON-ready choice record (see ``choose_recommender``)."""

    method: str
    params: dict
    record: dict


def validation_window(lines: pd.DataFrame, *, item_ids: Sequence[str] | None = None,
                      share: float = VALIDATION_SHARE,
                      min_customers: int = MIN_CUSTOMERS) -> Validation:
    """The fit part's histories and the validation part of ``lines`` (see the module
    docstring); ``problem`` says why the window cannot choose (too few customers, no window)."""
    pct = f"{share:.0%}"
    try:
        split = temporal_split(lines, test_share=share)
    except BundleLabError as exc:
        return Validation(None, None, 0, f"the last {pct} of the training period", None,
                          f"no validation window ({exc})")
    if split.cut is None:
        window, cut = f"the last {pct} of the training orders (in file order: no dates)", None
    else:
        cut = day(split.cut)
        window = f"orders from {cut} on (the last ~{pct} of the training period)"
    try:
        history = build_history(split.train, item_ids=item_ids)
    except BundleLabError as exc:
        return Validation(None, split.test, 0, window, cut, f"no fit part ({exc})")
    n = len(first_test_orders(history, split.test))
    problem = None
    if n < min_customers:
        problem = (f"only {n:,} customer(s) with earlier orders bought in {window}; "
                   f"at least {min_customers} are needed to compare the methods")
    return Validation(history, split.test, n, window, cut, problem)


def choose_recommender(lines: pd.DataFrame, *, item_ids: Sequence[str] | None = None,
                       item_text_vectors: np.ndarray | None = None, text: str = "none",
                       candidates: Sequence[str] = CANDIDATES,
                       params: dict[str, dict[str, Any]] | None = None,
                       default: str = DEFAULT, min_customers: int = MIN_CUSTOMERS,
                       share: float = VALIDATION_SHARE,
                       progress: Progress | None = None) -> Choice:
    """Choose the recommender for the training ``lines`` (order_id, item_id, customer_id,
    optional timestamp) among ``candidates`` (module docstring). ``item_ids``: the item index
    of the final model (default: the items of ``lines``); ``item_text_vectors``: aligned to it,
    read by the neural model (``text``: their source, for the record); ``params``: per-method
    hyperparameters (over ``CHOICE_PARAMS``). The record: ``method, rule`` ("best",
    "within_noise" or "fallback"), ``reason`` (one sentence), ``candidates, validation``
    ({method: {"ndcg@10", "recall@10", "hit@10", "fit_seconds"}}), ``customers, window, cut,
    best, runner_up, margin`` (the chosen method's NDCG@10 minus the runner-up's),
    ``standard_error`` (of that difference), ``text, seconds, params`` (the chosen method's
    hyperparameters)."""
    from core.recommend.registry import METHODS, make_recommender

    t0 = time.perf_counter()
    candidates = list(dict.fromkeys(candidates))
    unknown = [c for c in candidates if c not in METHODS]
    if not candidates or unknown:
        raise BundleLabError(f"recommender candidates must be among {', '.join(METHODS)}, got "
                             f"{', '.join(unknown) or 'none'}")
    fallback = default if default in candidates else min(candidates, key=_cost_key)
    items = item_index_for(lines) if item_ids is None else np.asarray(list(item_ids), dtype=object)
    if item_text_vectors is not None and len(item_text_vectors) != len(items):
        raise BundleLabError(f"{len(item_text_vectors)} text vectors for {len(items)} items: "
                             "align them to item_ids")
    report(progress, 0.0, "choosing the recommender: validation window")
    val = validation_window(lines, item_ids=items, share=share, min_customers=min_customers)
    settings = {c: {**CHOICE_PARAMS.get(c, {}), **(params or {}).get(c, {})} for c in candidates}
    record: dict[str, Any] = {"candidates": candidates, "customers": val.customers,
                              "window": val.window, "cut": val.cut, "text": text}
    if val.problem is not None:
        record.update(method=fallback, rule="fallback", validation={}, best=None,
                      runner_up=None, margin=None, standard_error=None,
                      seconds=round(time.perf_counter() - t0, 2), params=settings[fallback])
        record["reason"] = (f"{fallback} kept without validation (the fixed default): "
                            f"{val.problem}")
        report(progress, 1.0, f"recommender: {fallback} (no validation)")
        return Choice(fallback, settings[fallback], record)
    models = {c: make_recommender(c, **settings[c]) for c in candidates}
    per_user: dict[str, dict] = {}
    scores = evaluate_recommenders(val.history, val.test, models,
                                   item_text_vectors=item_text_vectors,
                                   shares={c: COST.get(c, 1.0) for c in candidates},
                                   per_user=per_user,
                                   progress=sub_progress(progress, 0.02, 0.99))
    method, rule, best = pick(per_user)
    others = [c for c in candidates if c != method]
    runner = max(others, key=lambda c: (_mean(per_user[c]), -_cost_key(c)[0])) if others else None
    margin = se = None
    if runner is not None:
        diff = per_user[method]["ndcg"] - per_user[runner]["ndcg"]
        margin, se = round(float(diff.mean()), 4), round(_se(diff), 4)
    record.update(method=method, rule=rule, best=best, runner_up=runner, margin=margin,
                  standard_error=se, seconds=round(time.perf_counter() - t0, 2),
                  params=settings[method],
                  validation={c: {k: scores[c][k] for k in ("ndcg@10", "recall@10", "hit@10",
                                                             "fit_seconds")}
                              for c in candidates})
    record["reason"] = describe(record)
    report(progress, 1.0, f"recommender: {method} chosen")
    return Choice(method, settings[method], record)


def pick(per_user: dict[str, dict]) -> tuple[str, str, str]:
    """(chosen, rule, best) from per-customer values (``score_ranking``'s rows, aligned): the
    best NDCG@10 (ties: the cheaper), then the cheapest method within one standard error of the
    paired difference to it (rule "best" when that is the best itself, else "within_noise")."""
    names = sorted(per_user, key=_cost_key)
    best = max(names, key=lambda c: (_mean(per_user[c]), -names.index(c)))
    for c in names:
        diff = per_user[best]["ndcg"] - per_user[c]["ndcg"]
        if float(diff.mean()) <= _se(diff):
            return c, ("best" if c == best else "within_noise"), best
    return best, "best", best  # not reached: the best's own difference is 0


def describe(record: dict) -> str:
    """One sentence on the choice, for the page and the CLI, e.g. "gp_topfreq was chosen:
    NDCG@10 0.291 on orders from 2011-08-01 on (...), 1,234 customers, against 0.284 for neural
    (next best)"."""
    method = record["method"]
    if record.get("rule") == "fallback":
        return record.get("reason") or f"{method} kept without validation (the fixed default)"
    val = record["validation"]
    head = (f"{method} was chosen: NDCG@10 {val[method]['ndcg@10']:.3f} on {record['window']}, "
            f"{record['customers']:,} customers")
    runner = record.get("runner_up")
    if runner is None:
        return head + " (the only candidate)"
    if record.get("rule") == "within_noise":  # the runner-up is then the best
        return (f"{head}, against {val[runner]['ndcg@10']:.3f} for {runner} (the best), a "
                f"difference within one standard error ({record['standard_error']:.3f}): the "
                "cheaper method is kept")
    return (f"{head}, against {val[runner]['ndcg@10']:.3f} for {runner} (next best; margin "
            f"{record['margin']:+.3f}, standard error {record['standard_error']:.3f})")


def _mean(rows: dict) -> float:
    return float(np.mean(rows["ndcg"])) if len(rows["ndcg"]) else 0.0


def _se(diff: np.ndarray) -> float:
    """Standard error of the mean of the paired per-customer differences (0 for one value)."""
    n = len(diff)
    return float(np.std(diff, ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def _cost_key(name: str) -> tuple[float, str]:
    return COST.get(name, 1.0), name
