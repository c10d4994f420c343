"""Fine-tuning the text encoder on a dataset's co-purchases (docs/ARCHITECTURE.md §5): mine the
pairs of the training orders (``core.text.pairs``), measure this machine's speed on them
(``core.text.speed``), plan the pairs and epochs that fit the time budget (``core.text.plan``: a
shop with few pairs trains briefly, a large one trains its strongest pairs instead of stopping
midway; the plan and why are kept in the model's metadata), train (``core.text.trainer``) and keep
the result. The model is saved atomically under ``models/<dataset>/encoder-<tag>-<key>/`` where the
key hashes the settings (``core.text.params``), the base model and the data version, so the same
request is answered from disk without retraining. A ``Cancelled`` raised by the progress callback
stops training and leaves the workspace unchanged (nothing is written before training ends).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.baskets import build_baskets, lines_before, parse_cut
from core.errors import ModelNotTrained, check_version
from core.progress import Progress, report, sub_progress
from core.rules.copurchase import stored_cooccurrence
from core.text.encoder import (
    META_FILE,
    encode_items_pending,
    encoder_damaged,
    encoder_key,
    model_key,
    weights_problem,
)
from core.text.engine import is_engine_dir
from core.text.language import dataset_model
from core.text.pairs import mine_pairs
from core.text.params import MIN_PAIRS, FinetuneParams, default_params
from core.text.plan import estimate_text_seconds, learn_from_training, plan_training
from core.text.speed import measure_speed
from core.text.texts import item_texts
from core.text.trainer import train_encoder
from core.workspace import Workspace

KEY_CHARS = 12  # hex digits of the settings hash in an encoder's directory name
# Progress of finetune(): mining, training and encoding by their predicted share of the time
# (core.text.plan) up to 99%; then committing.
_SAVING = 0.99
# The train_tag of models trained on the first 80% of orders in file order (data without dates).
HOLDOUT_TAG = "file-order-80"


def holdout_tag(train_lines: pd.DataFrame) -> str:
    """The train_tag of a file-order training side: ``HOLDOUT_TAG`` and its order count, so the
    first 80% and the first 80% of those (the weights' fit) never share an encoder."""
    return f"{HOLDOUT_TAG}-{train_lines['order_id'].nunique()}"


@dataclass(frozen=True)
class FinetuneResult:
    """``path``: the saved model directory; ``reused``: True when it was already on disk;
    ``seconds``: time spent now; ``pairs``/``steps``/``loss``/``stopped_early`` describe the
    training that produced the model (read back from its metadata when reused); ``vectors``: the
    item vectors when ``texts`` were given and the model was trained now; ``why``/``plan``: the
    budget chosen for this shop and machine (``core.text.plan.plan_training``)."""

    path: Path
    reused: bool
    seconds: float
    pairs: int
    steps: int
    loss: float | None
    stopped_early: bool
    key: str
    vectors: np.ndarray | None = field(default=None, repr=False)
    why: str | None = None  # the budget in words ("N pairs with signal, E epochs, ...")
    plan: dict | None = None  # core.text.plan.TrainingPlan.as_dict()


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
    blob = json.dumps({"params": asdict(params), "base": model_key(dataset_model(ws, name, model)),
                       "data_version": ws.info(name)["version"], "tag": tag}, sort_keys=True)
    key = hashlib.sha1(blob.encode()).hexdigest()[:KEY_CHARS]
    safe_tag = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in tag)
    return ws.model_dir(name, f"encoder-{safe_tag}-{key}")


def read_meta(path: Path) -> dict | None:
    """The training metadata saved with an encoder, or None when ``path`` is not a finished one."""
    try:
        return json.loads((Path(path) / META_FILE).read_text())
    except (OSError, ValueError):
        return None


def finetune(ws: Workspace, dataset: str | None = None, *, cut: object = None,
             model: str | os.PathLike | None = None, params: FinetuneParams | None = None,
             train_lines: pd.DataFrame | None = None, train_tag: str | None = None,
             texts: pd.Series | None = None, force: bool = False,
             retrain_damaged: bool = True,
             progress: Progress | None = None) -> FinetuneResult:
    """Train (or reuse) the co-purchase encoder of ``dataset``.

    Training orders: those before ``cut`` (docs/ARCHITECTURE.md §6), all orders when ``cut`` is
    None, or exactly ``train_lines`` (then ``train_tag`` names them in the cache key). Starts
    from ``model`` (None: the configured base model) with ``params`` (None:
    ``default_params()``). Raises ``ModelNotTrained`` when the orders hold fewer than two usable
    co-purchase pairs. Records a ``finetune`` run when it trains.

    With ``texts`` (item texts, see ``core.text.texts.item_texts``) a freshly trained model also
    encodes them before it is committed, so a ``Cancelled`` during that encoding still leaves the
    workspace unchanged; the vectors are returned in ``result.vectors`` and cached.

    A saved encoder whose weights cannot be read (junk, truncated) is trained again; with
    ``retrain_damaged=False`` (callers that only use the encoder) ``ModelDamaged`` says so."""
    t0 = time.perf_counter()
    params = params or default_params()
    name = ws.resolve(dataset)
    version = ws.info(name)["version"]  # the data trained on; checked again before saving
    base = dataset_model(ws, name, model)
    target = encoder_dir(ws, name, cut=cut, model=model, params=params, train_lines=train_lines,
                         train_tag=train_tag)
    meta = read_meta(target)
    if meta is not None and not force:
        problem = weights_problem(target) or (
            None if next(target.rglob("*.safetensors"), None) else f"{target}: no weights file")
        if problem is None:
            report(progress, 1.0, "fine-tuned model already trained: reused")
            plan = meta.get("plan") or {}
            return FinetuneResult(target, True, round(time.perf_counter() - t0, 2),
                                  meta["pairs"], meta["steps"], meta.get("loss"),
                                  meta["stopped_early"], target.name, None, plan.get("why"),
                                  meta.get("plan"))
        if not retrain_damaged:
            raise encoder_damaged(target, problem)
        report(progress, 0.0, "the saved fine-tuned model is damaged: training it again")

    report(progress, 0.0, "mining co-purchase pairs")
    items = ws.items(name)
    pairs, n_orders = training_pairs(ws, name, items, cut=cut, params=params,
                                     train_lines=train_lines)
    if len(pairs) < MIN_PAIRS:
        raise ModelNotTrained(
            f"only {len(pairs)} co-purchase pair(s) found in {n_orders:,} training orders "
            f"(pairs of different products bought together in >= {params.min_cocount} orders, "
            "more often than chance); fine-tuning needs at least 2. Use more order history, a "
            "lower min_cocount, or the base model")
    if is_engine_dir(base):  # an engine is not fine-tuned itself: an adapter on its vectors
        return _finetune_adapter(ws, name, base, target, pairs, n_orders, params=params,
                                 catalog=item_texts(items), texts=texts, version=version,
                                 cut=cut, t0=t0, progress=progress)
    report(progress, 0.0, f"{len(pairs):,} pairs mined; measuring this machine's speed")
    speed, costs = measure_speed(item_texts(items), pairs, batch_size=params.batch_size,
                                 model=base)
    plan = plan_training(len(pairs), params, lambda k: costs.epoch_seconds(k, speed))
    pairs = pairs.head(plan.pairs)
    estimate = estimate_text_seconds(list(dict.fromkeys(texts)) if texts is not None else 0,
                                     plan.seconds, speed)
    # progress linear in time: each part gets its predicted share of what is left
    done = time.perf_counter() - t0
    total = done + estimate["total"]
    mined = _SAVING * done / total
    trained = _SAVING * (done + estimate["finetune"]) / total
    parts = estimate["parts"]
    load_share = (parts["load"] + parts["setup"]) / max(estimate["finetune"], 1e-9)
    report(progress, mined, f"fine-tuning plan: {plan.why}")

    vectors, commit_vectors = None, None
    with ws.atomic_dir(target) as tmp:
        stats, trained_model = train_encoder(base, pairs, tmp, params=params, epochs=plan.epochs,
                                             load_share=load_share,
                                             progress=sub_progress(progress, mined, trained))
        learn_from_training(stats, plan, speed)
        # stopped_early: the time budget cut training short, by the plan (fewer pairs or epochs
        # than asked for) or by the trainer's safety net (stopped_by_timer)
        stats = {**stats, "stopped_by_timer": stats["stopped_early"],
                 "stopped_early": stats["stopped_early"] or plan.limited}
        meta = {"dataset": name, "data_version": version, "tag": target.name,
                "model_id": uuid.uuid4().hex,
                "cut": None if parse_cut(cut) is None else parse_cut(cut).date().isoformat(),
                "base": str(base), "base_key": model_key(base), "params": asdict(params),
                "pairs": len(pairs), "train_orders": n_orders, **stats,
                "plan": plan.as_dict(), "estimate": estimate, "speed": speed.as_dict()}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        if texts is not None:
            vectors, commit_vectors = encode_items_pending(
                ws, name, texts, model=tmp, st_model=trained_model,
                key=encoder_key(target.name, meta["model_id"]),  # == model_key(target) once renamed
                progress=sub_progress(progress, trained, _SAVING))
        report(progress, _SAVING, "saving the fine-tuned model")
        check_version(ws, name, version, doing="the text model was being fine-tuned",
                      again="fine-tune it again")
    if commit_vectors is not None:
        commit_vectors()
    _remove_stale(target.parent, version)
    seconds = round(time.perf_counter() - t0, 2)
    ws.record_run(name, "finetune", params={**asdict(params), "cut": meta["cut"],
                                            "tag": target.name, "base": str(base)},
                  seconds=seconds, metrics={**{k: meta[k] for k in (
                      "pairs", "steps", "loss", "stopped_early", "train_orders")},
                      "plan": plan.why, "predicted_seconds": round(done + estimate["total"], 2)},
                  artifact=str(target))
    report(progress, 1.0, f"fine-tuned on {len(pairs):,} pairs in {seconds:.0f}s")
    return FinetuneResult(target, False, seconds, len(pairs), stats["steps"], stats["loss"],
                          stats["stopped_early"], target.name, vectors, plan.why, plan.as_dict())


def _finetune_adapter(ws: Workspace, name: str, base: Path, target: Path, pairs: pd.DataFrame,
                      n_orders: int, *, params: FinetuneParams, catalog: pd.Series,
                      texts: pd.Series | None, version: int, cut: object, t0: float,
                      progress: Progress | None) -> FinetuneResult:
    from core.text.adapter import finetune_adapter

    ts = parse_cut(cut)
    plan, stats, meta, vectors = finetune_adapter(
        ws, name, base, target, pairs, n_orders, params=params, catalog=catalog, texts=texts,
        version=version,
        cut_iso=None if ts is None else ts.date().isoformat(), progress=progress)
    _remove_stale(target.parent, version)
    result = FinetuneResult(target, False, round(time.perf_counter() - t0, 2), len(pairs),
                            stats["steps"], stats["loss"], stats["stopped_early"], target.name,
                            vectors, plan.why, plan.as_dict())
    ws.record_run(name, "finetune", params={**asdict(params), "cut": meta["cut"],
                                            "tag": target.name, "base": str(base)},
                  seconds=result.seconds, metrics={**{k: meta[k] for k in (
                      "pairs", "steps", "loss", "stopped_early", "train_orders")},
                      "plan": result.why, "adapter": True}, artifact=str(target))
    report(progress, 1.0, f"fine-tuned an adapter on {len(pairs):,} pairs in "
                          f"{result.seconds:.0f}s")
    return result


def training_pairs(ws: Workspace, name: str, items: pd.DataFrame, *, cut: object,
                   params: FinetuneParams, train_lines: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, int]:
    """The co-purchase pairs fine-tuning learns from (``core.text.pairs.mine_pairs`` on the
    training orders: before ``cut``, or ``train_lines``) and the number of training orders."""
    if train_lines is None:
        train_lines = lines_before(ws.lines(name, columns=["order_id", "item_id", "timestamp"]),
                                   cut)
    baskets = build_baskets(train_lines, item_ids=items["item_id"].astype(str).tolist())
    pairs = mine_pairs(baskets, item_texts(items), min_cocount=params.min_cocount,
                       min_pmi=params.min_pmi, per_item_cap=params.per_item_cap,
                       max_pairs=params.max_pairs, rank_by=params.pair_rank, seed=params.seed,
                       names=item_texts(items, with_category=False),
                       co=stored_cooccurrence(ws, name, baskets))
    return pairs, baskets.n_orders


def _remove_stale(models_dir: Path, version: int) -> None:
    """Drop encoders trained on an older version of the dataset (they can never be reused)."""
    for d in models_dir.glob("encoder-*"):
        meta = read_meta(d)
        if meta is not None and meta.get("data_version") != version:
            shutil.rmtree(d, ignore_errors=True)


def encoders(ws: Workspace, dataset: str | None = None) -> pd.DataFrame:
    """Finished encoders of a dataset, newest first. Columns: path, tag, cut, pairs, steps, loss,
    stopped_early, data_version, adapter (an adapter on the multilingual engine), base_key (the
    ``model_key`` of the model it started from), trained_at."""
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
                     "adapter": bool(meta.get("adapter")), "base_key": meta.get("base_key"),
                     "trained_at": pd.Timestamp((d / META_FILE).stat().st_mtime, unit="s")})
    cols = ["path", "tag", "cut", "pairs", "steps", "loss", "stopped_early", "data_version",
            "adapter", "base_key", "trained_at"]
    return pd.DataFrame(rows, columns=cols).sort_values("trained_at", ascending=False,
                                                        ignore_index=True)
