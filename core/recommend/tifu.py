"""TIFU-KNN (Hu, He, Gao & Zhang, "Modeling Personalized Item Frequency Information for
Next-basket Recommendation", SIGIR 2020): the repeat-aware user-KNN baseline of next-basket
recommendation.

Customer vector (``user_vectors``): the customer's n baskets (multi-hot, oldest first) are cut
into G = ceil(n / m) groups of consecutive baskets, m = ``group_size``, of sizes as equal as
possible (floor or ceil of n / G, the newer groups taking the extra basket, as in the authors'
code: a lone old basket in a group of its own would otherwise weigh as much as a whole group of
m recent ones); a group's vector is the mean of its baskets, basket j of the group weighted
``within_decay ** (baskets after j in the group)`` (r_b); the customer's vector is the mean of
the group vectors, group g weighted ``group_decay ** (groups after g)`` (r_g):

    u = 1/G * sum_g r_g^(G-g) * (1/|g| * sum_{j in g} r_b^(|g|-j) * b_j)

(the paper's formulation, with m the largest group; the authors' code fixes the number of groups
instead and decays within-group over the whole sequence; both agree for histories of up to m
baskets, most customers of the corpus shops).

Prediction: ``alpha * u + (1 - alpha) * mean of the neighbours' vectors``, the neighbours being
the ``neighbours`` (k) training customers whose vectors have the highest cosine with u; the
customer themselves is left out (a known customer is scored by the others), and customers with
cosine 0 are no neighbours (the mean is over those found). Nothing is excluded: items bought
before score as the formula says, like ``gp_topfreq``. Items the formula gives 0 follow, ordered
by popularity (below every positive score, without moving them), and equal positive scores go
to the more popular item (a relative 1e-9 nudge).

Defaults: the paper's and its code's usual values (TaFeng / Cornac's example: k=300, r_b=0.9,
r_g=0.7, alpha=0.7, 7 groups); m=7 baskets per group, so the group decay only reaches customers
with more than 7 orders. A closed form (sparse products), refitted from the saved history.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.errors import BundleLabError
from core.progress import report
from core.recommend.base import Recommender
from core.recommend.baselines import _popularity_ranks
from core.recommend.history import PurchaseHistory, UserBatch
from core.topk import top_k

# Cosine similarities held at once while finding neighbours: rows x training customers float64
# (about 32 MB: 4,300 customers take ~970 rows per step, 100,000 take ~40)
SIM_CELLS = 2**22


def user_vectors(orders: sp.csr_matrix, ptr: np.ndarray, *, group_size: int,
                 within_decay: float, group_decay: float) -> sp.csr_matrix:
    """users x items float64: each user's TIFU vector (module docstring) from ``orders`` (rows
    grouped by user, oldest first; user u owns rows ``ptr[u]:ptr[u + 1]``). A user without
    orders gets a zero row."""
    n_rows, n_users = orders.shape[0], len(ptr) - 1
    counts = np.diff(ptr).astype(np.int64)
    owner = np.repeat(np.arange(n_users), counts)
    n = counts[owner]
    ago = n - 1 - (np.arange(n_rows) - np.asarray(ptr)[owner])    # 0 = the latest basket
    m = int(group_size)
    n_groups = (n + m - 1) // m
    q, r = n // n_groups, n % n_groups       # r newest groups of q + 1 baskets, then groups of q
    big = r * (q + 1)
    newer = ago < big
    rest = np.maximum(ago - big, 0)
    group = np.where(newer, ago // (q + 1), r + rest // q)         # 0 = the latest group
    within = np.where(newer, ago % (q + 1), rest % q)              # 0 = the group's latest
    size = np.where(newer, q + 1, q)
    w = (float(group_decay) ** group) * (float(within_decay) ** within) / size / n_groups
    agg = sp.csr_matrix((w, (owner, np.arange(n_rows))), shape=(n_users, n_rows))
    return (agg @ orders.astype(np.float64)).tocsr()


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return (sp.diags(inv) @ m).tocsr()


class TIFUKNN(Recommender):
    """TIFU-KNN (module docstring): ``neighbours`` (k), ``alpha`` (weight of the customer's own
    vector), ``group_size`` (m), ``within_decay`` (r_b), ``group_decay`` (r_g)."""

    name = "tifu_knn"

    def __init__(self, *, neighbours: int = 300, alpha: float = 0.7, group_size: int = 7,
                 within_decay: float = 0.9, group_decay: float = 0.7) -> None:
        if int(neighbours) < 1 or int(group_size) < 1:
            raise BundleLabError("tifu_knn neighbours and group_size must be >= 1, got "
                                 f"{neighbours} and {group_size}")
        for label, v in (("alpha", alpha), ("within_decay", within_decay),
                         ("group_decay", group_decay)):
            if not 0.0 <= float(v) <= 1.0:
                raise BundleLabError(f"tifu_knn {label} must lie in [0, 1], got {v}")
        self._set_params(neighbours=neighbours, alpha=alpha, group_size=group_size,
                         within_decay=within_decay, group_decay=group_decay)

    def _vectors(self, orders: sp.csr_matrix, ptr: np.ndarray) -> sp.csr_matrix:
        return user_vectors(orders, ptr, group_size=int(self.group_size),
                            within_decay=float(self.within_decay),
                            group_decay=float(self.group_decay))

    def _fit(self, history: PurchaseHistory, item_text_vectors, progress) -> None:
        report(progress, 0.2, "TIFU-KNN: customer vectors")
        self.vectors_ = self._vectors(history.orders, history.customer_ptr)
        self.unit_t_ = _unit_rows(self.vectors_).T.tocsr()       # items x customers
        self.rank_ = _popularity_ranks(history)

    def neighbour_vectors(self, batch: UserBatch, own: sp.csr_matrix) -> sp.csr_matrix:
        """len(batch) x items: the mean vector of each user's neighbours (module docstring);
        ``own``: the users' vectors. A known customer (``batch.users``) is not their own
        neighbour."""
        n_train = self.vectors_.shape[0]
        k = min(int(self.neighbours), n_train)
        unit = _unit_rows(own)
        step = max(1, SIM_CELLS // max(n_train, 1))
        rows, cols, vals = [], [], []
        for a in range(0, len(batch), step):
            b = min(len(batch), a + step)
            sims = np.asarray((unit[a:b] @ self.unit_t_).todense())
            if batch.users is not None:
                users = np.asarray(batch.users[a:b])
                inside = users < n_train
                sims[np.flatnonzero(inside), users[inside]] = 0.0
            top = top_k(sims, k)
            keep = np.take_along_axis(sims, top, axis=1) > 1e-12
            found = keep.sum(axis=1)
            r = np.repeat(np.arange(a, b), found)
            rows.append(r)
            cols.append(top[keep])
            vals.append(1.0 / found[r - a])
        mean = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(batch), n_train))
        return (mean @ self.vectors_).tocsr()

    def raw_scores(self, batch: UserBatch) -> np.ndarray:
        """(len(batch), n_items): alpha * own vector + (1 - alpha) * neighbours' mean, exactly
        (no tie-breaks)."""
        own = self._vectors(batch.orders, batch.ptr)
        alpha = float(self.alpha)
        out = alpha * own.toarray()
        if alpha < 1.0 and len(batch):
            out += (1.0 - alpha) * self.neighbour_vectors(batch, own).toarray()
        return out

    def score(self, batch: UserBatch) -> np.ndarray:
        raw = self.raw_scores(batch)
        lowest = np.where(raw > 0, raw, np.inf).min(axis=1, keepdims=True)
        lowest[~np.isfinite(lowest)] = 1.0
        # zero scores: popularity below half the row's lowest positive score (rank_ < 1);
        # positive ones: nudged by 1e-9 relative, so only exact ties move
        return np.where(raw > 0, raw * (1.0 + 1e-9 * self.rank_), 0.5 * lowest * self.rank_)
