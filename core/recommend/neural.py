"""The neural next-basket recommender (PyTorch; trains and scores on ``core.device.torch_device()``,
a CUDA GPU when there is one). Network: ``core.recommend.net``.

Item i: ``e_i = id_i + W t_i`` (learned id embedding + projection of its text vector t_i, reduced
to ``text_components`` principal directions), bias ``b_i = c_i + w . t_i``. Items with no training
orders have no id part, so a new product is scored through its text; ``id_dropout`` hides random
items' id parts while training, which teaches the text part to stand in for them.

Customer u: the last ``max_baskets`` orders, each the mean of its items' e plus a recency encoding
(days and orders before the latest order), pooled by attention with a learned query, and the
recency-weighted mean of every item they bought (TIFU-style); an MLP mixes both into ``h_u``.

Score: ``s(u, i) = b_i + [i bought before] * (g(f_ui) + r_i) + alpha_g(u) * h_u . e_i``:
- ``g`` is an MLP over the repeat features f_ui of ``RepeatFeatures`` (how often, how recently,
  what share of the customer's orders, recency-weighted counts), the customer's features and the
  item's popularity, ``r_i`` a learned per-item repeat propensity: the personal-frequency score
  (ReCANet / TIFU-KNN's lesson: retail next baskets are mostly repeats);
- ``alpha_g`` is the gate mixing in the neural score, one weight per customer group (1, 2-4, 5+
  orders), chosen on held-out orders.

Training (softmax cross-entropy against the next order's items, Adam, minibatches) runs in three
steps, four with ``refit``. The validation orders are each repeat customer's last training order.
1. biases + repeat gate, early-stopped on the validation orders;
2. the neural part on top of the frozen biases, early-stopped the same way;
3. the mixing weights alpha, by grid search on the validation orders (trained jointly, the neural
   part is over-confident on its own training orders and crowds out repeat purchases that do
   come back);
4. (``refit`` only) steps 1-2 again from scratch on all orders, validation orders included, for
   the epochs chosen in 1-2, keeping alpha.
Deterministic for a given ``seed`` unless the time budget (``max_seconds``) cuts training short.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from core.device import torch_device
from core.progress import report
from core.recommend.base import Recommender
from core.recommend.history import PurchaseHistory, UserBatch
from core.recommend.net import (GROUP_EDGES, MIN_GROUP, MIX_GRID, Encoded, NextBasketNet, encode,
                                gather, ndcg_rows, principal_text, training_examples,
                                EXAMPLE_ENTRIES)
from core.recommend.pace import STAGES, FitClock
from core.recommend.runtime import blas_threads, score_rows, to_device, torch_threads


MAX_VALIDATION = 5000   # validation customers used for early stopping and the repeat/explore mix


class NeuralRecommender(Recommender):
    """The neural next-basket model (see the module docstring). Hyperparameters:
    ``dim`` (embedding size), ``max_baskets`` (orders attended to), ``max_history`` (orders read
    for repeat features), ``epochs`` (at most), ``patience`` (epochs without a better validation
    NDCG@10 before stopping), ``batch_size``, ``lr``, ``weight_decay``, ``id_dropout``,
    ``text_components``, ``seed``, ``max_seconds`` (training time budget: the repeat step may run
    until 45% of it and the explore step until 95%, or 30% / 60% / 100% with ``refit``; the best
    epoch so far is kept), ``threads`` (torch threads while fitting/scoring on the CPU; None:
    ``core.recommend.runtime.thread_count``) and ``refit`` (after
    choosing epochs and mixing weights on the validation orders, train again on all orders with
    them; off by default: on UCI Online Retail it changed NDCG@10 by -0.004..+0.005 across seeds,
    median +0.001, for ~50% more time).

    Learned state: ``net_`` (the network), ``mix_`` (neural weight per customer group),
    ``val_ndcg_``, ``curve_`` (per-epoch loss and validation NDCG), ``epochs_run_``,
    ``train_seconds_``."""

    name = "neural"

    def __init__(self, *, dim: int = 32, max_baskets: int = 16, max_history: int = 100,
                 epochs: int = 30, patience: int = 4, batch_size: int = 128, lr: float = 3e-3,
                 weight_decay: float = 0.0, id_dropout: float = 0.3, text_components: int = 64,
                 seed: int = 0, max_seconds: float = 150.0, threads: int | None = None,
                 refit: bool = False) -> None:
        # threads=None: $BUNDLELAB_THREADS (--threads) when set, else 1, the faster one measured
        # (core.recommend.runtime.DEFAULT_TORCH_THREADS: 52.7 s vs 77.4 s at 2 threads on UCI)
        self._set_params(dim=dim, max_baskets=max_baskets, max_history=max_history,
                         epochs=epochs, patience=patience, batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, id_dropout=id_dropout,
                         text_components=text_components, seed=seed, threads=threads,
                         max_seconds=max_seconds, refit=refit)

    def _net(self, history: PurchaseHistory, text_dim: int) -> NextBasketNet:
        torch.manual_seed(int(self.seed))
        net = NextBasketNet(history.n_items, int(self.dim), text_dim)
        orders = history.item_orders()
        net.known.copy_(torch.from_numpy(orders > 0))
        # the repeat gate's popularity input, log-scaled and divided by 5 to be O(1) like its
        # other inputs (an item in ~150 orders gives 1.0, one in ~22,000 orders 2.0)
        net.logpop.copy_(torch.from_numpy(np.log1p(orders).astype(np.float32) / 5.0))
        return net

    def _text(self, text: np.ndarray) -> np.ndarray:
        """Unit-length text vectors reduced to their first ``text_components`` principal
        directions (fewer multiplications per step; items without text stay at zero)."""
        return principal_text(text, int(self.text_components))

    def _new_net(self, history: PurchaseHistory, text: np.ndarray | None) -> NextBasketNet:
        net = self._net(history, 0 if text is None else text.shape[1])
        if text is not None:
            net.text.copy_(torch.from_numpy(text))
        with torch.no_grad():   # start from log popularity
            pop = torch.from_numpy(history.item_orders().astype(np.float32))
            net.item_bias.copy_(torch.log1p(pop) - torch.log1p(pop).mean())
        return net

    @staticmethod
    def _param_groups(net: NextBasketNet) -> list[tuple[str, list, bool, bool]]:
        """(stage, parameters, neural_on, repeat_on) of the two training steps."""
        rep = [net.item_bias, net.item_repeat, *net.repeat_gate.parameters()]
        if net.text_bias is not None:
            rep += list(net.text_bias.parameters())
        rep_ids = {id(p) for p in rep}
        explore = [p for p in net.parameters() if id(p) not in rep_ids]
        return [("repeat", rep, False, True), ("explore", explore, True, False)]

    def _encode(self, batch: UserBatch) -> Encoded:
        return encode(batch, max_baskets=int(self.max_baskets), max_history=int(self.max_history))

    def _fit(self, history, item_text_vectors, progress) -> None:
        with torch_threads(self.threads), blas_threads(self.threads):
            self._fit_threads(history, item_text_vectors, progress)

    def _fit_threads(self, history, item_text_vectors, progress) -> None:
        t0 = time.perf_counter()
        self._rng = np.random.default_rng(int(self.seed))
        text = None if item_text_vectors is None else self._text(item_text_vectors)
        self._dev = torch.device(torch_device())
        net = self._new_net(history, text).to(self._dev)
        report(progress, 0.0, "neural: building training examples")
        ex_batch, target_rows, is_val = training_examples(
            history, max_history=int(self.max_history), budget=EXAMPLE_ENTRIES,
            seed=int(self.seed))  # bounded memory: a sample when the histories are huge
        data = (self._encode(ex_batch), history.orders[target_rows].astype(np.float32).tocsr())
        del ex_batch   # encoded: the histories' order rows are not needed any more
        train_ex, val_ex = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        if len(train_ex) == 0:       # every repeat customer has exactly two orders
            train_ex = val_ex
        if len(val_ex) > MAX_VALIDATION:  # a sample measures as well and keeps big shops fast
            val_ex = np.sort(np.random.default_rng(int(self.seed)).choice(
                val_ex, MAX_VALIDATION, replace=False))
        self.curve_, self._t0, self._best, self._best_state = [], t0, -1.0, None
        # 1. the repeat model: item biases + the repeat gate over the customer's own purchases;
        # 2. the neural explore part (history attention x item vectors) on top of the frozen
        #    biases; 3. its weight per customer group, chosen on the validation orders, where the
        #    neural part is not over-confident as it is on the orders it was trained on
        self._best_epoch = {}
        share = (0.3, 0.6) if self.refit else (0.45, 0.95)   # of max_seconds, cumulative
        stages = STAGES + tuple(f"refit {s}" for s in STAGES) * bool(self.refit)
        clock = self._clock = FitClock(   # the fraction grows with time (core.recommend.pace)
            progress, stages=stages, epochs=int(self.epochs), patience=int(self.patience),
            text=text is not None,
            n_batches=math.ceil(len(train_ex) / int(self.batch_size)),
            val_batches=len(val_ex) / int(self.batch_size), deadlines=[
                t0 + float(self.max_seconds) * x for x in (*share, 1.0, 1.0)])
        for n_stage, (stage, params, neural_on, repeat_on) in enumerate(self._param_groups(net)):
            if self._best_state is not None:
                net.load_state_dict(self._best_state)
            net.neural_on.fill_(neural_on)
            net.repeat_on.fill_(repeat_on)
            self._best = -1.0
            deadline = t0 + float(self.max_seconds) * share[n_stage]
            self._stage(net, stage, params, data, train_ex, val_ex, history, deadline)
        net.load_state_dict(self._best_state)
        net.repeat_on.fill_(True)
        clock.show("neural: weighing repeat and explore scores")
        self.val_ndcg_ = self._choose_mix(net, data, val_ex)
        if self.refit and len(val_ex) and not np.array_equal(train_ex, val_ex):
            # the validation orders are each customer's latest: learn from them too, with the
            # epochs and mixing weights chosen above
            clock.restart()
            refit = self._new_net(history, text).to(self._dev)
            every = np.concatenate([train_ex, val_ex])
            deadline = t0 + float(self.max_seconds)
            done = True
            for n_stage, (stage, params, neural_on, repeat_on) in enumerate(
                    self._param_groups(refit)):
                refit.neural_on.fill_(neural_on)
                refit.repeat_on.fill_(repeat_on)
                clock.expect(f"refit {stage}", self._best_epoch.get(stage, 1))
                done &= self._stage(refit, stage, params, data, every, val_ex, history, deadline,
                                    fixed_epochs=self._best_epoch.get(stage, 1))
            if done:   # within the time budget; otherwise keep the validated model
                refit.mix.copy_(net.mix)
                refit.neural_on.fill_(True)
                refit.repeat_on.fill_(True)
                net = refit
        net.eval()
        self.net_ = net
        self.epochs_run_ = len(self.curve_)
        self.train_seconds_ = time.perf_counter() - t0
        del self._rng, self._t0, self._best, self._best_state, self._best_epoch, self._dev
        del self._clock

    def _stage(self, net, stage, params, data, train_ex, val_ex, history, deadline,
               fixed_epochs: int | None = None) -> bool:
        """Train ``params`` for up to ``epochs`` epochs with early stopping on ``val_ex`` (or
        exactly ``fixed_epochs`` epochs, no validation). False when the deadline cut it short."""
        enc, targets = data
        known = torch.from_numpy(history.item_orders() > 0).to(self._dev)
        opt = torch.optim.Adam(params, lr=float(self.lr), weight_decay=float(self.weight_decay))
        bs, bad, clock = int(self.batch_size), 0, self._clock
        name = stage if fixed_epochs is None else f"refit {stage}"
        n_epochs = int(self.epochs) if fixed_epochs is None else int(fixed_epochs)
        clock.restart()
        for epoch in range(n_epochs):
            net.train()
            order = self._rng.permutation(train_ex)
            total, cut_short = 0.0, False
            for s in range(0, len(order), bs):
                loss = self._step(net, opt, data, order[s:s + bs], known)
                total += loss * len(order[s:s + bs])
                clock.batch(name, epoch, s // bs + 1,
                            f"neural ({stage}): epoch {epoch + 1}, loss {loss:.3f}")
                if time.perf_counter() > deadline:  # large catalogs: an epoch can outlast the
                    cut_short = s + bs < len(order)  # budget, so stop inside it too
                    break
            if fixed_epochs is not None:
                if cut_short or (time.perf_counter() > deadline and epoch + 1 < n_epochs):
                    return False
                clock.validated(name, epoch, None, f"neural ({name}): epoch {epoch + 1}")
                continue
            t_val = time.perf_counter()
            score = self._val_ndcg(net, enc, val_ex, targets)
            clock.validated(name, epoch, time.perf_counter() - t_val,
                            f"neural ({stage}): epoch {epoch + 1}, validation NDCG@10 {score:.3f}",
                            score)
            self.curve_.append({"stage": stage, "epoch": epoch + 1, "loss": total / len(order),
                                "val_ndcg@10": score})
            if score > self._best + 1e-5:
                self._best, bad = score, 0
                self._best_epoch[stage] = epoch + 1
                self._best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                bad += 1
            if bad >= int(self.patience) or time.perf_counter() > deadline:
                break
        clock.stage_done(name, f"neural ({stage}): done")
        return True

    def _step(self, net, opt, data, ex, known) -> float:
        """One minibatch of training on the examples ``ex`` of ``data``; its loss."""
        enc, targets = data
        mask = torch.from_numpy(self._rng.random(len(known)) >= float(self.id_dropout))
        x = to_device(gather(enc, ex), self._dev)
        logits = net(x, id_mask=mask.to(self._dev)).masked_fill(~known, -1e9)
        y = torch.from_numpy(targets[ex].toarray()).to(self._dev)
        loss = -(F.log_softmax(logits, dim=1) * y).sum(1).div(y.sum(1).clamp_min(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())

    @torch.no_grad()
    def _val_ndcg(self, net: NextBasketNet, enc: Encoded, ex: np.ndarray,
                  targets: sp.csr_matrix) -> float:
        if len(ex) == 0:
            return 0.0
        net.eval()
        # chunk by chunk: customers x items scores of a large catalog do not fit in memory
        step = score_rows(targets.shape[1])
        per_row = [ndcg_rows(net(to_device(gather(enc, ex[s:s + step]), self._dev)),
                             targets[ex[s:s + step]]) for s in range(0, len(ex), step)]
        return float(np.concatenate(per_row).mean())

    @torch.no_grad()
    def _choose_mix(self, net: NextBasketNet, data: tuple, ex: np.ndarray) -> float:
        """Per customer group, the weight of the neural score (from ``MIX_GRID``) that gives the
        best validation NDCG@10 (ties: the smaller weight; groups with fewer than ``MIN_GROUP``
        validation orders: the best weight over all of them). Returns the resulting NDCG."""
        enc, targets = data
        net.eval()
        if len(ex) == 0:
            return 0.0
        # per-row NDCG for every mixing weight, chunk by chunk (the customers x items score
        # matrices of a large catalog do not fit in memory at once)
        ndcg = np.zeros((len(MIX_GRID), len(ex)))
        step = score_rows(targets.shape[1])
        for s in range(0, len(ex), step):
            base, neural = net(to_device(gather(enc, ex[s:s + step]), self._dev), parts=True)
            ys = targets[ex[s:s + step]]
            for a, alpha in enumerate(MIX_GRID):
                ndcg[a, s:s + step] = ndcg_rows(base + alpha * neural, ys)
        group = np.searchsorted(np.asarray(GROUP_EDGES), enc.n_orders[ex], side="right")

        def best_alpha(rows: np.ndarray) -> int:
            best = (-1.0, 0)
            for a in range(len(MIX_GRID)):
                v = float(ndcg[a, rows].sum())
                if v > best[0] + 1e-9:
                    best = (v, a)
            return best[1]

        overall = best_alpha(np.arange(len(ex)))
        total, self.mix_ = 0.0, []
        for g in range(len(GROUP_EDGES) + 1):
            rows = np.flatnonzero(group == g)
            # groups with few validation orders take the weight chosen over all of them
            a = best_alpha(rows) if len(rows) >= MIN_GROUP else overall
            net.mix[g] = MIX_GRID[a]
            self.mix_.append(MIX_GRID[a])
            if len(rows):
                total += float(ndcg[a, rows].sum())
        return total / len(ex)

    @torch.no_grad()
    def score(self, batch: UserBatch) -> np.ndarray:
        return self.score_items(batch, None)

    @torch.no_grad()
    def score_items(self, batch: UserBatch, cols: np.ndarray | None) -> np.ndarray:
        """Scores of the items ``cols`` (distinct columns; None = every item): the numbers of
        ``score(batch)[:, cols]`` (up to float32 rounding of the smaller matrix product) without
        scoring the whole catalog."""
        enc = self._encode(batch)
        with torch_threads(self.threads):
            dev = self._placed()
            x = to_device(gather(enc, np.arange(len(batch))), dev)
            sel = None if cols is None else torch.from_numpy(np.asarray(cols, np.int64)).to(dev)
            return self.net_(x, cols=sel).cpu().numpy()

    def _placed(self) -> torch.device:
        """The scoring device (``core.device.torch_device()``); moves the network there."""
        dev = torch.device(torch_device())
        if self.net_.item_bias.device != dev:
            self.net_.to(dev)
        return dev

    def _state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}

    def _set_state(self, state: dict[str, np.ndarray], history: PurchaseHistory) -> None:
        text_dim = state["text_proj.weight"].shape[1] if "text_proj.weight" in state else 0
        net = self._net(history, text_dim)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
        net.eval()
        self.net_ = net
