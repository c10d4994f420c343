"""The network of the neural recommender and its inputs (see ``core.recommend.neural`` for the
model and the estimator): ``encode`` turns a batch of histories into arrays once, ``gather`` makes
the tensors of a minibatch, ``NextBasketNet`` scores every item for each user,
``training_examples`` lists the (history, next order) pairs of a purchase history, and
``ndcg_rows`` is the validation metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from core.errors import BundleLabError
from core.recommend.history import N_REPEAT_FEATURES, PurchaseHistory, UserBatch

N_USER_FEATURES = 3
GROUP_EDGES = (2, 5)      # customers with 1 | 2-4 | 5+ orders get their own neural weight
MIX_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
MIN_GROUP = 50            # validation orders a group needs for its own weight


@dataclass
class Encoded:
    """Model inputs for a batch of users (numpy): baskets as CSR rows, ``slots`` (n, L) rows of the
    last L orders (-1 = padding) with ``slot_time`` (n, L, 2), the sparse repeat features
    (``rep_ptr``, ``rep_items``, ``rep_feats``, ``rep_weight``) and ``user_feats`` (n, 3)."""

    indptr: np.ndarray
    indices: np.ndarray
    slots: np.ndarray
    slot_time: np.ndarray
    rep_ptr: np.ndarray
    rep_items: np.ndarray
    rep_feats: np.ndarray
    rep_weight: np.ndarray
    user_feats: np.ndarray
    n_orders: np.ndarray


def trim(batch: UserBatch, max_history: int) -> UserBatch:
    """Keep each user's last ``max_history`` orders."""
    n = np.diff(batch.ptr)
    if n.max(initial=0) <= max_history:
        return batch
    keep = np.concatenate([np.arange(max(a, b - max_history), b)
                           for a, b in zip(batch.ptr[:-1], batch.ptr[1:])])
    ptr = np.concatenate([[0], np.cumsum(np.minimum(n, max_history))]).astype(np.int64)
    return UserBatch(batch.orders[keep], ptr, batch.order_time[keep])


# order-item entries encoded at once: the repeat features' sort and sums hold ~100 bytes per entry
# while they are computed, so a 5-million-entry history (90,000 items, 300,000 orders) is encoded
# in parts rather than with ~800 MB of temporaries
ENCODE_CHUNK_NNZ = 1_000_000


def encode(batch: UserBatch, *, max_baskets: int, max_history: int) -> Encoded:
    """The model inputs of ``batch``. Every number is per user, so large batches are encoded in
    parts of about ``ENCODE_CHUNK_NNZ`` order-item entries and joined (the same arrays)."""
    nnz = batch.orders.indptr[batch.ptr]
    bounds = [0]
    while bounds[-1] < len(batch):
        lo = bounds[-1]
        hi = int(np.searchsorted(nnz, nnz[lo] + ENCODE_CHUNK_NNZ, side="right")) - 1
        bounds.append(min(len(batch), max(hi, lo + 1)))
    if len(bounds) <= 2:
        return _encode(batch, max_baskets=max_baskets, max_history=max_history)
    parts = [_encode(_users(batch, lo, hi), max_baskets=max_baskets, max_history=max_history)
             for lo, hi in pairwise(bounds)]
    return _join(parts)


def _users(batch: UserBatch, start: int, stop: int) -> UserBatch:
    a, b = batch.ptr[start], batch.ptr[stop]
    return UserBatch(batch.orders[a:b], batch.ptr[start:stop + 1] - a, batch.order_time[a:b])


def _join(parts: list[Encoded]) -> Encoded:
    """One ``Encoded`` of consecutive users' parts (row and entry indices shifted)."""
    rows = np.cumsum([0] + [len(p.indptr) - 1 for p in parts])
    nnz = np.cumsum([0] + [len(p.indices) for p in parts])
    reps = np.cumsum([0] + [len(p.rep_items) for p in parts])
    return Encoded(
        indptr=np.concatenate([parts[0].indptr[:1]] + [p.indptr[1:] + o
                                                       for p, o in zip(parts, nnz)]),
        indices=np.concatenate([p.indices for p in parts]),
        slots=np.concatenate([np.where(p.slots >= 0, p.slots + o, -1)
                              for p, o in zip(parts, rows)]),
        slot_time=np.concatenate([p.slot_time for p in parts]),
        rep_ptr=np.concatenate([parts[0].rep_ptr[:1]] + [p.rep_ptr[1:] + o
                                                         for p, o in zip(parts, reps)]),
        rep_items=np.concatenate([p.rep_items for p in parts]),
        rep_feats=np.concatenate([p.rep_feats for p in parts]),
        rep_weight=np.concatenate([p.rep_weight for p in parts]),
        user_feats=np.concatenate([p.user_feats for p in parts]),
        n_orders=np.concatenate([p.n_orders for p in parts]))


def _encode(batch: UserBatch, *, max_baskets: int, max_history: int) -> Encoded:
    batch = trim(batch, max_history)
    f = batch.repeat_features()
    n_users = len(batch)
    starts, ends = batch.ptr[:-1], batch.ptr[1:]
    j = np.arange(max_baskets)[None, :]
    rows = ends[:, None] - max_baskets + j
    slots = np.where(rows >= starts[:, None], rows, -1)
    last_t = batch.order_time[np.maximum(ends - 1, 0)] if len(batch.order_time) else \
        np.zeros(n_users)
    safe = np.maximum(slots, 0)
    days = np.where(slots >= 0, last_t[:, None] - batch.order_time[safe] if len(batch.order_time)
                    else 0.0, 0.0)
    # time inputs are log-scaled, then divided to be O(1) for the network: days / 5 (a year ago
    # gives ~1.2), counts of orders or items / 3 (20 gives ~1.0)
    slot_time = np.stack([np.log1p(np.maximum(days, 0)) / 5.0,
                          np.log1p(max_baskets - 1 - j.repeat(n_users, 0)) / 3.0], axis=2)
    n_orders = np.diff(batch.ptr).astype(np.float64)
    sizes = np.diff(batch.orders.indptr).astype(np.float64)
    owner = batch.owner()
    mean_size = np.bincount(owner, weights=sizes, minlength=n_users) / np.maximum(n_orders, 1)
    first_t = batch.order_time[np.minimum(starts, max(len(batch.order_time) - 1, 0))] \
        if len(batch.order_time) else np.zeros(n_users)
    user_feats = np.column_stack([np.log1p(n_orders), np.log1p(mean_size) / 3.0,
                                  np.log1p(np.maximum(last_t - first_t, 0)) / 5.0])
    rep_ptr = np.searchsorted(f.users, np.arange(n_users + 1)).astype(np.int64)
    return Encoded(batch.orders.indptr.astype(np.int64), batch.orders.indices.astype(np.int64),
                   slots.astype(np.int64), slot_time.astype(np.float32), rep_ptr,
                   f.items.astype(np.int64), f.matrix(), f.decayed[:, -1].astype(np.float32),
                   user_feats.astype(np.float32), n_orders.astype(np.int64))


def gather(enc: Encoded, ex: np.ndarray) -> dict[str, torch.Tensor]:
    """Tensors for examples ``ex`` of ``enc``."""
    slots = enc.slots[ex]
    flat = slots.ravel()
    valid = flat >= 0
    lens = np.where(valid, enc.indptr[np.maximum(flat, 0) + 1] - enc.indptr[np.maximum(flat, 0)], 0)
    pieces = [enc.indices[enc.indptr[r]:enc.indptr[r + 1]] for r in flat[valid]]
    items = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
    a, b = enc.rep_ptr[ex], enc.rep_ptr[ex + 1]
    idx = np.concatenate([np.arange(s, e) for s, e in zip(a, b)]) if len(ex) else \
        np.zeros(0, dtype=np.int64)
    rep_row = np.repeat(np.arange(len(ex)), b - a)
    return {"bag_items": torch.from_numpy(items), "bag_offsets": torch.from_numpy(offsets),
            "slot_mask": torch.from_numpy(slots >= 0),
            "slot_time": torch.from_numpy(enc.slot_time[ex]),
            "rep_row": torch.from_numpy(rep_row), "rep_item": torch.from_numpy(enc.rep_items[idx]),
            "rep_feats": torch.from_numpy(enc.rep_feats[idx]),
            "rep_weight": torch.from_numpy(enc.rep_weight[idx]),
            "user_feats": torch.from_numpy(enc.user_feats[ex]),
            "group": torch.from_numpy(np.searchsorted(np.asarray(GROUP_EDGES), enc.n_orders[ex],
                                                      side="right"))}


def ndcg_rows(scores: torch.Tensor, y: sp.csr_matrix, k: int = 10) -> np.ndarray:
    """NDCG@k of each row's top k against the row's targets (binary gains)."""
    top = torch.topk(scores, min(k, scores.shape[1]), dim=1).indices.cpu().numpy()
    disc = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    out = np.zeros(len(top))
    for r in range(len(top)):
        tgt = y.indices[y.indptr[r]:y.indptr[r + 1]]
        if len(tgt):
            hits = np.isin(top[r], tgt).astype(np.float64)
            out[r] = float(hits @ disc) / float(disc[:min(len(disc), len(tgt))].sum())
    return out


class NextBasketNet(nn.Module):
    """Scores every item for a batch of users (the formula: ``core.recommend.neural``)."""

    def __init__(self, n_items: int, dim: int, text_dim: int, hidden: int = 64):
        super().__init__()
        self.dim = dim
        self.item_id = nn.Embedding(n_items, dim)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.text_proj = nn.Linear(text_dim, dim, bias=False) if text_dim else None
        self.text_bias = nn.Linear(text_dim, 1) if text_dim else None
        self.time_enc = nn.Linear(2, dim)
        self.query = nn.Parameter(torch.zeros(dim))
        self.user_mlp = nn.Sequential(nn.Linear(2 * dim + N_USER_FEATURES, hidden), nn.GELU(),
                                      nn.Linear(hidden, dim))
        self.repeat_gate = nn.Sequential(
            nn.Linear(N_REPEAT_FEATURES + N_USER_FEATURES + 1, hidden), nn.GELU(),
            nn.Linear(hidden, 1))
        self.item_repeat = nn.Parameter(torch.zeros(n_items))   # per-item repeat propensity
        nn.init.normal_(self.item_id.weight, std=0.05)
        nn.init.normal_(self.query, std=0.05)
        self.register_buffer("known", torch.ones(n_items, dtype=torch.bool))
        self.register_buffer("text", torch.zeros(n_items, max(text_dim, 1)))
        self.register_buffer("logpop", torch.zeros(n_items))
        self.register_buffer("neural_on", torch.ones((), dtype=torch.bool))
        self.register_buffer("repeat_on", torch.ones((), dtype=torch.bool))
        self.register_buffer("mix", torch.ones(len(GROUP_EDGES) + 1))

    def items(self, id_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(e, b): item vectors and biases; the id part only where ``known`` (and ``id_mask``)."""
        keep = self.known if id_mask is None else self.known & id_mask
        k = keep.to(self.item_id.weight.dtype)
        e = self.item_id.weight * k[:, None]
        b = self.item_bias * k
        if self.text_proj is not None:
            e = e + self.text_proj(self.text)
            b = b + self.text_bias(self.text).squeeze(1)
        return e, b

    def user(self, x: dict[str, torch.Tensor], e: torch.Tensor) -> torch.Tensor:
        """h_u: attention over the last baskets + recency-weighted mean of bought items."""
        n, L = x["slot_mask"].shape
        # one bag per slot; padding slots are empty bags (zeros)
        bags = F.embedding_bag(x["bag_items"], e, x["bag_offsets"], mode="mean")
        keys = bags.view(n, L, self.dim) + self.time_enc(x["slot_time"])
        att = (keys @ self.query) / math.sqrt(self.dim)
        att = att.masked_fill(~x["slot_mask"], -1e9).softmax(dim=1) * x["slot_mask"]
        pooled = (att.unsqueeze(2) * keys).sum(dim=1)
        w = x["rep_weight"]
        freq = e.new_zeros(n, self.dim).index_add_(0, x["rep_row"], e[x["rep_item"]] * w[:, None])
        freq = freq / e.new_zeros(n).index_add_(0, x["rep_row"], w).clamp_min(1e-6)[:, None]
        return self.user_mlp(torch.cat([pooled, freq, x["user_feats"]], dim=1))

    def forward(self, x: dict[str, torch.Tensor], id_mask: torch.Tensor | None = None,
                parts: bool = False, cols: torch.Tensor | None = None):
        """Scores (n, n_items), or (n, len(cols)) of the distinct items ``cols`` only.
        ``neural_on`` / ``repeat_on`` switch the two parts (training stages); ``parts=True``
        returns (base + repeat, neural) unmixed (to choose ``mix``)."""
        e, b = self.items(id_mask)
        n = x["slot_mask"].shape[0]
        logits = (b if cols is None else b[cols]).expand(n, -1).clone()
        if bool(self.repeat_on):
            uf = x["user_feats"][x["rep_row"]]
            item = x["rep_item"]
            gate_in = torch.cat([x["rep_feats"], uf, self.logpop[item, None]], dim=1)
            bonus = self.repeat_gate(gate_in).squeeze(1) + self.item_repeat[item] * self.known[item]
            row = x["rep_row"]
            if cols is not None:  # the entries of the asked items, at their positions in cols
                pos = torch.full_like(self.item_bias, -1, dtype=torch.long)
                pos[cols] = torch.arange(len(cols), device=cols.device)
                keep = pos[item] >= 0
                row, item, bonus = row[keep], pos[item][keep], bonus[keep]
            logits = logits.index_put((row, item), bonus, accumulate=True)
        if not bool(self.neural_on):
            return (logits, torch.zeros_like(logits)) if parts else logits
        neural = self.user(x, e) @ (e if cols is None else e[cols]).T
        if parts:
            return logits, neural
        return logits + self.mix[x["group"]][:, None] * neural


# order-item entries of all training examples' histories (each example: a customer's earlier
# orders, up to max_history): ~100 bytes each once encoded. UCI Online Retail has 3.0 M, the
# 1.67 M-line scale shop 5.0 M; a grocery export of 2,500 households with ~120 baskets each had
# 97 M (10 GB). Above the budget the training examples are sampled (the validation ones kept).
EXAMPLE_ENTRIES = 10_000_000


def training_examples(h: PurchaseHistory, *, max_history: int | None = None,
                      budget: int | None = None, seed: int = 0
                      ) -> tuple[UserBatch, np.ndarray, np.ndarray]:
    """Every order after a customer's first as a target, its earlier orders (the last
    ``max_history``; all when None) as the history. Returns (histories batch, target order rows,
    is_validation: the customer's last order). With ``budget``: when the histories hold more
    order-item entries than that, the training examples are a random sample (``seed``) that
    fits, and every validation example is kept."""
    starts, targets, is_val = [], [], []
    for u in range(h.n_customers):
        a, b = int(h.customer_ptr[u]), int(h.customer_ptr[u + 1])
        t = np.arange(a + 1, b)
        starts.append(np.full(len(t), a) if max_history is None else np.maximum(a, t - max_history))
        targets.append(t)
        is_val.append(t == b - 1)
    target = np.concatenate(targets) if targets else np.zeros(0, dtype=np.int64)
    if not len(target):
        raise BundleLabError("no customer has two or more orders, so there is no next basket to "
                             "learn from: the neural recommender needs repeat customers (use "
                             "gp_topfreq or popularity for this dataset)")
    start, val = np.concatenate(starts), np.concatenate(is_val)
    entries = h.orders.indptr[target] - h.orders.indptr[start]  # order-item entries
    if budget is not None and entries.sum() > budget:
        room = max(budget - int(entries[val].sum()), 0)
        share = room / max(int(entries[~val].sum()), 1)
        keep = val | (np.random.default_rng(seed).random(len(target)) < share)
        start, target, val = start[keep], target[keep], val[keep]
    lens = target - start
    ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    rows = np.repeat(start - ptr[:-1], lens) + np.arange(ptr[-1])  # start..target-1 of each
    batch = UserBatch(h.orders[rows], ptr, h.order_time[rows])
    return batch, target, val


SVD_ITEMS = 20_000  # up to this many items the text directions come from a full SVD


def principal_text(text: np.ndarray, k: int, chunk: int = 16384) -> np.ndarray:
    """Unit-length text vectors reduced to their first ``k`` principal directions, scaled to
    unit variance (float32; rows without text stay at zero). Up to ``SVD_ITEMS`` items: a full
    SVD of the centred matrix. Above: the eigenvectors of the d x d covariance (d = 384), built
    in chunks: the SVD of a 90,000-item catalog took ~1.1 GB of transient memory and 3.9 s,
    this a few MB beyond the result and 0.3 s; the same directions up to their signs (each
    direction's largest loading made positive), which are arbitrary in an SVD too."""
    if len(text) <= SVD_ITEMS:  # small: the full SVD, as before (its signs, its results)
        t = np.asarray(text, dtype=np.float64)
        norms = np.linalg.norm(t, axis=1, keepdims=True)
        has = norms[:, 0] > 1e-8
        t = np.where(has[:, None], t / np.maximum(norms, 1e-8), 0.0)
        k = min(int(k), t.shape[1], max(1, int(has.sum())))
        mean = t[has].mean(axis=0) if has.any() else np.zeros(t.shape[1])
        _, sv, vt = np.linalg.svd(t[has] - mean, full_matrices=False)
        z = (t - mean) @ vt[:k].T / np.maximum(sv[:k] / math.sqrt(max(1, has.sum())), 1e-6)
        return np.where(has[:, None], z, 0.0).astype(np.float32)
    t = np.asarray(text, dtype=np.float32)
    norms = np.linalg.norm(t, axis=1)
    has = norms > 1e-8
    n = int(has.sum())
    k = min(int(k), t.shape[1], max(1, n))
    if n == 0:
        return np.zeros((len(t), k), dtype=np.float32)
    mean = np.zeros(t.shape[1])
    gram = np.zeros((t.shape[1], t.shape[1]))
    for lo in range(0, len(t), chunk):
        rows = t[lo:lo + chunk][has[lo:lo + chunk]] / norms[lo:lo + chunk][has[lo:lo + chunk], None]
        rows = rows.astype(np.float64)
        mean += rows.sum(axis=0)
        gram += rows.T @ rows
    mean /= n
    values, vectors = np.linalg.eigh(gram - n * np.outer(mean, mean))
    top = np.argsort(values)[::-1][:k]
    directions = vectors[:, top]
    directions *= np.where(directions[np.abs(directions).argmax(axis=0), np.arange(k)] < 0, -1, 1)
    scale = np.maximum(np.sqrt(np.maximum(values[top], 0.0)) / math.sqrt(n), 1e-6)
    proj = (directions / scale).astype(np.float32)
    out = np.zeros((len(t), k), dtype=np.float32)
    for lo in range(0, len(t), chunk):
        sel = np.flatnonzero(has[lo:lo + chunk]) + lo
        out[sel] = (t[sel] / norms[sel, None] - mean.astype(np.float32)) @ proj
    return out
