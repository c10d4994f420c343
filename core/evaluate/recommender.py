"""The recommender block of the evaluation (docs/ARCHITECTURE.md §6).

Protocol: every model is fitted on the training orders only. Each known customer (>= 1 training
order) is scored on their first test order; targets = its distinct items, items never sold before
the cut included (they count as misses for every model that cannot rank them). Per method:
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
from core.progress import Progress, report, sub_progress
from core.evaluate.metrics import hit_at_k, ndcg_at_k, recall_at_k
from core.recommend.base import Recommender
from core.recommend.history import PurchaseHistory, build_history

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
                  k: int = K) -> dict[str, float]:
    """Mean recall/ndcg/hit@k over users and the repeat/explore split of hits (totals)."""
    rec, ndcg, hit, rep, exp = [], [], [], 0, 0
    for ids, tgt, seen in zip(ranked, targets, bought):
        top = [i for i in list(ids)[:k] if i is not None]
        rec.append(recall_at_k(top, tgt, k))
        ndcg.append(ndcg_at_k(top, tgt, k))
        hit.append(hit_at_k(top, tgt, k))
        hits = set(top) & set(tgt)
        rep += len(hits & seen)
        exp += len(hits - seen)
    n = max(1, len(targets))
    return {f"recall@{k}": round(float(np.sum(rec)) / n, 4),
            f"ndcg@{k}": round(float(np.sum(ndcg)) / n, 4),
            f"hit@{k}": round(float(np.sum(hit)) / n, 4),
            "repeat_hits": int(rep), "explore_hits": int(exp)}


def evaluate_recommenders(history: PurchaseHistory, test_lines: pd.DataFrame,
                          models: dict[str, Recommender], *,
                          item_text_vectors: np.ndarray | None = None, k: int = K,
                          progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """Fit each model on ``history`` and score it on the first test orders. Returns
    ``{name: {"recall@10", "ndcg@10", "hit@10", "repeat_hits", "explore_hits", "customers",
    "fit_seconds"}}``."""
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
    out: dict[str, dict[str, Any]] = {}
    for n, (name, model) in enumerate(models.items()):
        lo, hi = n / len(models), (n + 1) / len(models)
        report(progress, lo, f"training {name}")
        t0 = time.perf_counter()
        model.fit(history, item_text_vectors=item_text_vectors,
                  progress=sub_progress(progress, lo, lo + 0.9 * (hi - lo)))
        fit_s = time.perf_counter() - t0
        report(progress, lo + 0.9 * (hi - lo), f"scoring {name}")
        ids, _ = model.recommend(batch, k)
        metrics = score_ranking(ids, targets, bought, k)
        metrics.update(customers=len(customers), fit_seconds=round(fit_s, 2))
        out[name] = metrics
    report(progress, 1.0, "recommenders scored")
    return out


def recommender_block(ctx, progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """Evaluation block "recommender": every method of ``core.recommend.registry.METHODS`` trained on the
    split's training orders, scored on each known customer's first test order.

    The neural model reads the fine-tuned text vectors trained on the same training orders (from
    the embeddings block through ``ctx.shared["item_vectors"]`` when it ran first, else trained or
    reused here). ``ctx.options["recommender"]`` may hold ``{"text": "finetuned"|"base"|"none"}``
    and per-method settings, e.g. ``{"neural": {"seed": 1}}``."""
    from core.recommend.history import item_index_for
    from core.recommend.registry import METHODS, make_recommender
    from core.recommend.store import align_vectors, text_vectors_for

    options = dict(ctx.options.get("recommender") or {})
    source = options.pop("text", "finetuned")
    items = item_index_for(ctx.split.train, ctx.items)
    history = build_history(ctx.split.train, item_ids=items)
    shared = ctx.shared.get("item_vectors") or {}
    if source in shared:
        vectors = align_vectors(shared["item_ids"], shared[source], history.item_ids)
        used = source
    else:
        vectors, used = text_vectors_for(ctx.ws, ctx.dataset, history.item_ids, source=source,
                                         progress=sub_progress(progress, 0.0, 0.3),
                                         **ctx.training_set())
    models = {name: make_recommender(name, **options.get(name, {})) for name in METHODS}
    result = evaluate_recommenders(history, ctx.split.test, models, item_text_vectors=vectors,
                                   progress=sub_progress(progress, 0.3, 1.0))
    result["neural"]["text"] = used
    ctx.shared["recommender"] = result
    return result
