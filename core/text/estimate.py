"""The text stage of a dataset predicted before it runs (issue 13: honest estimates): what
``core.text.vectors.item_vectors`` is about to do (reuse a saved encoder, or mine pairs and
fine-tune with the plan ``core.text.finetune.finetune`` will choose; encode the texts the vector
cache lacks) and how many seconds each part will take on this machine (``core.text.plan``).

    est = plan_text(ws, "shop")          # ~1-3 s: mines the pairs, measures this machine
    est.seconds["total"], est.why        # e.g. 48.0, "322 co-purchase pairs with signal, ..."

The speeds it measures stay in this process's memory for ten minutes, so the fine-tuning that
follows plans with the same numbers and the two agree.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pandas as pd

from core.text.adapter import adapter_plan
from core.text.encoder import uncached_texts
from core.text.engine import is_engine_dir
from core.text.finetune import encoder_dir, read_meta, training_pairs
from core.text.language import dataset_model
from core.text.params import MIN_PAIRS, FinetuneParams, default_params
from core.text.plan import TrainingPlan, estimate_text_seconds, plan_training
from core.text.speed import TextSpeed, measure_speed
from core.text.texts import item_texts
from core.workspace import Workspace


@dataclass(frozen=True)
class TextEstimate:
    """``model``: "reused" (a saved fine-tuned encoder answers), "finetune" (one will be
    trained) or "base" (the base model: asked for, or too few co-purchase pairs); ``plan``: the
    training plan (None unless "finetune"); ``encode``: texts the vector cache lacks;
    ``seconds``: ``{"finetune", "encode", "total", "parts": {...}}`` still to come (the
    estimate's own time excluded); ``why``: one line for the page."""

    model: str
    plan: TrainingPlan | None
    encode: int
    seconds: dict
    speed: TextSpeed | None
    why: str

    def as_dict(self) -> dict:
        return {"model": self.model, "plan": None if self.plan is None else self.plan.as_dict(),
                "encode": self.encode, "seconds": self.seconds,
                "speed": None if self.speed is None else self.speed.as_dict(), "why": self.why}


def plan_text(ws: Workspace, dataset: str | None = None, *, cut: object = None,
              finetuned: bool = True, model: str | os.PathLike | None = None,
              params: FinetuneParams | None = None, train_lines: pd.DataFrame | None = None,
              train_tag: str | None = None) -> TextEstimate:
    """What ``item_vectors`` with the same arguments will do, and its seconds (see the module
    docstring). Changes nothing in the workspace."""
    params = params or default_params()
    name = ws.resolve(dataset)
    items = ws.items(name)
    texts = item_texts(items).tolist()
    base = dataset_model(ws, name, model)
    if finetuned:
        target = encoder_dir(ws, name, cut=cut, model=model, params=params,
                             train_lines=train_lines, train_tag=train_tag)
        if read_meta(target) is not None:
            return _encode_only(ws, name, texts, target, base, "reused",
                                f"fine-tuned model already trained ({target.name})")
        t0 = time.perf_counter()
        pairs, n_orders = training_pairs(ws, name, items, cut=cut, params=params,
                                         train_lines=train_lines)
        mine = time.perf_counter() - t0
        if len(pairs) >= MIN_PAIRS and is_engine_dir(base):  # an adapter: the base vectors
            speed, _ = measure_speed(texts, None, model=base)
            plan = adapter_plan(len(pairs), params)
            todo = uncached_texts(ws, name, list(dict.fromkeys(
                texts + pairs["anchor"].astype(str).tolist()
                + pairs["positive"].astype(str).tolist())), model=base)
            seconds = _with_mining(estimate_text_seconds(todo, plan.seconds, speed), mine)
            return TextEstimate("finetune", plan, len(todo), seconds, speed,
                                f"fine-tuning: {plan.why}; encoding {len(todo):,} items")
        if len(pairs) >= MIN_PAIRS:
            speed, costs = measure_speed(texts, pairs, batch_size=params.batch_size,
                                         model=base)
            plan = plan_training(len(pairs), params, lambda k: costs.epoch_seconds(k, speed))
            todo = list(dict.fromkeys(texts))  # a new model: nothing of it is cached
            seconds = estimate_text_seconds(todo, plan.seconds, speed)
            seconds = _with_mining(seconds, mine)
            return TextEstimate("finetune", plan, len(todo), seconds, speed,
                                f"fine-tuning: {plan.why}; then encoding {len(todo):,} items")
        why = (f"only {len(pairs)} co-purchase pair(s) in {n_orders:,} training orders: the "
               "base model is used")
        est = _encode_only(ws, name, texts, base, base, "base", why)
        return TextEstimate(est.model, None, est.encode, _with_mining(est.seconds, mine),
                            est.speed, est.why)
    return _encode_only(ws, name, texts, base, base, "base", "base model")


def _encode_only(ws: Workspace, name: str, texts: list[str], encoder, base, kind: str,
                 why: str) -> TextEstimate:
    todo = uncached_texts(ws, name, texts, model=encoder)
    if not todo:
        return TextEstimate(kind, None, 0, estimate_text_seconds(0, 0, _NO_SPEED), None,
                            f"{why}; every item vector is cached")
    speed, _ = measure_speed(texts, None, model=base)  # the base model's speed stands for any
    seconds = estimate_text_seconds(todo, 0, speed, load_encoder=kind == "reused")
    return TextEstimate(kind, None, len(todo), seconds, speed,
                        f"{why}; encoding {len(todo):,} items, about {seconds['encode']:.0f} s")


def _with_mining(seconds: dict, mine: float) -> dict:
    """Mining the pairs happens again when the work runs: count it."""
    parts = {"mine": round(mine, 2), **seconds["parts"]}
    return {**seconds, "finetune": round(seconds["finetune"] + mine, 2),
            "total": round(seconds["total"] + mine, 2), "parts": parts}


_NO_SPEED = TextSpeed("cpu", 1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
