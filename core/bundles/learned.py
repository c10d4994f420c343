"""A score learned from the shop's own later orders (issue 14, item 2): a small learning-to-rank
model instead of the fixed rule strength and weights.

``learned_score(inp, c, ...)`` splits the training orders by time (the last ``VALIDATION_SHARE``
are the validation orders), builds the candidates on the earlier ones with the same settings,
labels each with the validation orders holding 2 or more of its items, and fits a
gradient-boosted Poisson regression (``sklearn.ensemble.HistGradientBoostingRegressor``) of that
label on the candidate's features (``candidate_features``: log orders together, confidence,
all-confidence, lift, size, the log order counts of its least and most sold items, the share of
its orders in the last quarter of the period, text similarity, recommender affinity). For the
candidates built on all training orders, the predicted later hits *per training order* (scaled
to at most 1) are the score: the greedy selection multiplies it with the training orders a
candidate newly covers, so their product is about the later orders it will hold. (Percentiles
of the predicted hits, as bench/ltr_probe.py does, were weaker: the coverage gain outweighed
them, and fading best-sellers kept their place.)

Measured (held-out last ~20% of orders, co-purchase candidates, N = 50): UCI Online Retail
0.5265 against 0.4635 for the rule strength; restaurant_cn 0.735 against 0.760. It is
therefore off by default, and the weights' fit (``core.bundles.fit``) switches it on for a shop
only when its own validation orders clearly say so.

None (with the reason) when the orders have no dates, or too few validation orders, candidates
or positive labels to learn from (pharmacy_cn and groceries_member_date have 3 and 6 candidates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.bundles.candidates import BundleInputs, Candidates, coverage_matrix

VALIDATION_SHARE = 0.2
MIN_VALIDATION_ORDERS = 100
MIN_POSITIVE = 10  # candidates hit at least once in the validation orders
# every note of learned_score starts with this (a build that lowers its minimum keeps the last)
LEARNED_NOTES = "learned score: "
MIN_CANDIDATES = 60  # the model's leaves hold 20 candidates: fewer cannot be split into a rank


def candidate_features(c: Candidates, inp: BundleInputs) -> np.ndarray:
    """One row per candidate (module docstring)."""
    counts = inp.baskets.item_counts().astype(float)
    lo = np.array([np.log1p(counts[list(s)].min()) for s in c.sets])
    hi = np.array([np.log1p(counts[list(s)].max()) for s in c.sets])
    size = np.array([len(s) for s in c.sets], dtype=float)
    recent = np.zeros(len(c))
    t = _times(inp)
    if t is not None and len(c):
        late = t >= np.nanquantile(t, 0.75)
        cover = coverage_matrix(inp.baskets.matrix.tocsc(), c.sets).tocsc()
        total = np.asarray(cover.sum(axis=0)).ravel()
        recent = np.asarray(cover[late].sum(axis=0)).ravel() / np.maximum(total, 1)
    return np.column_stack([np.log1p(c.orders), c.confidence, c.all_confidence,
                            np.log1p(c.lift), size, lo, hi, recent,
                            np.nan_to_num(c.similarity), np.nan_to_num(c.affinity)])


def _times(inp: BundleInputs) -> np.ndarray | None:
    """Seconds since the first order, per basket row (NaN undated); None without dates."""
    if inp.order_time is None:
        return None
    t = pd.to_datetime(pd.Series(inp.order_time))
    return None if t.isna().all() else (t - t.min()).dt.total_seconds().to_numpy()


def _rows(inp: BundleInputs, keep: np.ndarray) -> BundleInputs:
    """``inp`` restricted to the basket rows ``keep`` (the items stay all of them)."""
    from dataclasses import replace

    from core.baskets import Baskets

    b = inp.baskets
    sub = Baskets(b.matrix[keep], np.asarray(b.order_ids)[keep], b.item_ids)

    def cut(x):
        return None if x is None else np.asarray(x)[keep]

    return replace(inp, baskets=sub, order_revenue=cut(inp.order_revenue),
                   customers=cut(inp.customers), order_time=cut(inp.order_time),
                   notes=[], pair_counts=None)  # counts of all orders: not these


def learned_score(inp: BundleInputs, c: Candidates, build, *, seed: int = 0
                  ) -> tuple[np.ndarray | None, str]:
    """(percentile score of ``c``'s candidates, or None; what was done, in words). ``build``:
    ``build(inputs) -> Candidates`` with the list's own settings (the earlier orders' pool)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    t = _times(inp)
    if t is None:
        return None, LEARNED_NOTES + "it needs order dates: the rule strength was used"
    cut = np.nanquantile(t, 1 - VALIDATION_SHARE)
    early, late = t < cut, t >= cut
    val = inp.baskets.matrix[late].tocsc().astype(np.int32)
    n_val = int((np.diff(inp.baskets.matrix[late].tocsr().indptr) >= 2).sum())
    if n_val < MIN_VALIDATION_ORDERS:
        return None, (f"{LEARNED_NOTES}only {n_val} validation orders with 2+ items (at "
                      f"least {MIN_VALIDATION_ORDERS}): the rule strength was used")
    fit_inp = _rows(inp, early)
    c_fit = build(fit_inp)
    if len(c_fit) < MIN_CANDIDATES:
        return None, (f"{LEARNED_NOTES}only {len(c_fit)} candidate bundles in the earlier "
                      f"orders (at least {MIN_CANDIDATES} to learn a score from): the rule "
                      "strength was used")
    y = np.array([int((np.asarray(val[:, list(s)].sum(axis=1)).ravel() >= 2).sum())
                  for s in c_fit.sets])
    if int((y > 0).sum()) < MIN_POSITIVE:
        return None, (f"{LEARNED_NOTES}too few bundles of the earlier orders were bought in "
                      "the later ones to learn from: the rule strength was used")
    model = HistGradientBoostingRegressor(loss="poisson", max_iter=200, learning_rate=0.05,
                                          random_state=seed)
    model.fit(candidate_features(c_fit, fit_inp), y)
    # predicted later hits per training order: times the training orders a candidate newly
    # covers (the greedy's gain), about the later orders it will hold
    ratio = model.predict(candidate_features(c, inp)) / np.maximum(c.orders, 1)
    score = ratio / max(float(ratio.max()), 1e-12)
    return score, (f"{LEARNED_NOTES}learned from {n_val:,} later orders ({len(c_fit):,} "
                   "candidates of the earlier ones)")
