"""The held-out scoring protocol of the recommenders (docs/ARCHITECTURE.md §6), shared by the
evaluation block (``core.evaluate.recommender``: a test period after a cut) and the recommender's
own choice of method (``core.recommend.choose``: a validation window inside the training period).

Protocol: every model is fitted on the earlier orders only. Each known customer (>= 1 earlier
order) is scored on their first later order; targets = its distinct items, items never sold
before included (they count as misses for every model that cannot rank them). Per method:
``recall@10`` = hits / |targets|, ``ndcg@10`` (binary gains, ideal DCG over min(10, |targets|)),
``hit@10``, and the split of hits into ``repeat_hits`` (items the customer bought before) and
``explore_hits`` (items new to them), summed over customers.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from core.errors import BundleLabError
from core.metrics import hit_at_k, ndcg_at_k, recall_at_k
from core.progress import Progress, report, sub_progress
from core.recommend.base import Recommender
from core.recommend.history import PurchaseHistory

K = 10


def first_test_orders(history: PurchaseHistory, test_lines: pd.DataFrame) -> pd.DataFrame:
    """One row per known customer with a test order: customer_id, order_id (their first test
    order by time, then file order), targets (sorted list of its distinct item ids)."""
    test = test_lines[test_lines["customer_id"].notna()]
    test = test.assign(customer_id=test["customer_id"].astype(str))
    test = test[test["customer_id"].isin(set(history.customer_ids))]
    if test.empty:
        return pd.DataFrame(columns=["customer_id", "order_id", "targets"])
    g = test.groupby("order_id", sort=False)
    orders = pd.DataFrame({"customer_id": g["customer_id"].first(),
                           "t": g["timestamp"].min() if "timestamp" in test else 0})
    orders["pos"] = np.arange(len(orders))
    first = orders.sort_values(["customer_id", "t", "pos"]).groupby("customer_id").head(1)
    items = test.groupby("order_id")["item_id"].agg(lambda s: sorted(set(map(str, s))))
    return pd.DataFrame({"customer_id": first["customer_id"].to_numpy(),
                         "order_id": first.index.to_numpy(),
                         "targets": items.loc[first.index].to_numpy()}).reset_index(drop=True)


def score_ranking(ranked: np.ndarray, targets: list[list[str]], bought: list[set[str]],
                  k: int = K, *, rows: dict | None = None) -> dict[str, float]:
    """Mean recall/ndcg/hit@k over users and the repeat/explore split of hits (totals).
    ``rows``: when given, filled with the per-user values (``recall``, ``ndcg``, ``hit``: arrays
    aligned to ``targets``), e.g. for a paired comparison of two methods."""
    rec, ndcg, hit, rep, exp = [], [], [], 0, 0
    for ids, tgt, seen in zip(ranked, targets, bought):
        top = [i for i in list(ids)[:k] if i is not None]
        rec.append(recall_at_k(top, tgt, k))
        ndcg.append(ndcg_at_k(top, tgt, k))
        hit.append(hit_at_k(top, tgt, k))
        hits = set(top) & set(tgt)
        rep += len(hits & seen)
        exp += len(hits - seen)
    if rows is not None:
        rows.update(recall=np.asarray(rec, dtype=np.float64),
                    ndcg=np.asarray(ndcg, dtype=np.float64), hit=np.asarray(hit, dtype=np.float64))
    n = max(1, len(targets))
    return {f"recall@{k}": round(float(np.sum(rec)) / n, 4),
            f"ndcg@{k}": round(float(np.sum(ndcg)) / n, 4),
            f"hit@{k}": round(float(np.sum(hit)) / n, 4),
            "repeat_hits": int(rep), "explore_hits": int(exp)}


def evaluate_recommenders(history: PurchaseHistory, test_lines: pd.DataFrame,
                          models: dict[str, Recommender], *,
                          item_text_vectors: np.ndarray | None = None, k: int = K,
                          progress: Progress | None = None,
                          shares: dict[str, float] | None = None,
                          per_user: dict[str, dict] | None = None) -> dict[str, dict[str, Any]]:
    """Fit each model on ``history`` and score it on the first test orders. Returns
    ``{name: {"recall@10", "ndcg@10", "hit@10", "repeat_hits", "explore_hits", "customers",
    "fit_seconds"}}``. ``shares``: each model's share of the progress range (default equal: give
    the expected seconds where they differ a lot); ``per_user``: when given, filled with each
    model's per-customer values (``score_ranking``'s ``rows``)."""
    cases = first_test_orders(history, test_lines)
    if cases.empty:
        raise BundleLabError("no customer with a training order also has a test order, so the "
                             "recommender cannot be evaluated: pick an earlier --cut")
    customers = cases["customer_id"].tolist()
    targets = cases["targets"].tolist()
    batch = history.batch(customers)
    counts = batch.counts()
    bought = [set(history.item_ids[counts.indices[counts.indptr[b]:counts.indptr[b + 1]]])
              for b in range(len(customers))]
    weight = {name: max(float((shares or {}).get(name, 1.0)), 1e-9) for name in models}
    total, done = sum(weight.values()), 0.0
    out: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        lo, hi = done / total, (done + weight[name]) / total
        done += weight[name]
        report(progress, lo, f"training {name}")
        t0 = time.perf_counter()
        model.fit(history, item_text_vectors=item_text_vectors,
                  progress=sub_progress(progress, lo, lo + 0.9 * (hi - lo)))
        fit_s = time.perf_counter() - t0
        report(progress, lo + 0.9 * (hi - lo), f"scoring {name}")
        ids, _ = model.recommend(batch, k)
        rows: dict = {}
        metrics = score_ranking(ids, targets, bought, k, rows=rows)
        metrics.update(customers=len(customers), fit_seconds=round(fit_s, 2))
        out[name] = metrics
        if per_user is not None:
            per_user[name] = rows
    report(progress, 1.0, "recommenders scored")
    return out
