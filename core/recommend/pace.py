"""The neural recommender's progress as a share of its time (issue 13: honest estimates), and the
seconds it is expected to take, shared by the fit (``core.recommend.neural``), the training step
(``core.recommend.store``) and the prediction before it runs (``core.recommend.estimate``).

A fit is mostly epochs of minibatches, and how many epochs it runs is decided on the way (early
stopping on validation orders, a time budget). Its fraction therefore counts time, not epochs:
``elapsed / (elapsed + expected seconds left)``, with the seconds left from this run's own
measured seconds per minibatch and per validation pass times the epochs still expected. While the
fit runs as expected the fraction grows linearly with time and a pace-based time left
(``core.progress.time_left``) equals the expected seconds left; a stage that stops early makes it
jump ahead, never back.

Constants, measured on the corpus files with customers (bench/corpus_first_bundles.CORPUS) on the
project's shared 2-core machine (load 1-5), November 2026, default ``RecommenderParams`` (30 epochs
at most, patience 4), epochs run by the repeat / explore stages:

    without text vectors: UCI Online Retail 8 / 30, Groceries members 6 / 5-14 (4 seeds),
                          pharmacy 18-21 / 30, Superstore 8-12 / 5-6
    with fine-tuned text vectors (the background job's setting): UCI 11-13 / 12-14 (two
                          text models), Groceries members 6 / 5, pharmacy 18 / 21, Superstore 8 / 11

The explore stage starts from a better point with text vectors and stops sooner (UCI: validation
NDCG@10 0.167 at epoch 1 against 0.077 without). The priors with text vectors follow UCI, the
corpus's only long recommender step (about 30 s; the others take 3-7 s at load 1-2, where a
wrong prior costs a few seconds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np

from core.progress import Progress, report

# epochs expected of each stage before it runs, without / with text vectors (the docstring);
# at most params.epochs
EXPECTED_EPOCHS = {False: {"repeat": 10, "explore": 30}, True: {"repeat": 12, "explore": 14}}
# While a fit runs, a stage still learning (its best validation NDCG rose at least LEARNING_GAIN,
# relative, over its last ``patience`` epochs, or over the first epoch while it has run fewer) is
# expected to run its EXPECTED_EPOCHS; one that is not stops ``patience`` epochs after its best
# epoch (early stopping). On the corpus, without text vectors: UCI explore +4% by epoch 2, still
# +1.8% over epochs 26-29, 30 epochs; UCI repeat flat from epoch 4, stopped at 8; Groceries members
# and Superstore: flat or falling (+-1%), 5-14 epochs. Either way, a stage runs at least until its
# best epoch + patience.
LEARNING_GAIN = 0.01
# seconds of an explore minibatch over a repeat one (UCI 1.06, Groceries members 1.4, pharmacy
# 1.4, Superstore 1.3): for the explore stage before its first minibatch is timed
EXPLORE_OVER_REPEAT = 1.25
# a validation pass of n rows over a minibatch of n training rows (forward only, plus NDCG):
# 0.5-1.6 on the corpus; only until the first pass is timed
VALIDATION_OVER_TRAINING = 1.0
MIX_OVER_VALIDATION = 6.0  # choosing the mixing weights: about 6 validation passes (UCI 6.2)
SAVE_SECONDS = 0.25        # writing the model, history and text vectors (0.12-0.27 s measured)
STAGES = ("repeat", "explore")


def expected_epochs(stage: str, epochs: int, text: bool) -> int:
    """Epochs ``stage`` ("repeat", "explore", or "refit ..." of them) is expected to run
    (``text``: the model reads item text vectors)."""
    return max(1, min(int(epochs), EXPECTED_EPOCHS[bool(text)][stage.split()[-1]]))


class FitClock:
    """Progress of a neural fit that grows with time (see the module docstring). ``n_batches``:
    minibatches per epoch; ``val_batches``: a validation pass in minibatch units (validation
    rows / batch size); ``deadlines``: the time budget's end of each stage
    (``time.perf_counter`` values, None: none)."""

    def __init__(self, progress: Progress | None, *, stages: Sequence[str], epochs: int,
                 patience: int, n_batches: int, val_batches: float,
                 deadlines: Sequence[float | None], text: bool = False) -> None:
        self.progress, self.stages = progress, list(stages)
        self.epochs, self.patience = int(epochs), int(patience)
        self.prior = {s: expected_epochs(s, epochs, text) for s in self.stages}
        self.expected = dict(self.prior)
        self.scores: dict[str, list[float]] = {}
        self.deadline = dict(zip(self.stages, deadlines))
        self.n_batches, self.val_batches = max(1, int(n_batches)), float(val_batches)
        self.t0 = self.mark = time.perf_counter()
        self.spent: dict[str, list[float]] = {}  # stage: [minibatch seconds, minibatches]
        self.val: list[float] = []
        self.where = (self.stages[0], 0, 0)  # stage, epochs done, minibatches done in this one
        self.shown, self.over = 0.0, False

    def expect(self, stage: str, epochs: int) -> None:
        """``stage`` runs exactly ``epochs`` epochs (a refit)."""
        self.prior[stage] = self.expected[stage] = max(1, int(epochs))

    def restart(self) -> None:
        """Not a minibatch: the time since the last report (set-up, a validation pass)."""
        self.mark = time.perf_counter()

    def batch(self, stage: str, epoch: int, done: int, message: str) -> None:
        """Minibatch ``done`` (1 = the first) of epoch ``epoch`` (0 = the first) of ``stage``
        is done."""
        now = time.perf_counter()
        spent = self.spent.setdefault(stage, [0.0, 0])
        spent[0] += now - self.mark
        spent[1] += 1
        self.mark, self.where = now, (stage, epoch, done)
        self.show(message, now)

    def validated(self, stage: str, epoch: int, seconds: float | None, message: str,
                  score: float | None = None) -> None:
        """Epoch ``epoch`` of ``stage`` ended with a validation pass of ``seconds`` that
        scored ``score`` (None: without one)."""
        if seconds is not None:
            self.val.append(seconds)
        if score is not None:  # the epochs to expect of this stage (see LEARNING_GAIN)
            scores = self.scores.setdefault(stage, [])
            scores.append(score)
            best = int(np.argmax(scores)) + 1  # the first best epoch, as the fit keeps it
            before = scores[:-self.patience] or scores[:1]
            learning = len(scores) < 2 or max(scores) >= max(before) * (1 + LEARNING_GAIN)
            self.expected[stage] = min(self.epochs, max(best + self.patience,
                                                        self.prior[stage] if learning else 0))
            if len(scores) - best >= self.patience or epoch + 1 >= self.epochs:
                return  # early stopping ends the stage now: stage_done reports
        self.mark, self.where = time.perf_counter(), (stage, epoch + 1, 0)
        self.show(message)

    def stage_done(self, stage: str, message: str) -> None:
        """``stage`` stopped (early stopping, the budget or its last epoch)."""
        i = self.stages.index(stage)
        if i + 1 < len(self.stages):
            self.where = (self.stages[i + 1], 0, 0)
        else:
            self.over = True  # only the mixing weights are left
        self.restart()
        self.show(message)

    def batch_seconds(self, stage: str) -> float | None:
        """Seconds of one minibatch of ``stage``: measured, else from the other stage's."""
        s, n = self.spent.get(stage, (0.0, 0))
        if n:
            return s / n
        base = stage.split()[-1]
        for other, (s, n) in self.spent.items():
            if n:
                ratio = {("explore", "repeat"): EXPLORE_OVER_REPEAT,
                         ("repeat", "explore"): 1 / EXPLORE_OVER_REPEAT}
                return s / n * ratio.get((base, other.split()[-1]), 1.0)
        return None

    def left(self, now: float | None = None) -> float | None:
        """Expected seconds left in the fit (None before a minibatch was timed)."""
        now = time.perf_counter() if now is None else now
        stage, epoch, done = self.where
        c = self.batch_seconds(stage)
        if c is None:
            return None
        v = (sum(self.val) / len(self.val) if self.val
             else c * self.val_batches * VALIDATION_OVER_TRAINING)
        end = now
        for i in range(self.stages.index(stage), len(self.stages)):
            name = self.stages[i]
            epoch_s = self.n_batches * (self.batch_seconds(name) or c) + v
            if name == stage:  # the epoch in progress ends, then the expected ones
                rest = 0.0 if self.over else (self.n_batches - done) * c + v
                more = 0.0 if self.over else max(self.expected[name] - epoch - 1, 0) * epoch_s
            else:
                rest, more = 0.0, self.expected[name] * epoch_s
            end += rest + more
            if self.deadline.get(name) is not None:
                end = min(end, max(self.deadline[name], now) + v)
        return end - now + MIX_OVER_VALIDATION * v

    def fraction(self, now: float | None = None) -> float:
        """Share of the fit done: elapsed / (elapsed + expected seconds left), never lower than
        a share already shown."""
        now = time.perf_counter() if now is None else now
        left = self.left(now)
        if left is not None:
            spent = now - self.t0
            self.shown = max(self.shown, spent / max(spent + left, 1e-9))
        return self.shown

    def show(self, message: str, now: float | None = None) -> None:
        report(self.progress, self.fraction(now), message)


# ---------------------------------------------------------------------------- the last prediction
_MEMORY: dict[str, tuple[float, dict]] = {}
MEMORY_SECONDS = 600.0


def memory_key(root, dataset: str, key: dict) -> str:
    """The key of a prediction: workspace, dataset and the saved model's key (params, data
    version, cut; ``core.recommend.store``)."""
    return json.dumps([str(root), dataset, key], sort_keys=True, default=str)


def remember(mkey: str, parts: dict) -> None:
    """Keep a prediction's seconds per part for the training that follows (ten minutes)."""
    _MEMORY[mkey] = (time.monotonic(), dict(parts))
    for k in [k for k, (t, _) in _MEMORY.items() if time.monotonic() - t > MEMORY_SECONDS]:
        del _MEMORY[k]


def shares(mkey: str, text: bool, *, choice: bool = False
           ) -> tuple[float, float, float, float]:
    """Where the training step's parts end in its progress range: (reading the orders, text
    vectors, the choice of method, the fit), from the remembered prediction's seconds when there
    is one; else the reading 2%, the text vectors 28% (when used: they may need a fine-tuning),
    the choice (``choice``: ``method="auto"``, a fit of every candidate on most of the orders)
    half of what is left, the fit up to 97%."""
    got = _MEMORY.get(mkey)
    if got is None or time.monotonic() - got[0] > MEMORY_SECONDS:
        text_end = 0.3 if text else 0.02
        return 0.02, text_end, (text_end + 0.97) / 2 if choice else text_end, 0.97
    p = got[1]
    total = max(sum(p.values()), 1e-9)
    read = p.get("read", 0.0) / total
    text_end = read + p.get("text", 0.0) / total
    choice_end = text_end + p.get("choice", 0.0) / total
    return read, text_end, choice_end, max(choice_end, 1.0 - p.get("save", 0.0) / total)
