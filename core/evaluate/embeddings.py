"""The ``embeddings`` evaluation block (docs/ARCHITECTURE.md §6): co-purchase retrieval on
held-out orders.

Queries are (item, test order) for every item of a test order with >= 2 known items; the
relevant set is the order's other items. Each method ranks ALL known items (the query item
excluded) as the item's neighbours:

- ``recall@10`` = relevant items among the 10 nearest / min(10, |relevant|)
  (``core.evaluate.metrics.capped_recall_at_k``);
- ``mrr`` = 1 / rank of the first relevant neighbour (over the whole ranking, 0 when none is
  ranked);
- ``cold_recall@10`` = recall@10 over queries whose item has no training sales (None when there
  are no such queries).

Methods: ``cooccurrence`` (training co-counts; ties by training popularity, then item order; items
never bought with the query are not ranked, so cold items get nothing), ``base`` (the base
sentence-transformer) and ``finetuned`` (fine-tuned on training orders only). Scores are computed
for a chunk of query items at a time (one matrix product + argsort), and each item's queries are
scored together with ``reduceat`` over its test orders.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from core.baskets import Baskets, build_baskets
from core.errors import ModelNotTrained
from core.progress import Progress, report, sub_progress

K = 10
CHUNK = 256

# positions(query item indices) -> int array (len(q), n_items): 0-based rank of every item in the
# query's neighbour list; UNRANKED for the query itself and items not ranked.
Positions = Callable[[np.ndarray], np.ndarray]
UNRANKED = np.iinfo(np.int64).max // 2  # beyond any k and any number of items


def _positions_from_scores(scores: np.ndarray, q: np.ndarray, ranked: np.ndarray | None = None,
                           tiebreak: np.ndarray | None = None) -> np.ndarray:
    n = scores.shape[1]
    rows = np.arange(len(q))
    if tiebreak is None:
        order = np.argsort(-scores, axis=1, kind="stable")  # ties: lower item index first
    else:
        idx = np.broadcast_to(np.arange(n), scores.shape)
        tb = np.broadcast_to(-tiebreak, scores.shape)
        order = np.lexsort((idx, tb, -scores), axis=1)
    pos = np.empty(scores.shape, dtype=np.int64)
    np.put_along_axis(pos, order, np.broadcast_to(np.arange(n), scores.shape), axis=1)
    # Ranks count only ranked items; the query sorts wherever its score put it, so shift the
    # items ranked after it up by one.
    self_pos = pos[rows, q]
    pos = pos - (pos > self_pos[:, None])
    pos[rows, q] = UNRANKED
    if ranked is not None:
        pos[~ranked] = UNRANKED
    return pos


def embedding_positions(vectors: np.ndarray) -> Positions:
    """Neighbours by cosine similarity of L2-normalised ``vectors`` (ties by item index)."""
    v = np.asarray(vectors, dtype=np.float32)

    def positions(q: np.ndarray) -> np.ndarray:
        return _positions_from_scores(v[q] @ v.T, q)

    return positions


def cooccurrence_positions(train: Baskets) -> Positions:
    """Neighbours by training co-count; ties by training popularity, then item index; items with
    no co-purchase are not ranked."""
    x = train.matrix.astype(np.int64)
    co = (x.T @ x).tocsr()
    pop = train.item_counts().astype(np.float64)

    def positions(q: np.ndarray) -> np.ndarray:
        scores = co[q].toarray().astype(np.float64)
        scores[np.arange(len(q)), q] = 0.0
        return _positions_from_scores(scores, q, ranked=scores > 0, tiebreak=pop)

    return positions


def neighbour_metrics(test: Baskets, positions: Positions, *, cold: np.ndarray | None = None,
                      k: int = K, progress: Progress | None = None) -> dict:
    """Mean ``recall@k`` (capped denominator), ``mrr`` and ``cold_recall@k`` over the queries of
    ``test`` (items x orders with >= 2 items). ``cold`` flags cold-start items (by column).
    Returns those three keys plus ``queries`` and ``cold_queries`` (counts)."""
    m = test.matrix.tocsr()
    sizes = np.diff(m.indptr)
    m = m[sizes >= 2]
    sizes = np.diff(m.indptr)
    n_items = m.shape[1]
    cold = np.zeros(n_items, dtype=bool) if cold is None else np.asarray(cold, dtype=bool)
    by_item = m.tocsc()
    query_items = np.flatnonzero(np.diff(by_item.indptr))
    sum_recall = sum_rr = cold_recall = 0.0
    n_q = n_cold = 0
    for c0 in range(0, len(query_items), CHUNK):
        chunk = query_items[c0:c0 + CHUNK]
        report(progress, c0 / max(1, len(query_items)), f"ranking neighbours {c0:,}/{len(query_items):,}")
        pos = positions(chunk)
        for r, item in enumerate(chunk):
            orders = by_item.indices[by_item.indptr[item]:by_item.indptr[item + 1]]
            sub = m[orders]
            vals = pos[r, sub.indices]
            starts = sub.indptr[:-1]
            hits = np.add.reduceat((vals < k).astype(np.int64), starts)
            first = np.minimum.reduceat(vals, starts)
            recall = hits / np.minimum(k, sizes[orders] - 1)
            rr = np.where(first < UNRANKED, 1.0 / (first + 1.0), 0.0)
            sum_recall += recall.sum()
            sum_rr += rr.sum()
            n_q += len(orders)
            if cold[item]:
                cold_recall += recall.sum()
                n_cold += len(orders)
    report(progress, 1.0, "ranked")
    return {f"recall@{k}": sum_recall / n_q if n_q else None,
            "mrr": sum_rr / n_q if n_q else None,
            f"cold_recall@{k}": cold_recall / n_cold if n_cold else None,
            "queries": n_q, "cold_queries": n_cold}


def _rounded(metrics: dict) -> dict:
    return {key: (round(float(v), 4) if v is not None else None) for key, v in metrics.items()
            if key in (f"recall@{K}", "mrr", f"cold_recall@{K}")}


def embeddings_block(ctx, progress: Progress | None = None) -> dict:
    """docs/ARCHITECTURE.md §7 ``embeddings``: ``{"cooccurrence"|"base"|"finetuned":
    {"recall@10", "mrr", "cold_recall@10"}, "n": {queries, cold_queries, items, test_orders,
    ...}}``.

    ``ctx.options["embeddings"]`` may hold ``params`` (``FinetuneParams``), ``model`` (a base
    model directory or name; default: chosen by the catalog's script, ``core.text.language``)
    and ``compare_encoders`` (True: also rows ``minilm_base``/``minilm_finetuned`` or
    ``multilingual_...`` for the bundled encoder not chosen); ``ctx.options["finetune_params"]``
    /``["model"]`` (shared with the bundles block) are used otherwise. ``encoder``: the chosen
    encoder's name and why. The fine-tuned model is trained on ``ctx.split.train`` only
    (``ctx.training_set()``; or reused from an earlier run with the same cut, e.g. by another
    block). Vectors are left in ``ctx.shared["item_vectors"]``."""
    from core.text.language import dataset_choice

    opts = dict(ctx.options.get("embeddings") or {})
    opts.setdefault("params", ctx.options.get("finetune_params"))
    opts.setdefault("model", ctx.options.get("model"))
    known = ctx.items["item_id"].astype(str).tolist()
    train = build_baskets(ctx.split.train, item_ids=known)
    test = build_baskets(ctx.split.test, item_ids=known)
    cold = train.item_counts() == 0
    out: dict = {}

    report(progress, 0.0, "co-occurrence neighbours")
    res = neighbour_metrics(test, cooccurrence_positions(train), cold=cold,
                            progress=sub_progress(progress, 0.0, 0.1))
    out["cooccurrence"] = _rounded(res)
    n = {"queries": res["queries"], "cold_queries": res["cold_queries"], "items": len(known),
         "cold_items": int(cold.sum()), "test_orders": int((test.sizes() >= 2).sum())}

    choice = dataset_choice(ctx.ws, ctx.dataset, opts.get("model"))
    out["encoder"] = {"name": choice.name, "why": choice.why}
    shared = {"item_ids": np.asarray(known, dtype=object)}
    models = [("", choice.path)]
    if opts.get("compare_encoders"):  # the other bundled encoder too, in rows of its own
        models += [(f"{other}_", other) for other in ("minilm", "multilingual")
                   if other != choice.name]
    span = 0.8 / len(models)
    for m, (prefix, model) in enumerate(models):
        lo = 0.1 + m * span
        vectors = _encoder_rows(ctx, opts, model, test, cold, known, n, prefix, out,
                                sub_progress(progress, lo, lo + span))
        if not prefix:
            shared.update(vectors)
    ctx.shared["item_vectors"] = shared
    out["n"] = n
    report(progress, 1.0, "embeddings evaluated")
    return out


def _encoder_rows(ctx, opts: dict, model, test, cold: np.ndarray, known: list[str], n: dict,
                  prefix: str, out: dict, progress: Progress | None) -> dict:
    """Rows ``{prefix}base`` and ``{prefix}finetuned`` of one encoder (``model``); returns its
    aligned vectors ``{"base", "finetuned"}`` (the latter when it could be trained)."""
    from core.text import item_vectors

    ids, base = item_vectors(ctx.ws, ctx.dataset, finetuned=False, model=model,
                             progress=sub_progress(progress, 0.0, 0.15))
    base = _align(ids, base, known)
    out[f"{prefix}base"] = _rounded(neighbour_metrics(test, embedding_positions(base), cold=cold,
                                                      progress=sub_progress(progress, 0.15, 0.25)))
    vectors = {"base": base}
    try:
        ids, ft = item_vectors(ctx.ws, ctx.dataset, finetuned=True, model=model,
                               params=opts.get("params"), progress=sub_progress(progress, 0.25, 0.9),
                               **ctx.training_set())
    except ModelNotTrained as exc:  # too few co-purchases to train on: absent, never faked
        n[f"{prefix}finetuned_skipped"] = str(exc)
    else:
        ft = _align(ids, ft, known)
        out[f"{prefix}finetuned"] = _rounded(neighbour_metrics(
            test, embedding_positions(ft), cold=cold, progress=sub_progress(progress, 0.9, 1.0)))
        vectors["finetuned"] = ft
    return vectors


def _align(ids: np.ndarray, vectors: np.ndarray, known: list[str]) -> np.ndarray:
    """Rows of ``vectors`` (ordered by ``ids``) reordered to ``known``."""
    index = {item: i for i, item in enumerate(ids.tolist())}
    return vectors[[index[item] for item in known]]


__all__ = ["embeddings_block", "neighbour_metrics", "embedding_positions",
           "cooccurrence_positions"]
