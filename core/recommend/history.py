"""Customer purchase histories for the recommenders: one item index, customers' orders in time
order, the per-(user, item) repeat features every model can read, and the history's files in a
saved model.

Orientation: users x items (as ``core.baskets``: orders x items). ``PurchaseHistory`` keeps each
customer's orders as rows of one CSR matrix (orders x items, grouped by customer, oldest first),
so both a users x items count matrix and a sequence of baskets per user come from the same
arrays. A ``UserBatch`` is the history of the users being scored: known customers (looked up by
id) or ad-hoc histories (lists of baskets, e.g. a single basket for "complete this basket").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import build_baskets
from core.errors import BundleLabError

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class PurchaseHistory:
    """Orders of identified customers over one item index.

    - ``item_ids``: the item index (column j is ``item_ids[j]``); may hold items with no orders
      (catalog or later items, known by their text);
    - ``customer_ids``: one entry per customer, sorted;
    - ``orders``: CSR bool (n_orders, n_items), rows grouped by customer and sorted by time;
    - ``customer_ptr``: customer u owns rows ``customer_ptr[u]:customer_ptr[u + 1]``;
    - ``order_time``: float days since ``origin`` (the first order's time, ISO text; None and
      order positions when the lines have no timestamps).
    """

    item_ids: np.ndarray
    customer_ids: np.ndarray
    orders: sp.csr_matrix
    customer_ptr: np.ndarray
    order_time: np.ndarray
    origin: str | None = None

    def order_date(self, days: float) -> str:
        """The date of an ``order_time`` value (empty without timestamps)."""
        if self.origin is None:
            return ""
        return (pd.Timestamp(self.origin) + pd.Timedelta(days=float(days))).date().isoformat()

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_orders(self) -> int:
        return self.orders.shape[0]

    def item_index(self) -> dict[str, int]:
        return {item: j for j, item in enumerate(self.item_ids)}

    def customer_index(self) -> dict[str, int]:
        return {c: u for u, c in enumerate(self.customer_ids)}

    def user_items(self) -> sp.csr_matrix:
        """users x items float32: number of the customer's orders holding the item."""
        n_orders_per = np.diff(self.customer_ptr)
        owner = np.repeat(np.arange(self.n_customers), n_orders_per)
        agg = sp.csr_matrix((np.ones(self.n_orders, dtype=np.float32),
                             (owner, np.arange(self.n_orders))),
                            shape=(self.n_customers, self.n_orders))
        return (agg @ self.orders.astype(np.float32)).tocsr()

    def item_customers(self) -> np.ndarray:
        """Number of customers who bought each item (popularity)."""
        ui = self.user_items()
        return np.diff(ui.tocsc().indptr).astype(np.int64)

    def item_orders(self) -> np.ndarray:
        """Number of orders holding each item."""
        return np.diff(self.orders.tocsc().indptr).astype(np.int64)

    def batch(self, customers: Sequence[str]) -> "UserBatch":
        """The histories of known customers. Raises ``BundleLabError`` for an unknown id."""
        index = self.customer_index()
        rows = []
        for c in customers:
            u = index.get(str(c))
            if u is None:
                raise BundleLabError(
                    f"customer {c!r} has no orders in the training data ({self.n_customers:,} "
                    "customers known); pick a customer who ordered before the cut, or pass the "
                    "items they bought as a basket")
            rows.append(u)
        return UserBatch.from_history(self, np.asarray(rows, dtype=np.int64))

    def batch_from_baskets(self, histories: Sequence[Sequence[Sequence[str]]]) -> "UserBatch":
        """Ad-hoc users: each a list of baskets (lists of item ids, oldest first). Unknown item ids
        are ignored."""
        index = self.item_index()
        rows, cols, ptr, times = [], [], [0], []
        for hist in histories:
            for t, basket in enumerate(hist):
                js = sorted({index[i] for i in basket if i in index})
                rows.extend([len(times)] * len(js))
                cols.extend(js)
                times.append(float(t))
            ptr.append(len(times))
        m = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)),
                          shape=(len(times), self.n_items), dtype=bool)
        return UserBatch(m, np.asarray(ptr, dtype=np.int64), np.asarray(times, dtype=np.float64))


@dataclass(frozen=True)
class UserBatch:
    """The histories of the users being scored: ``orders`` (CSR bool, rows grouped by user, oldest
    first), ``ptr`` (user b owns rows ``ptr[b]:ptr[b + 1]``), ``order_time`` (days) and ``users``
    (each user's row in the history's customers when the batch holds known customers, e.g. so
    a user-KNN model can leave the user out of their own neighbours; None for ad-hoc ones)."""

    orders: sp.csr_matrix
    ptr: np.ndarray
    order_time: np.ndarray
    users: np.ndarray | None = None

    @classmethod
    def from_history(cls, h: PurchaseHistory, users: np.ndarray) -> "UserBatch":
        starts, ends = h.customer_ptr[users], h.customer_ptr[users + 1]
        rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(users) \
            else np.zeros(0, dtype=np.int64)
        ptr = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
        return cls(h.orders[rows], ptr, h.order_time[rows], np.asarray(users, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def owner(self) -> np.ndarray:
        return np.repeat(np.arange(len(self)), np.diff(self.ptr))

    def counts(self) -> sp.csr_matrix:
        """users x items float32: number of the user's orders holding the item."""
        n = self.orders.shape[0]
        agg = sp.csr_matrix((np.ones(n, dtype=np.float32), (self.owner(), np.arange(n))),
                            shape=(len(self), n))
        return (agg @ self.orders.astype(np.float32)).tocsr()

    def repeat_features(self, decays: Sequence[float] = (0.5, 0.9)) -> "RepeatFeatures":
        """Per (user, item bought before): the numbers a repeat model needs (see RepeatFeatures)."""
        n = self.orders.shape[0]
        owner = self.owner()
        n_orders = np.diff(self.ptr).astype(np.float64)
        pos = np.arange(n) - self.ptr[owner]                       # position of the order
        ago = (n_orders[owner] - 1 - pos).astype(np.float64)       # 0 = the latest order
        last_time = self.order_time[self.ptr[1:] - 1] if n else np.zeros(0)
        days_ago = last_time[owner] - self.order_time if n else np.zeros(0)
        coo = self.orders.tocoo()
        r = coo.row
        key = owner[r].astype(np.int64) * self.orders.shape[1] + coo.col
        uniq, inv = np.unique(key, return_inverse=True)
        count = np.bincount(inv, minlength=len(uniq)).astype(np.float64)
        min_ago = np.full(len(uniq), np.inf)
        np.minimum.at(min_ago, inv, ago[r])
        min_days = np.full(len(uniq), np.inf)
        np.minimum.at(min_days, inv, days_ago[r])
        decayed = [np.bincount(inv, weights=d ** ago[r], minlength=len(uniq)) for d in decays]
        users = uniq // self.orders.shape[1]
        return RepeatFeatures(users=users, items=uniq % self.orders.shape[1], count=count,
                              share=count / n_orders[users], orders_ago=min_ago,
                              days_ago=min_days, decayed=np.stack(decayed, axis=1),
                              n_orders=n_orders)


@dataclass(frozen=True)
class RepeatFeatures:
    """Sparse (user, item) features over the items each user bought before, aligned arrays:
    ``count`` (orders holding it), ``share`` (count / the user's orders), ``orders_ago`` (0 = in the
    latest order), ``days_ago`` (days between its last purchase and the user's latest order),
    ``decayed`` (n, len(decays)): sum of decay**orders_ago (TIFU-style recency-weighted frequency);
    ``n_orders`` per user."""

    users: np.ndarray
    items: np.ndarray
    count: np.ndarray
    share: np.ndarray
    orders_ago: np.ndarray
    days_ago: np.ndarray
    decayed: np.ndarray
    n_orders: np.ndarray

    def matrix(self) -> np.ndarray:
        """(n, 6 + len(decays)) float32 model inputs, log-scaled where heavy-tailed."""
        return np.column_stack([
            np.log1p(self.count), self.share, np.log1p(self.orders_ago),
            np.log1p(np.maximum(self.days_ago, 0.0)), np.log1p(self.n_orders[self.users]),
            (self.orders_ago == 0).astype(np.float64), self.decayed,
        ]).astype(np.float32)


N_REPEAT_FEATURES = 8


def build_history(lines: pd.DataFrame, *, item_ids: Sequence[str] | None = None) -> PurchaseHistory:
    """A ``PurchaseHistory`` from order lines (columns order_id, item_id, customer_id, optional
    timestamp). Lines without a customer are left out (they have no history). With ``item_ids``
    the item index is exactly that list (lines of other items are ignored); otherwise it is the
    sorted distinct items of the lines."""
    if "customer_id" not in lines:
        raise BundleLabError("this dataset has no customer column, so there are no purchase "
                             "histories to learn from: ingest it with --map customer_id=COLUMN")
    lines = lines[lines["customer_id"].notna()]
    if item_ids is None:
        item_ids = np.asarray(sorted(lines["item_id"].astype(str).unique()), dtype=object)
    items = np.asarray(list(item_ids), dtype=object)
    if lines.empty:
        raise BundleLabError("no order lines with a customer id: the recommender needs customers "
                             "with at least one order (map the customer column at ingest)")
    has_ts = "timestamp" in lines and lines["timestamp"].notna().any()
    g = lines.groupby("order_id", sort=False)
    orders = pd.DataFrame({"customer_id": g["customer_id"].first().astype(str)})
    orders["pos"] = np.arange(len(orders))
    origin = None
    if has_ts:
        t = g["timestamp"].min()
        origin = t.min().isoformat()
        orders["t"] = ((t - t.min()) / pd.Timedelta(days=1)).fillna(0.0).to_numpy()
    else:
        orders["t"] = orders["pos"].astype(float)
    orders = orders.sort_values(["customer_id", "t", "pos"], kind="stable")
    b = build_baskets(lines, item_ids=items)
    row_of = pd.Index(b.order_ids).get_indexer(orders.index)
    matrix = b.matrix[row_of]
    cust, starts = np.unique(orders["customer_id"].to_numpy(), return_index=True)
    ptr = np.append(starts, len(orders)).astype(np.int64)
    return PurchaseHistory(items, np.asarray(cust, dtype=object), matrix.tocsr(), ptr,
                           orders["t"].to_numpy(dtype=np.float64), origin)


def item_index_for(train_lines: pd.DataFrame, items: pd.DataFrame | None = None) -> np.ndarray:
    """The one item index every model shares: the items of the training lines plus every item
    known by its text (``items``: the workspace's item table), sorted. Items without training
    orders can only be scored by a model that reads text."""
    ids = set(train_lines["item_id"].astype(str))
    if items is not None and len(items):
        ids |= set(items["item_id"].astype(str))
    return np.asarray(sorted(ids), dtype=object)


def save_history(h: PurchaseHistory, directory: str | Path) -> None:
    """Write ``history.safetensors`` (the arrays) and ``history.json`` (ids, origin)."""
    from safetensors.numpy import save_file

    d = Path(directory)
    save_file({"data_indices": h.orders.indices.astype(np.int64),
               "data_indptr": h.orders.indptr.astype(np.int64),
               "customer_ptr": h.customer_ptr.astype(np.int64),
               "order_time": h.order_time.astype(np.float64)}, str(d / "history.safetensors"))
    (d / "history.json").write_text(json.dumps({
        "item_ids": [str(i) for i in h.item_ids],
        "customer_ids": [str(c) for c in h.customer_ids], "origin": h.origin}))


def load_history(directory: str | Path) -> PurchaseHistory:
    """The history written by ``save_history`` (safetensors: no pickle, nothing executed)."""
    from safetensors.numpy import load_file

    d = Path(directory)
    arrays = load_file(str(d / "history.safetensors"))
    names = json.loads((d / "history.json").read_text())
    items = np.asarray(names["item_ids"], dtype=object)
    ptr = arrays["data_indptr"]
    orders = sp.csr_matrix((np.ones(len(arrays["data_indices"]), dtype=bool),
                            arrays["data_indices"], ptr), shape=(len(ptr) - 1, len(items)))
    return PurchaseHistory(items, np.asarray(names["customer_ids"], dtype=object), orders,
                           arrays["customer_ptr"], arrays["order_time"], names.get("origin"))
