"""The recommender step predicted before it runs (issue 13: honest estimates), in the spirit of
``core.text.estimate``: what ``core.recommend.store.train_recommender`` is about to do and how many
seconds each part will take on this machine, measured on the dataset itself.

    est = plan_recommender(ws, "shop")   # ~0.2 s (a small shop) to ~1.5 s (UCI Online Retail;
                                         # 1.2-3 s with the choice of method, issue 14)
    est.seconds, est.parts, est.why      # e.g. 52.0, {"read": 0.7, ...}, "4,334 customers, ..."

How: it reads the orders and builds the purchase history (the step's first part, timed as it
is), lists the training examples, encodes a sample of ``PROBE_EXAMPLES`` of them (the encoding
time of all of them is scaled from it), and times ``PROBE_BATCHES`` minibatches of each training
stage and a validation pass and the choice of the mixing weights on the sample, with the real
network (the dataset's catalog, the settings' dimensions and text projection). Then

    fit = prep + E_r * (B * t_repeat + V * v) + E_e * (B * t_explore + V * v) + V * m

B: minibatches per epoch (training examples / batch size), V: validation rows (at most
``neural.MAX_VALIDATION``), t_*: seconds of a minibatch, v and m: seconds of a validation row and
of choosing the mixing weights per row, E_r, E_e: the epochs expected of the repeat and explore
stages (``pace.EXPECTED_EPOCHS``: early stopping decides on the way; the constants and the corpus
figures they come from are in ``core.recommend.pace``), each stage capped by its time budget
(45% and 95% of ``max_seconds``). The step is ``read + text + fit + save``; the text vectors are
read from the cache when the text step ran first (``text_ready``, the background job), else
predicted by ``core.text.plan_text``. The prediction is remembered for ten minutes, so the
training that follows divides its progress range by the same seconds (``pace.shares``).

With ``method="auto"`` (the default, issue 14) the step first chooses its method
(``core.recommend.choose``), a part of its own: ``choice`` = the validation window + a fit of
every candidate on the fit part (the neural model by the formula above on the fit part's
histories, reusing the timed minibatches; EASE cubic in its items (``EASE_MEASURED``); the
counting models about as long as the window's histories). The refit that follows is predicted
as the neural model's, the slowest: when a baseline wins, the step ends sooner, never later.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from core.baskets import lines_before
from core.recommend.history import PurchaseHistory, UserBatch, build_history, item_index_for
from core.recommend.pace import SAVE_SECONDS, expected_epochs, memory_key, remember
from core.recommend.store import (HISTORY_COLUMNS, RecommenderParams, _cut_key, _read_meta,
                                  files_problem, model_path)
from core.workspace import Workspace

PROBE_EXAMPLES = 512    # training examples encoded and trained on to time this machine
PROBE_BATCHES = 8       # timed minibatches per stage (after an untimed first one)
PROBE_VALIDATION = 256  # rows of the timed validation pass and mixing choice
TEXT_CACHED_SECONDS = 0.5  # the text vectors read back from the cache (job: text step first)
# EASE's fit in the choice on UCI Online Retail's fit part: 3,600 items, 3.5 s on the shared
# 2-core machine (load ~3). Scaled cubically rather than timed here: a small inverse timed on
# this machine (600 x 600: 0.02-0.13 s from one call to the next, BLAS threads competing with
# other processes) scaled by (n / 600)^3 was off by up to 8x
EASE_MEASURED = (3600, 3.5)
# TIFU-KNN's fit + scoring of every customer on UCI Online Retail (4,334 customers, 2 cores):
# ~1.2 s, against ~0.2 s for the counting models; quadratic in customers (each is compared with
# every other one)
TIFU_MEASURED = (4334, 1.0)


@dataclass(frozen=True)
class RecommenderEstimate:
    """``model``: "reused" (a saved model answers) or "train"; ``sizes``: customers, items,
    training examples, validation rows, minibatches per epoch; ``parts``: seconds of read, text,
    choice (``method="auto"``), prep, repeat, explore, mix, save (or fit, for the methods
    without epochs); ``seconds``: their sum; ``why``: one line for the page."""

    model: str
    sizes: dict
    parts: dict
    seconds: float
    why: str


def job_params(text: bool) -> RecommenderParams:
    """The settings the background job (``core.jobs``) and ``run`` (``core.job_steps``) train
    with: ``method="auto"``, the best method on a validation window (``core.recommend.choose``)."""
    return RecommenderParams(text="finetuned" if text else "none")


def job_seconds(ws: Workspace, dataset: str, text: bool = True) -> float:
    """Predicted seconds of the background job's recommender step (it follows the text step)."""
    return plan_recommender(ws, dataset, params=job_params(text), text_ready=text).seconds


def plan_recommender(ws: Workspace, dataset: str | None = None, *,
                     params: RecommenderParams | None = None, cut=None,
                     text_ready: bool = False) -> RecommenderEstimate:
    """What ``train_recommender(ws, dataset, cut=cut, params=params)`` will do and its seconds
    (see the module docstring). Changes nothing in the workspace."""
    params = params or RecommenderParams()
    name = ws.resolve(dataset)
    key = {"params": asdict(params), "data_version": ws.info(name)["version"],
           "cut": _cut_key(cut)}
    target = model_path(ws, name, cut)
    meta = _read_meta(target)
    if meta is not None and meta.get("key") == key and files_problem(target) is None:
        return RecommenderEstimate("reused", {}, {"read": 0.0}, 0.0, "recommender already trained")
    t0 = time.perf_counter()
    train = lines_before(ws.lines(name, columns=HISTORY_COLUMNS), cut)
    items = item_index_for(train, ws.items(name))
    history = build_history(train, item_ids=items)
    parts = {"read": time.perf_counter() - t0}
    if params.reads_text():
        parts["text"] = _text_seconds(ws, name, params, cut, text_ready)
    method, timing, note = params.method, {}, ""
    if method == "auto":  # the choice's fits first (core.recommend.choose), then the refit
        parts["choice"], method, note = _choice_seconds(train, items, params, timing)
    del train
    if method == "als":  # a Spark start and iterations in it (core.recommend.als)
        from core.recommend.als import expected_seconds

        parts.update(fit=expected_seconds(history), save=SAVE_SECONDS)
        sizes = {"customers": history.n_customers, "items": history.n_items}
        why = f"als: matrix factorisation on Spark over {history.n_orders:,} orders"
    elif method != "neural":  # counting models: about as long as reading (an assumption)
        parts.update(fit=parts["read"], save=SAVE_SECONDS)
        sizes = {"customers": history.n_customers, "items": history.n_items}
        why = f"{method}: counts over {history.n_orders:,} orders"
    else:
        sizes, fit, why = _fit_seconds(history, params, timing)
        parts.update(fit, save=SAVE_SECONDS)
    parts = {k: round(float(v), 3) for k, v in parts.items()}
    remember(memory_key(ws.root, name, key), parts)
    return RecommenderEstimate("train", sizes, parts, round(sum(parts.values()), 2), why + note)


def _choice_seconds(train, items, params: RecommenderParams, timing: dict
                    ) -> tuple[float, str, str]:
    """(seconds of ``core.recommend.choose.choose_recommender``, the method whose refit to
    predict, a note for ``why``): the validation window (timed), then each candidate's fit on
    the fit part: the neural model as ``_fit_seconds`` predicts it on the fit part's histories,
    EASE cubic in its items (``EASE_MEASURED``), the counting models about as long as building
    the fit part's histories. Which method wins is not known before, so the refit predicted is
    the slowest one's (neural): the step may end sooner, never later."""
    from core.recommend.choose import CANDIDATES, CHOICE_PARAMS, DEFAULT, validation_window

    t0 = time.perf_counter()
    val = validation_window(train, item_ids=items)
    window = seconds = time.perf_counter() - t0
    if val.problem is not None:
        return seconds, DEFAULT, f"; {DEFAULT} kept without a choice ({val.problem})"
    for c in CANDIDATES:
        if c == "neural":
            seconds += sum(_fit_seconds(val.history, params, timing)[1].values())
        elif c == "ease":
            cap = int(CHOICE_PARAMS["ease"]["max_items"])
            seconds += _ease_seconds(min(cap, int((val.history.item_customers() > 0).sum())))
        elif c == "tifu_knn":  # a counting model plus a cosine search over the customers
            n, measured = TIFU_MEASURED
            seconds += window + measured * (val.history.n_customers / n) ** 2
        else:  # counting models: about as long as building the histories (an assumption)
            seconds += window
    return seconds, "neural", (f"; first {len(CANDIDATES)} methods compared on "
                               f"{val.customers:,} customers of {val.window}, then the winner "
                               "refitted (predicted as the slowest, neural)")


def _ease_seconds(n: int) -> float:
    """Seconds of EASE's fit (and scoring) on ``n`` items: cubic in items (the inverse), from
    ``EASE_MEASURED``."""
    items, seconds = EASE_MEASURED
    return seconds * (max(n, 0) / items) ** 3


def _text_seconds(ws: Workspace, name: str, params: RecommenderParams, cut,
                  text_ready: bool) -> float:
    if params.text == "none":
        return 0.0
    if text_ready:
        return TEXT_CACHED_SECONDS
    from core.text import plan_text

    return TEXT_CACHED_SECONDS + plan_text(ws, name, cut=cut,
                                           finetuned=params.text == "finetuned").seconds["total"]


def _fit_seconds(history: PurchaseHistory, params: RecommenderParams, timing: dict | None = None
                 ) -> tuple[dict, dict, str]:
    """(sizes, seconds of prep / repeat / explore / mix, why) of the neural fit. ``timing``:
    the minibatches timed by an earlier call over the same item index (the choice's fit part,
    then all orders), reused; an empty dict is filled."""
    from core.recommend.net import EXAMPLE_ENTRIES, training_examples
    from core.recommend.neural import MAX_VALIDATION, NeuralRecommender

    m = NeuralRecommender(**params.model_kwargs("neural"))
    t0 = time.perf_counter()
    examples, target_rows, is_val = training_examples(  # the fit's examples, as it makes them
        history, max_history=int(m.max_history), budget=EXAMPLE_ENTRIES, seed=int(params.seed))
    listed = time.perf_counter() - t0
    n_val = min(int(is_val.sum()), MAX_VALIDATION)
    n_train = int((~is_val).sum()) or int(is_val.sum())
    rng = np.random.default_rng(int(params.seed))
    pick = np.sort(rng.choice(len(is_val), min(PROBE_EXAMPLES, len(is_val)), replace=False))
    t0 = time.perf_counter()
    enc = m._encode(_examples(examples, pick))
    encoded = time.perf_counter() - t0
    rows = np.minimum(np.diff(examples.ptr), int(m.max_history))  # what encoding reads
    prep = listed + encoded * rows.sum() / max(int(rows[pick].sum()), 1)
    data = (enc, history.orders[target_rows[pick]].astype(np.float32).tocsr())
    if timing is None or "minibatches" not in timing:
        measured = _time_minibatches(m, history, data, params, len(pick))
        if timing is not None:
            timing["minibatches"] = measured
    batch, val_row, mix_row = measured if timing is None else timing["minibatches"]
    bs = int(m.batch_size)
    n_batches = math.ceil(n_train / bs)
    val = n_val * val_row
    e_r, e_e = (expected_epochs(s, params.epochs, params.text != "none")
                for s in ("repeat", "explore"))
    budget = float(params.max_seconds)
    repeat = min(e_r * (n_batches * batch["repeat"] + val), max(0.45 * budget - prep, 0) + val)
    explore = min(e_e * (n_batches * batch["explore"] + val),
                  max(0.95 * budget - prep - repeat, 0) + val)
    sizes = {"customers": history.n_customers, "items": history.n_items, "train": n_train,
             "validation": n_val, "batches": n_batches}
    why = (f"{history.n_customers:,} customers, {history.n_items:,} items, {n_train:,} training "
           f"orders: about {e_r} + {e_e} epochs of {n_batches:,} minibatches "
           f"({1000 * batch['repeat']:.0f} / {1000 * batch['explore']:.0f} ms each here)")
    return sizes, {"prep": prep, "repeat": repeat, "explore": explore,
                   "mix": n_val * mix_row}, why


def _examples(batch: UserBatch, pick: np.ndarray) -> UserBatch:
    """The examples ``pick`` of ``batch`` (sorted positions)."""
    starts, ends = batch.ptr[pick], batch.ptr[pick + 1]
    rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
    ptr = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
    return UserBatch(batch.orders[rows], ptr, batch.order_time[rows])


def _time_minibatches(m, history: PurchaseHistory, data: tuple, params: RecommenderParams,
                      n: int) -> tuple[dict, float, float]:
    """Seconds of a minibatch of each stage, of a validation row and of choosing the mixing
    weights per row, with the fit's own code (``NeuralRecommender._step`` and the rest) on
    ``n`` encoded examples ``data``."""
    import torch

    from core.device import torch_device
    from core.recommend.runtime import torch_threads

    m._rng = np.random.default_rng(int(params.seed))
    m._dev = torch.device(torch_device())
    text = None
    if params.text != "none":  # the fit projects text vectors reduced to text_components
        text = np.zeros((history.n_items, int(m.text_components)), dtype=np.float32)
    batch = {}
    with torch_threads(m.threads):
        net = m._new_net(history, text).to(m._dev)
        known = torch.from_numpy(history.item_orders() > 0).to(m._dev)
        for stage, ps, neural_on, repeat_on in m._param_groups(net):
            net.neural_on.fill_(neural_on)
            net.repeat_on.fill_(repeat_on)
            opt = torch.optim.Adam(ps, lr=float(m.lr))
            took = []
            for _ in range(PROBE_BATCHES + 1):
                ex = np.sort(m._rng.choice(n, min(int(m.batch_size), n), replace=False))
                t0 = time.perf_counter()
                m._step(net, opt, data, ex, known)
                took.append(time.perf_counter() - t0)
            batch[stage] = statistics.median(took[1:])
        net.repeat_on.fill_(True)
        rows = np.arange(min(PROBE_VALIDATION, n))
        t0 = time.perf_counter()
        m._val_ndcg(net, data[0], rows, data[1])
        t1 = time.perf_counter()
        m._choose_mix(net, data, rows)
        t2 = time.perf_counter()
    return batch, (t1 - t0) / len(rows), (t2 - t1) / len(rows)
