"""Recommendations with reasons a merchandiser can read: for a customer ("bought it 5 times, last
on 2011-08-03", "often bought with X: together in 23 orders", "similar text to Y") and for a basket
being filled ("complete this basket").

``recommend_for`` and ``complete_basket`` return a DataFrame with columns ``rank, item_id,
item_name, score, reason`` (``customer_history``: ``order_no, date, item_id, item_name``), so pages
and the CLI render them as is.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import BundleLabError
from core.recommend.store import TrainedRecommender, load_trained
from core.workspace import Workspace

COLUMNS = ["rank", "item_id", "item_name", "score", "reason"]
TEXT_MIN = 0.5          # cosine similarity worth mentioning


def reasons(tr: TrainedRecommender, history_cols: Sequence[int], rec_cols: Sequence[int], *,
            counts: dict[int, int] | None = None, last: dict[int, str] | None = None) -> list[str]:
    """One reason per recommended column: a repeat purchase, the history item most often bought
    with it, the history item with the most similar text, or its popularity."""
    h = tr.history
    hist = np.asarray(sorted(set(int(c) for c in history_cols)), dtype=np.int64)
    rec = np.asarray(list(rec_cols), dtype=np.int64)
    orders = h.orders.astype(np.float32)
    together = (orders[:, hist].T @ orders[:, rec]).toarray() if len(hist) and len(rec) \
        else np.zeros((len(hist), len(rec)))
    popularity = np.diff(sp.csc_matrix(h.orders).indptr)
    sim = None
    if tr.text is not None and len(hist) and len(rec):
        sim = tr.text[hist] @ tr.text[rec].T
    out = []
    for k, col in enumerate(rec):
        item = h.item_ids[col]
        if counts and col in counts:
            times = "once" if counts[col] == 1 else f"{counts[col]} times"
            when = f", last on {last[col]}" if last and last.get(col) else ""
            out.append(f"bought it {times}{when}")
            continue
        if len(hist):
            together[hist == col, k] = 0
            j = int(np.argmax(together[:, k]))
            if together[j, k] >= 2:
                out.append(f"often bought with {_name(tr, hist[j])}: together in "
                           f"{int(together[j, k])} orders")
                continue
            if sim is not None:
                sim[hist == col, k] = -1
                j = int(np.argmax(sim[:, k]))
                if sim[j, k] >= TEXT_MIN:
                    out.append(f"similar text to {_name(tr, hist[j])} "
                               f"(similarity {sim[j, k]:.2f})")
                    continue
        if popularity[col] == 0:
            out.append(f"new item ({tr.names.get(item, item)}): no orders yet, "
                       "matched by its text")
        else:
            out.append(f"popular: in {int(popularity[col]):,} orders")
    return out


def _name(tr: TrainedRecommender, col: int) -> str:
    item = tr.history.item_ids[col]
    return f"{tr.names.get(item, item)} ({item})"


def _frame(tr: TrainedRecommender, ids: np.ndarray, scores: np.ndarray,
           why: list[str]) -> pd.DataFrame:
    keep = [i for i, item in enumerate(ids) if item is not None]
    return pd.DataFrame({"rank": np.arange(1, len(keep) + 1),
                         "item_id": [ids[i] for i in keep],
                         "item_name": [tr.names.get(ids[i], ids[i]) for i in keep],
                         "score": [round(float(scores[i]), 4) for i in keep],
                         "reason": [why[i] for i in keep]}, columns=COLUMNS)


def recommend_for(ws: Workspace, dataset: str | None, customer_id: str, k: int = 10, *,
                  cut=None, trained: TrainedRecommender | None = None) -> pd.DataFrame:
    """The top ``k`` items for a known customer, with a reason each (columns: rank, item_id,
    item_name, score, reason). Raises ``BundleLabError`` for a customer without orders."""
    tr = trained or load_trained(ws, dataset, cut=cut)
    h = tr.history
    ids, scores = tr.model.recommend([str(customer_id)], k)
    batch = h.batch([str(customer_id)])
    f = batch.repeat_features()
    last_t = batch.order_time[-1] if len(batch.order_time) else 0.0
    counts = {int(i): int(c) for i, c in zip(f.items, f.count)}
    last = {int(i): h.order_date(last_t - d) for i, d in zip(f.items, f.days_ago)}
    index = h.item_index()
    cols = [index[i] for i in ids[0] if i is not None]
    why = reasons(tr, f.items, cols, counts=counts, last=last)
    return _frame(tr, ids[0], scores[0], why)


def complete_basket(ws: Workspace, dataset: str | None, item_ids: Sequence[str], k: int = 10, *,
                    cut=None, trained: TrainedRecommender | None = None) -> pd.DataFrame:
    """Add-ons for a basket holding ``item_ids`` (the basket's items are never suggested), with a
    reason each (columns: rank, item_id, item_name, score, reason)."""
    tr = trained or load_trained(ws, dataset, cut=cut)
    index = tr.history.item_index()
    known = [str(i) for i in item_ids if str(i) in index]
    if not known:
        raise BundleLabError("none of the basket's items is known to the recommender: pick items "
                             "from the dataset's item list")
    ids, scores = tr.model.recommend([[known]], k, exclude=[known])
    cols = [index[i] for i in ids[0] if i is not None]
    why = reasons(tr, [index[i] for i in known], cols)
    return _frame(tr, ids[0], scores[0], why)


def customer_history(ws: Workspace, dataset: str | None, customer_id: str, *, cut=None,
                     trained: TrainedRecommender | None = None) -> pd.DataFrame:
    """A known customer's orders in the model's training data, newest first (columns: order_no,
    date, item_id, item_name)."""
    tr = trained or load_trained(ws, dataset, cut=cut)
    h = tr.history
    batch = h.batch([str(customer_id)])
    rows = []
    for r in range(batch.orders.shape[0] - 1, -1, -1):
        cols = batch.orders.indices[batch.orders.indptr[r]:batch.orders.indptr[r + 1]]
        for c in cols:
            item = h.item_ids[c]
            rows.append((r + 1, h.order_date(batch.order_time[r]), item,
                         tr.names.get(item, item)))
    return pd.DataFrame(rows, columns=["order_no", "date", "item_id", "item_name"])
