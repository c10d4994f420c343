"""One training run of the text encoder on co-purchase pairs (docs/ARCHITECTURE.md §5), following
sentence-transformers' parts: a pairs dataset with columns ("anchor", "positive"),
``MultipleNegativesRankingLoss``, ``SentenceTransformerTrainingArguments`` with the no-duplicates
batch sampler, and ``SentenceTransformerTrainer``.

Training is bounded three ways: the pairs given, the epochs (``core.text.plan`` sizes both to fit
the budget at the measured speed) and a wall-clock budget ``seconds`` (a trainer callback stops at
the first step past it: a safety net when the machine slows down). It runs on the text stage's
device and CPU threads (``core.text.runtime``). torch, transformers and
sentence-transformers are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from core.progress import Progress, report, sub_progress
from core.text.encoder import quiet_transformers
from core.text.pairs import pairs_dataset
from core.text.params import FinetuneParams
from core.text.runtime import device, torch_threads


def _budget_callback(seconds: float, progress: Progress | None):
    from transformers import TrainerCallback

    class BudgetCallback(TrainerCallback):
        """Maps trainer steps to ``progress`` (which may raise ``Cancelled``), times the steps
        and stops training at the first step past the wall-clock budget (a safety net: the plan,
        ``core.text.plan.plan_training``, sized the steps to fit it)."""

        def __init__(self) -> None:
            self.start = self.first = self.last = time.monotonic()
            self.stopped_early = False
            self.first_step_seconds: float | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()
            report(progress, 0.0, f"fine-tuning: {state.max_steps} steps planned")
            return control

        def on_step_end(self, args, state, control, **kwargs):
            now = time.monotonic()
            if state.global_step == 1:
                self.first, self.first_step_seconds = now, now - self.start
            elapsed = now - self.start
            done = max(state.global_step / max(1, state.max_steps), elapsed / seconds)
            report(progress, done, f"fine-tuning step {state.global_step}/{state.max_steps}")
            if elapsed >= seconds and state.global_step < state.max_steps:
                self.stopped_early = True
                control.should_training_stop = True
            return control

        def step_seconds(self, steps: int) -> float | None:
            """Mean seconds of the steps after the first (it carries one-off set-up costs)."""
            if steps >= 2:
                return (self.last - self.first) / (steps - 1)
            return self.first_step_seconds

        def on_train_end(self, args, state, control, **kwargs):
            self.last = time.monotonic()
            return control

    return BudgetCallback()


def train_encoder(base: Path, pairs: pd.DataFrame, out_dir: Path, *, params: FinetuneParams,
                  epochs: int | None = None, load_share: float = 0.0,
                  progress: Progress | None = None):
    """Fine-tune the sentence-transformer in ``base`` on ``pairs`` (columns anchor, positive) for
    ``epochs`` passes (default ``params.epochs``) on the text stage's device and threads
    (``core.text.runtime``) and save it to ``out_dir``. ``load_share``: the part of the progress
    range that loading the model takes (its expected share of the time). Returns ``(stats,
    model)``: stats ``{"steps", "loss", "stopped_early", "train_seconds", "load_seconds",
    "setup_seconds", "step_seconds", "save_seconds", "device", "threads"}`` and the trained model
    (in eval mode)."""
    with torch_threads() as threads:
        stats, model = _train(base, pairs, out_dir, params=params,
                              epochs=params.epochs if epochs is None else epochs,
                              load_share=load_share, progress=progress)
    return {**stats, "threads": threads}, model


def _train(base: Path, pairs: pd.DataFrame, out_dir: Path, *, params: FinetuneParams,
           epochs: int, load_share: float, progress: Progress | None):
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import (
        MultipleNegativesRankingLoss,
    )
    from transformers import PrinterCallback

    class Trainer(SentenceTransformerTrainer):
        """No model-card tracking: we write no model card, and its widget sampling would touch
        the global ``random`` state and draw a progress bar."""

        def add_model_card_callback(self, default_args_dict):  # noqa: D102
            return None

    quiet_transformers()
    dev = device()
    report(progress, 0.0, "loading the base model")
    t0 = time.monotonic()
    # a fresh copy (training mutates it), on the device it trains on
    model = SentenceTransformer(str(base), local_files_only=True, device=dev)
    model.max_seq_length = min(model.max_seq_length or params.max_seq_length, params.max_seq_length)
    load_seconds = time.monotonic() - t0
    train_dataset = pairs_dataset(pairs)
    # Bought-together is symmetric: rank the positive among the batch for each anchor and the
    # anchor among the batch for each positive (one softmax per direction).
    directions = ("query_to_doc", "doc_to_query") if params.symmetric else ("query_to_doc",)
    loss = MultipleNegativesRankingLoss(model, directions=directions,
                                        partition_mode="per_direction")
    budget = _budget_callback(params.seconds, sub_progress(progress, load_share, 1.0))
    t1 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bundlelab-ft-") as scratch:  # outside the workspace
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=epochs,
            per_device_train_batch_size=min(params.batch_size, len(train_dataset)),
            learning_rate=params.learning_rate,
            warmup_steps=params.warmup,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=params.seed,
            dataloader_pin_memory=False,
            use_cpu=dev == "cpu",  # the Trainer would take a GPU it sees even when told "cpu"
        )
        trainer = Trainer(model=model, args=args, train_dataset=train_dataset, loss=loss,
                          callbacks=[budget])
        trainer.remove_callback(PrinterCallback)  # it prints the final log dict on stdout
        output = trainer.train()
    t2 = time.monotonic()
    model.save(str(out_dir), create_model_card=False)
    model.eval()
    steps = int(output.global_step)
    step_seconds = budget.step_seconds(steps)
    return {"steps": steps, "loss": float(output.training_loss),
            "stopped_early": budget.stopped_early, "train_seconds": round(t2 - t1, 2),
            "load_seconds": round(load_seconds, 3),
            "setup_seconds": round(max(0.0, budget.start - t1), 3),
            "step_seconds": None if step_seconds is None else round(step_seconds, 4),
            "later_steps_seconds": round(budget.last - budget.first, 3),  # steps 2..n
            "first_step_seconds": budget.first_step_seconds,
            "save_seconds": round(time.monotonic() - t2, 3), "device": dev}, model
