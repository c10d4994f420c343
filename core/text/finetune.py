"""Fine-tuning the text encoder on the shop's co-purchases (DESIGN §5), following
sentence-transformers' parts: a pairs dataset with columns ("anchor", "positive"),
``MultipleNegativesRankingLoss``, ``SentenceTransformerTrainingArguments`` with the no-duplicates
batch sampler, and ``SentenceTransformerTrainer``.

Training is bounded three ways: ``max_pairs``, ``epochs`` and a wall-clock budget ``seconds`` (a
trainer callback stops at the first step past it). The model is saved atomically under
``models/<dataset>/encoder-<tag>-<key>/`` where the key hashes the parameters, the base model and
the data version, so the same request is answered from disk without retraining. A ``Cancelled``
raised by the progress callback stops training and leaves the workspace unchanged (nothing is
written before training ends).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.baskets import build_baskets, parse_cut, temporal_split
from core.text.encoder import (META_FILE, base_model_dir, encode_items_pending, encoder_damaged,
                         encoder_key, item_texts, model_key, weights_problem)
from core.errors import ModelNotTrained, check_version
from core.progress import Progress, report, sub_progress
from core.text.pairs import mine_pairs, pairs_dataset
from core.workspace import Workspace

@dataclass(frozen=True)
class FinetuneParams:
    """Fine-tuning settings (they are part of the saved model's cache key).

    Defaults finish within ~3 minutes on full UCI Online Retail on 2 CPU cores: at most
    ``max_pairs`` pairs, ``epochs`` passes, stopped after ``seconds`` of training whatever is left.
    They were chosen on UCI Online Retail (cut 2011-09-01, see the embeddings evaluation): several
    passes over the strongest 1,536 pairs beat one pass over more, weaker pairs (which also hurt
    new items), and 2e-4 beat 5e-5 at this small number of steps.
    """

    epochs: int = 4
    max_pairs: int = 1536
    seconds: float = 150.0
    batch_size: int = 64
    min_cocount: int = 3
    per_item_cap: int = 8
    min_pmi: float = 0.0
    variant_similarity: float = 0.8
    pair_rank: str = "score"
    learning_rate: float = 2e-4
    warmup: float = 0.1
    max_seq_length: int = 64
    symmetric: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        from core.errors import BundleLabError

        checks = [("epochs", self.epochs >= 1), ("max_pairs", self.max_pairs >= 2),
                  ("seconds", self.seconds > 0), ("batch_size", self.batch_size >= 2),
                  ("min_cocount", self.min_cocount >= 1), ("per_item_cap", self.per_item_cap >= 1),
                  ("pair_rank", self.pair_rank in ("score", "cocount", "pmi"))]
        bad = ", ".join(f"{name}={getattr(self, name)!r}" for name, ok in checks if not ok)
        if bad:
            raise BundleLabError(
                f"fine-tuning setting(s) out of range: {bad} (epochs >= 1, max_pairs >= 2, "
                "seconds > 0, batch_size >= 2, min_cocount >= 1, per_item_cap >= 1, pair_rank "
                "one of 'score', 'cocount', 'pmi')")


def default_params() -> FinetuneParams:
    """``FinetuneParams()`` with the budget overrides of the environment applied
    (``BUNDLELAB_FINETUNE_SECONDS`` / ``BUNDLELAB_FINETUNE_PAIRS``, see ``core.config``), so every
    caller that leaves the settings out shares one cached model."""
    from core.config import finetune_overrides

    return FinetuneParams(**finetune_overrides())


# The train_tag of models trained on the first 80% of orders in file order (data without dates).
HOLDOUT_TAG = "file-order-80"


@dataclass(frozen=True)
class FinetuneResult:
    """``path``: the saved model directory; ``reused``: True when it was already on disk;
    ``seconds``: time spent now; ``pairs``/``steps``/``loss``/``stopped_early`` describe the
    training that produced the model (read back from its metadata when reused); ``vectors``: the
    item vectors when ``texts`` were given and the model was trained now."""

    path: Path
    reused: bool
    seconds: float
    pairs: int
    steps: int
    loss: float | None
    stopped_early: bool
    key: str
    vectors: np.ndarray | None = field(default=None, repr=False)


def _tag(cut: object, train_lines: pd.DataFrame | None, train_tag: str | None) -> str:
    if train_lines is not None:
        if not train_tag:
            raise ValueError("train_tag is required with train_lines (it names the training set "
                             "in the model's cache key)")
        return train_tag
    ts = parse_cut(cut)
    return "all" if ts is None else f"cut-{ts.date().isoformat()}"


def encoder_dir(ws: Workspace, dataset: str, *, cut: object = None,
                model: str | os.PathLike | None = None, params: FinetuneParams | None = None,
                train_lines: pd.DataFrame | None = None, train_tag: str | None = None) -> Path:
    """Where the encoder for these settings is (or would be) saved."""
    params = params or default_params()
    name = ws.resolve(dataset)
    tag = _tag(cut, train_lines, train_tag)
    blob = json.dumps({"params": asdict(params), "base": model_key(base_model_dir(model)),
                       "data_version": ws.info(name)["version"], "tag": tag}, sort_keys=True)
    key = hashlib.sha1(blob.encode()).hexdigest()[:12]
    safe_tag = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in tag)
    return ws.model_dir(name, f"encoder-{safe_tag}-{key}")


def read_meta(path: Path) -> dict | None:
    """The training metadata saved with an encoder, or None when ``path`` is not a finished one."""
    try:
        return json.loads((Path(path) / META_FILE).read_text())
    except (OSError, ValueError):
        return None


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

    from core.text.encoder import quiet_transformers

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
    loss = MultipleNegativesRankingLoss(
        model, directions=("query_to_doc", "doc_to_query") if params.symmetric else ("query_to_doc",),
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


def finetune(ws: Workspace, dataset: str | None = None, *, cut: object = None,
             model: str | os.PathLike | None = None, params: FinetuneParams | None = None,
             train_lines: pd.DataFrame | None = None, train_tag: str | None = None,
             texts: pd.Series | None = None, force: bool = False,
             retrain_damaged: bool = True,
             progress: Progress | None = None) -> FinetuneResult:
    """Train (or reuse) the co-purchase encoder of ``dataset``.

    Training orders: those before ``cut`` (DESIGN §6), all orders when ``cut`` is None, or exactly
    ``train_lines`` (then ``train_tag`` names them in the cache key). Starts from ``model`` (None:
    the configured base model) with ``params`` (None: ``default_params()``). Raises ``ModelNotTrained`` when the orders hold fewer than two
    usable co-purchase pairs. Records a ``finetune`` run when it trains.

    With ``texts`` (item texts, see ``core.text.encoder.item_texts``) a freshly trained model also
    encodes them before it is committed, so a ``Cancelled`` during that encoding still leaves the
    workspace unchanged; the vectors are returned in ``result.vectors`` and cached.

    A saved encoder whose weights cannot be read (junk, truncated) is trained again; with
    ``retrain_damaged=False`` (callers that only use the encoder) ``ModelDamaged`` says so."""
    t0 = time.perf_counter()
    params = params or default_params()
    name = ws.resolve(dataset)
    version = ws.info(name)["version"]  # the data trained on; checked again before saving
    base = base_model_dir(model)
    target = encoder_dir(ws, name, cut=cut, model=model, params=params, train_lines=train_lines,
                         train_tag=train_tag)
    meta = read_meta(target)
    if meta is not None and not force:
        problem = weights_problem(target) or (
            None if next(target.rglob("*.safetensors"), None) else f"{target}: no weights file")
        if problem is None:
            report(progress, 1.0, "fine-tuned model already trained: reused")
            return FinetuneResult(target, True, round(time.perf_counter() - t0, 2),
                                  meta["pairs"], meta["steps"], meta.get("loss"),
                                  meta["stopped_early"], target.name)
        if not retrain_damaged:
            raise encoder_damaged(target, problem)
        report(progress, 0.0, "the saved fine-tuned model is damaged: training it again")

    report(progress, 0.0, "mining co-purchase pairs")
    if train_lines is None:
        train_lines = ws.lines(name, columns=["order_id", "item_id", "timestamp"])
        if parse_cut(cut) is not None:
            train_lines = temporal_split(train_lines, cut).train
    items = ws.items(name)
    baskets = build_baskets(train_lines, item_ids=items["item_id"].astype(str).tolist())
    pairs = mine_pairs(baskets, item_texts(items), min_cocount=params.min_cocount,
                       min_pmi=params.min_pmi, per_item_cap=params.per_item_cap,
                       max_pairs=params.max_pairs, variant_similarity=params.variant_similarity,
                       rank_by=params.pair_rank, seed=params.seed)
    if len(pairs) < 2:
        raise ModelNotTrained(
            f"only {len(pairs)} co-purchase pair(s) found in {baskets.n_orders:,} training orders "
            f"(pairs of different products bought together in >= {params.min_cocount} orders, "
            "more often than chance); fine-tuning needs at least 2. Use more order history, a "
            "lower min_cocount, or the base model")
    report(progress, 0.05, f"{len(pairs):,} pairs mined")

    vectors, commit_vectors = None, None
    train_end = 0.97 if texts is None else 0.85
    with ws.atomic_dir(target) as tmp:
        stats, trained = train_encoder(base, pairs, tmp, params=params,
                                       progress=sub_progress(progress, 0.05, train_end))
        meta = {"dataset": name, "data_version": version, "tag": target.name,
                "model_id": uuid.uuid4().hex,
                "cut": None if parse_cut(cut) is None else parse_cut(cut).date().isoformat(),
                "base": str(base), "base_key": model_key(base), "params": asdict(params),
                "pairs": len(pairs), "train_orders": baskets.n_orders, **stats}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        if texts is not None:
            vectors, commit_vectors = encode_items_pending(
                ws, name, texts, model=tmp, st_model=trained,
                key=encoder_key(target.name, meta["model_id"]),  # == model_key(target) once renamed
                progress=sub_progress(progress, train_end, 0.99))
        report(progress, 0.99, "saving the fine-tuned model")
        check_version(ws, name, version, doing="the text model was being fine-tuned",
                      again="fine-tune it again")
    if commit_vectors is not None:
        commit_vectors()
    _remove_stale(target.parent, version)
    seconds = round(time.perf_counter() - t0, 2)
    ws.record_run(name, "finetune", params={**asdict(params), "cut": meta["cut"],
                                            "tag": target.name, "base": str(base)},
                  seconds=seconds, metrics={k: meta[k] for k in ("pairs", "steps", "loss",
                                                                 "stopped_early", "train_orders")},
                  artifact=str(target))
    report(progress, 1.0, f"fine-tuned on {len(pairs):,} pairs in {seconds:.0f}s")
    return FinetuneResult(target, False, seconds, len(pairs), stats["steps"], stats["loss"],
                          stats["stopped_early"], target.name, vectors)


def _remove_stale(models_dir: Path, version: int) -> None:
    """Drop encoders trained on an older version of the dataset (they can never be reused)."""
    for d in models_dir.glob("encoder-*"):
        meta = read_meta(d)
        if meta is not None and meta.get("data_version") != version:
            shutil.rmtree(d, ignore_errors=True)


def encoders(ws: Workspace, dataset: str | None = None) -> pd.DataFrame:
    """Finished encoders of a dataset, newest first. Columns: path, tag, cut, pairs, steps, loss,
    stopped_early, data_version, trained_at."""
    name = ws.resolve(dataset)
    rows = []
    for d in ws.models_dir.joinpath(name).glob("encoder-*"):
        meta = read_meta(d)
        if meta is None:
            continue
        rows.append({"path": str(d), "tag": d.name, "cut": meta.get("cut"),
                     "pairs": meta.get("pairs"), "steps": meta.get("steps"),
                     "loss": meta.get("loss"), "stopped_early": meta.get("stopped_early"),
                     "data_version": meta.get("data_version"),
                     "trained_at": pd.Timestamp((d / META_FILE).stat().st_mtime, unit="s")})
    cols = ["path", "tag", "cut", "pairs", "steps", "loss", "stopped_early", "data_version",
            "trained_at"]
    return pd.DataFrame(rows, columns=cols).sort_values("trained_at", ascending=False,
                                                        ignore_index=True)
