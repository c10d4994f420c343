"""One training run of the text encoder on co-purchase pairs (docs/ARCHITECTURE.md §5), following
sentence-transformers' parts: a pairs dataset with columns ("anchor", "positive"),
``MultipleNegativesRankingLoss``, ``SentenceTransformerTrainingArguments`` with the no-duplicates
batch sampler, and ``SentenceTransformerTrainer``.

Training is bounded three ways: ``max_pairs`` (the pairs given), ``epochs`` and a wall-clock
budget ``seconds`` (a trainer callback stops at the first step past it). torch, transformers and
sentence-transformers are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from core.progress import Progress, report
from core.text.encoder import quiet_transformers
from core.text.pairs import pairs_dataset
from core.text.params import FinetuneParams


def _budget_callback(seconds: float, progress: Progress | None):
    from transformers import TrainerCallback

    class BudgetCallback(TrainerCallback):
        """Maps trainer steps to ``progress`` (which may raise ``Cancelled``) and stops training
        at the first step past the wall-clock budget."""

        def __init__(self) -> None:
            self.start = time.monotonic()
            self.stopped_early = False

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()
            report(progress, 0.0, f"fine-tuning: {state.max_steps} steps planned")
            return control

        def on_step_end(self, args, state, control, **kwargs):
            elapsed = time.monotonic() - self.start
            done = max(state.global_step / max(1, state.max_steps), elapsed / seconds)
            report(progress, done, f"fine-tuning step {state.global_step}/{state.max_steps}")
            if elapsed >= seconds and state.global_step < state.max_steps:
                self.stopped_early = True
                control.should_training_stop = True
            return control

    return BudgetCallback()


def train_encoder(base: Path, pairs: pd.DataFrame, out_dir: Path, *, params: FinetuneParams,
                  progress: Progress | None = None):
    """Fine-tune the sentence-transformer in ``base`` on ``pairs`` (columns anchor, positive) and
    save it to ``out_dir``. Returns ``(stats, model)``: stats ``{"steps", "loss",
    "stopped_early", "train_seconds"}`` and the trained model (in eval mode)."""
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import PrinterCallback

    class Trainer(SentenceTransformerTrainer):
        """No model-card tracking: we write no model card, and its widget sampling would touch
        the global ``random`` state and draw a progress bar."""

        def add_model_card_callback(self, default_args_dict):  # noqa: D102
            return None

    quiet_transformers()
    report(progress, 0.0, "loading the base model")
    model = SentenceTransformer(str(base), local_files_only=True)  # a fresh copy: training mutates
    model.max_seq_length = min(model.max_seq_length or params.max_seq_length, params.max_seq_length)
    train_dataset = pairs_dataset(pairs)
    # Bought-together is symmetric: rank the positive among the batch for each anchor and the
    # anchor among the batch for each positive (one softmax per direction).
    directions = ("query_to_doc", "doc_to_query") if params.symmetric else ("query_to_doc",)
    loss = MultipleNegativesRankingLoss(model, directions=directions,
                                        partition_mode="per_direction")
    budget = _budget_callback(params.seconds, progress)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bundlelab-ft-") as scratch:  # outside the workspace
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=params.epochs,
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
        )
        trainer = Trainer(model=model, args=args, train_dataset=train_dataset, loss=loss,
                          callbacks=[budget])
        trainer.remove_callback(PrinterCallback)  # it prints the final log dict on stdout
        output = trainer.train()
    train_seconds = time.monotonic() - t0
    model.save(str(out_dir), create_model_card=False)
    model.eval()
    return {"steps": int(output.global_step), "loss": float(output.training_loss),
            "stopped_early": budget.stopped_early, "train_seconds": round(train_seconds, 2)}, model
