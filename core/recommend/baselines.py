"""The baselines every recommender is measured against (docs/ARCHITECTURE.md §6), on the users x
items matrix of the training history:

- ``popularity``: items in the most training orders;
- ``gp_topfreq``: the customer's own most frequently bought items (ties: most recent first, then
  popularity), filled with popularity (Li et al., "A Next Basket Recommendation Reality Check");
- ``item_knn``: cosine similarity of items' customer vectors (binary), each item keeping its
  ``neighbours`` nearest (implicit's default 20); a user's score = sum over the items they bought
  of similarity x the number of their orders holding it;
- ``ease``: Steck (2019) closed form B = I - P diagMat(1/diag(P)), P = (X'X + lambda I)^-1, on the
  ``max_items`` most frequent items (dense in items).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.errors import BundleLabError
from core.progress import report
from core.recommend.base import Recommender
from core.recommend.history import PurchaseHistory, UserBatch
from core.topk import top_k


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    m = m.tocsr(copy=True)
    m.data[:] = 1.0
    return m.astype(np.float32)


def _popularity_ranks(history: PurchaseHistory) -> np.ndarray:
    """Popularity (orders holding the item) as a rank in [0, 1): 0 for unsold items, ties
    broken by the item index."""
    pop = history.item_orders().astype(np.float64)
    order = np.lexsort((-np.arange(len(pop)), pop))       # ascending popularity
    rank = np.empty(len(pop))
    rank[order] = np.arange(len(pop))
    rank[pop == 0] = 0.0
    return rank / max(1, len(pop))


class Popularity(Recommender):
    """Items in the most training orders (the same list for everyone)."""

    name = "popularity"

    def __init__(self) -> None:
        self._set_params()

    def _fit(self, history, item_text_vectors, progress) -> None:
        self.popularity_ = history.item_orders().astype(np.float64)
        self.rank_ = _popularity_ranks(history)

    def score(self, batch: UserBatch) -> np.ndarray:
        # count + tiny rank: ties in count broken by the item index, deterministically
        return np.tile(self.popularity_ + 0.5 * self.rank_, (len(batch), 1))


class GPTopFreq(Recommender):
    """The customer's own most frequently bought items; ties by recency, then popularity; the rest
    of the list filled with popular items. Score = count + tie-breaks (< 1).

    ``tie_break`` orders items bought equally often: ``"recency"`` (default: the most recent
    first, then the more popular), ``"recency_id"`` (most recent first, then item id: arbitrary but
    fixed, as in simpler implementations; a one-order customer then gets that order's items in id
    order) or ``"popularity"`` (the more popular first, recency ignored)."""

    name = "gp_topfreq"
    TIE_BREAKS = ("recency", "recency_id", "popularity")

    def __init__(self, *, tie_break: str = "recency") -> None:
        if tie_break not in self.TIE_BREAKS:
            raise BundleLabError("gp_topfreq tie_break must be one of "
                                 f"{', '.join(self.TIE_BREAKS)}, got {tie_break!r}")
        self._set_params(tie_break=tie_break)

    def _fit(self, history, item_text_vectors, progress) -> None:
        self.rank_ = _popularity_ranks(history)

    def score(self, batch: UserBatch) -> np.ndarray:
        # The terms nest, each below the smallest step of the one before: counts are integers;
        # 0.5 * recency lies in (0, 0.5]; the popularity tie (< 2^-21) is below the step between
        # two recency values, 0.5 / ((a + 1)(a + 2)), for customers with up to ~1000 orders; the
        # popularity fill of items never bought (< 2^-21) is below every bought item (>= 1).
        f = batch.repeat_features()
        out = np.tile(0.5 * self.rank_ * 2.0 ** -20, (len(batch), 1))   # popularity fill
        if self.tie_break == "popularity":
            out[f.users, f.items] = f.count + 0.5 * self.rank_[f.items]
            return out
        recency = 1.0 / (1.0 + f.orders_ago)                              # in (0, 1]
        tie = self.rank_[f.items] * 2.0 ** -21 if self.tie_break == "recency" else 0.0
        out[f.users, f.items] = f.count + 0.5 * recency + tie
        return out


class ItemKNN(Recommender):
    """Item-item cosine similarity on customers (binary users x items), ``neighbours`` kept per
    item; score(u, i) = sum over the user's items j of w(u, j) * sim(j, i) (the item itself
    included, so repeat purchases count), w = the number of the user's orders holding j
    (``weighting="count"``) or 1 (``"binary"``)."""

    name = "item_knn"

    def __init__(self, *, neighbours: int = 20, weighting: str = "count") -> None:
        if weighting not in ("count", "binary"):
            raise BundleLabError("item_knn weighting must be 'count' or 'binary', "
                                 f"got {weighting!r}")
        self._set_params(neighbours=neighbours, weighting=weighting)

    def _fit(self, history, item_text_vectors, progress) -> None:
        x = _binary(history.user_items())
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        xn = x @ sp.diags(inv.astype(np.float32))
        report(progress, 0.3, "item-KNN: co-occurrence")
        sim = (xn.T @ xn).tocsr()
        self.similarity_ = _keep_top(sim, int(self.neighbours))
        self.rank_ = _popularity_ranks(history)

    def score(self, batch: UserBatch) -> np.ndarray:
        x = batch.counts() if self.weighting == "count" else _binary(batch.counts())
        # 1e-9 x popularity rank: far below any real difference of similarity sums, so it only
        # orders exact ties (e.g. items no neighbour reaches) by popularity
        return np.asarray((x @ self.similarity_).todense()) + 1e-9 * self.rank_


def _keep_top(sim: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of each row (the row item's neighbours), as columns -> rows:
    result[j, i] = sim(j, i) when i is among j's k nearest."""
    sim = sim.tocsr()
    rows, cols, vals = [], [], []
    for r in range(sim.shape[0]):
        a, b = sim.indptr[r], sim.indptr[r + 1]
        if b == a:
            continue
        v, c = sim.data[a:b], sim.indices[a:b]
        if len(v) > k:
            keep = top_k(v, k)
            v, c = v[keep], c[keep]
        rows.append(np.full(len(c), r))
        cols.append(c)
        vals.append(v)
    if not rows:
        return sp.csr_matrix(sim.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=sim.shape, dtype=np.float32)


class EASE(Recommender):
    """Embarrassingly shallow autoencoder (Steck 2019) on the binary users x items matrix,
    restricted to the ``max_items`` items bought by the most customers. Items outside that set
    score below every item inside it."""

    name = "ease"

    def __init__(self, *, l2: float = 200.0, max_items: int = 20000) -> None:
        self._set_params(l2=l2, max_items=max_items)

    def _fit(self, history, item_text_vectors, progress) -> None:
        if self.max_items < 1:
            raise BundleLabError(f"EASE max_items must be >= 1, got {self.max_items}")
        pop = history.item_customers()
        order = np.lexsort((np.arange(len(pop)), -pop))
        cols = np.sort(order[:int(self.max_items)][pop[order[:int(self.max_items)]] > 0])
        x = _binary(history.user_items()[:, cols])
        report(progress, 0.2, f"EASE: Gram matrix of {len(cols):,} items")
        g = (x.T @ x).toarray().astype(np.float64)
        g[np.diag_indices_from(g)] += float(self.l2)
        report(progress, 0.4, "EASE: inverting")
        p = np.linalg.inv(g)
        b = p / (-np.diag(p))
        b[np.diag_indices_from(b)] = 0.0
        self.columns_ = cols
        self.weights_ = b.astype(np.float32)
        self.rank_ = _popularity_ranks(history)

    def score(self, batch: UserBatch) -> np.ndarray:
        x = _binary(batch.counts())[:, self.columns_]
        # items outside the EASE set: -1e6 (below any EASE score) + popularity rank, so they
        # come after every item inside it, in a fixed order
        out = np.full((len(batch), len(self.rank_)), -1e6, dtype=np.float64)
        out += self.rank_
        out[:, self.columns_] = np.asarray(x @ self.weights_) + 1e-6 * self.rank_[self.columns_]
        return out
