"""The fine-tuning plan that fits the budget, and the seconds of the text stage (docs/ARCHITECTURE.md
§5; issue 13: a fixed 150 s budget stopped one shop at step 14 of 48 while another finished in a
fraction of it, and the estimates were 2-5x off). Speeds come from ``core.text.speed``.

- ``plan_training(n_pairs, params, cost)``: the pairs, epochs and steps that fit
  ``BUDGET_SHARE`` of ``params.seconds`` at the measured cost, and why, in words for the pages;
- ``estimate_text_seconds(texts, train_seconds, speed)``: the seconds of each part;
- ``learn_from_training``: a finished run corrects this process's measured costs;
- ``plan_text`` (``core.text.estimate``): all of it for a dataset, before the work starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from core.text.params import MIN_PAIRS, FinetuneParams
from core.text.runtime import remember
from core.text.speed import TextSpeed

# Plan the steps into this share of the budget: the budget stays a safety net, not the plan.
BUDGET_SHARE = 0.85


@dataclass(frozen=True)
class TrainingPlan:
    """What fine-tuning will do: the strongest ``pairs`` of the ``pairs_found`` pairs with
    signal, ``epochs`` passes (of ``epochs_asked``), ``steps`` steps, about ``seconds`` of
    training (``step_seconds`` a typical step) within ``budget``; ``why`` says so in words."""

    pairs_found: int
    pairs: int
    epochs: int
    steps: int
    batch_size: int
    step_seconds: float
    seconds: float
    budget: float
    epochs_asked: int
    why: str

    @property
    def limited(self) -> bool:
        """The budget cut the training: fewer pairs or epochs than the settings ask for."""
        return self.pairs < self.pairs_found or self.epochs < self.epochs_asked

    def as_dict(self) -> dict:
        out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        return {**out, "limited": self.limited}


def steps_per_epoch(n_pairs: int, batch_size: int) -> int:
    """Steps of one pass over ``n_pairs`` (the trainer's count: the last batch may be short)."""
    return max(1, math.ceil(n_pairs / max(1, min(batch_size, n_pairs))))


def plan_training(n_pairs: int, params: FinetuneParams,
                  cost: float | Callable[[int], float]) -> TrainingPlan:
    """Pairs and epochs that fit ``BUDGET_SHARE`` of ``params.seconds``. ``cost``: seconds of
    one pass over the strongest ``k`` pairs, ``cost(k)``, or seconds per step (a number).

    When everything fits: all ``n_pairs`` (the pairs with signal, already capped at
    ``params.max_pairs``) for ``params.epochs`` passes. Otherwise several passes over the
    strongest pairs come first (they beat one pass over more, weaker pairs on UCI Online
    Retail): the most whole batches of pairs that fit, then fewer epochs."""
    batch = max(2, min(params.batch_size, n_pairs))
    epoch = cost if callable(cost) else (lambda k: steps_per_epoch(k, batch) * float(cost))
    budget = params.seconds * BUDGET_SHARE
    pairs, epochs = n_pairs, params.epochs
    if epochs * epoch(pairs) > budget:
        lo, hi = 0, (n_pairs - 1) // batch  # whole batches of pairs: the most that fit
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if epochs * epoch(mid * batch) <= budget else (lo, mid - 1)
        if lo >= 1:
            pairs = lo * batch
        else:  # not one batch per pass: one batch, as many passes as fit (at least one)
            pairs = min(n_pairs, batch)
            epochs = max(1, min(epochs, int(budget // max(epoch(pairs), 1e-9))))
        pairs = max(MIN_PAIRS, pairs)
    steps = epochs * steps_per_epoch(pairs, batch)
    seconds = epochs * epoch(pairs)
    why = (f"{n_pairs:,} co-purchase pairs with signal, {epochs} epoch{'s' * (epochs > 1)}, "
           f"{steps} steps, about {seconds:.0f} s on this machine")
    if pairs < n_pairs:
        full = params.epochs * epoch(n_pairs)
        why += (f" (the strongest {pairs:,} pairs: all {n_pairs:,} would take about {full:.0f} s,"
                f" over the {params.seconds:g} s budget)")
    return TrainingPlan(n_pairs, pairs, epochs, steps, batch, seconds / steps, seconds,
                        params.seconds, params.epochs, why)


def estimate_text_seconds(texts: int | Sequence[str], train_seconds: float, speed: TextSpeed, *,
                          load_encoder: bool = False) -> dict:
    """Seconds of fine-tuning (``train_seconds`` of steps, a plan's ``seconds``; 0: no
    training) and of encoding ``texts`` (the texts, or their number) at ``speed``:
    ``{"finetune", "encode", "total", "parts": {load, setup, train, save, encode}}``.
    ``load_encoder``: the encoding loads a saved model first (a freshly fine-tuned one is in
    memory already)."""
    trains = train_seconds > 0
    parts = {"load": speed.load_seconds if trains else 0.0,
             "setup": speed.setup_seconds if trains else 0.0, "train": float(train_seconds),
             "save": speed.save_seconds if trains else 0.0,
             "encode": speed.encode_seconds(texts)}
    if load_encoder and parts["encode"] > 0:
        parts["encode"] += speed.load_seconds
    finetune = parts["load"] + parts["setup"] + parts["train"] + parts["save"]
    return {"finetune": round(finetune, 2), "encode": round(parts["encode"], 2),
            "total": round(finetune + parts["encode"], 2),
            "parts": {k: round(v, 2) for k, v in parts.items()}}


def learn_from_training(stats: dict, plan: TrainingPlan, speed: TextSpeed) -> None:
    """Correct this process's fixed costs and forward passes per step with a finished training
    run (``core.text.trainer.train_encoder``'s stats) that ``plan`` predicted at ``speed``."""
    for what in ("load", "setup", "save"):
        if stats.get(f"{what}_seconds") is not None:
            remember(what, stats[f"{what}_seconds"])
    steps, later = stats.get("steps", 0), stats.get("later_steps_seconds")
    if steps >= 3 and later and plan.seconds > 0:
        predicted = plan.seconds * (steps - 1) / plan.steps  # steps 2..n of the plan
        remember("step_passes", speed.step_passes * later / predicted)
