"""The recommender in a workspace: train (or reuse) and save a model per dataset and cut, recommend
for a customer, complete a basket, each recommended item with a short reason.

Models live in ``models/<dataset>/recommender/<cut or "all">/`` (written atomically), reused for
the same parameters, data version and cut. No cut: all orders; a cut: orders before it only.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from core.baskets import lines_before, parse_cut
from core.errors import BundleLabError, ModelDamaged, ModelNotTrained, check_version
from core.progress import Progress, report, sub_progress
from core.recommend.base import Recommender
from core.recommend.history import PurchaseHistory, build_history, item_index_for
from core.recommend.pace import memory_key, shares
from core.recommend.registry import METHODS, load_recommender, make_recommender
from core.workspace import Workspace

TEXT_SOURCES = ("finetuned", "base", "none")
HISTORY_COLUMNS = ["order_id", "item_id", "customer_id", "timestamp"]


@dataclass(frozen=True)
class RecommenderParams:
    """``method``: ``auto`` (default: the best of ``core.recommend.choose.CANDIDATES`` on a
    validation window inside the training period, refitted on all of it; issue 14) or one of
    ``core.recommend.registry.METHODS`` (that method, no choice: ``neural`` was the default
    before, the best in the held-out comparison on UCI Online Retail, bench/recommender.py);
    ``text``: the neural model's item text vectors, ``finetuned`` (on the same orders), ``base``
    or ``none``; the rest are the neural model's settings."""

    method: str = "auto"
    text: str = "finetuned"
    dim: int = 32
    epochs: int = 30
    max_seconds: float = 150.0
    seed: int = 0

    def model_kwargs(self, method: str | None = None) -> dict:
        """Hyperparameters of ``method`` (default: ``self.method``): the neural settings, else
        those the choice fits it with (``choose.CHOICE_PARAMS``: EASE on <= 5,000 items)."""
        method = method or self.method
        if method != "neural":
            from core.recommend.choose import CHOICE_PARAMS
            return dict(CHOICE_PARAMS.get(method, {}))
        return {"dim": self.dim, "epochs": self.epochs, "max_seconds": self.max_seconds,
                "seed": self.seed}

    def __post_init__(self) -> None:
        if self.method != "auto" and self.method not in METHODS:
            raise BundleLabError(f"unknown recommender {self.method!r}; choose auto or one of "
                                 f"{', '.join(METHODS)}")

    def reads_text(self) -> bool:
        """Whether training reads item text vectors (the neural model may be fitted)."""
        return self.method in ("neural", "auto") and self.text != "none"


def _cut_key(cut) -> str:
    ts = parse_cut(cut)
    return "all" if ts is None else ts.date().isoformat()


def model_path(ws: Workspace, dataset: str, cut=None) -> Path:
    """``models/<dataset>/recommender/<cut date or "all">``."""
    return ws.model_dir(dataset, "recommender") / _cut_key(cut)


def text_vectors_for(ws: Workspace, dataset: str, item_ids: Sequence[str], *, cut=None,
                     source: str = "finetuned", train_lines: pd.DataFrame | None = None,
                     train_tag: str | None = None, progress: Progress | None = None
                     ) -> tuple[np.ndarray | None, str]:
    """Item text vectors aligned to ``item_ids`` from ``core.text.vectors`` and the source actually
    used: ``finetuned`` falls back to ``base`` when there are too few co-purchases to fine-tune
    on; items without a vector get a zero row. Returns ``(None, "none")`` for ``source="none"``."""
    if source not in TEXT_SOURCES:
        raise BundleLabError(f"text source {source!r} is not one of {', '.join(TEXT_SOURCES)}")
    if source == "none":
        return None, "none"
    from core.text import item_vectors

    used = source
    try:
        ids, vecs = item_vectors(ws, dataset, cut=cut, finetuned=source == "finetuned",
                                 train_lines=train_lines, train_tag=train_tag, progress=progress)
    except ModelNotTrained:
        ids, vecs = item_vectors(ws, dataset, finetuned=False, progress=progress)
        used = "base"
    return align_vectors(ids, vecs, item_ids), used


def choice_vectors(ws: Workspace, dataset: str, item_ids: Sequence[str],
                   vectors: np.ndarray | None, used: str) -> tuple[np.ndarray | None, str]:
    """The text vectors the method choice gives the neural model: ``vectors``, but base-model
    ones instead of fine-tuned ones, whose encoder saw the validation window (no leak)."""
    if used != "finetuned":
        return vectors, used
    return text_vectors_for(ws, dataset, item_ids, source="base")


def model_setting(method: str, text: object) -> dict[str, str]:
    """``{"method", "text"}`` of a saved recommender, as ``RecommenderParams`` takes them."""
    return {"method": str(method), "text": text if text in TEXT_SOURCES else "none"}


def align_vectors(ids: Sequence[str], vectors: np.ndarray, item_ids: Sequence[str]) -> np.ndarray:
    """Rows of ``vectors`` (ordered by ``ids``) reordered to ``item_ids``; zeros where missing."""
    index = {str(i): r for r, i in enumerate(ids)}
    out = np.zeros((len(item_ids), vectors.shape[1]), dtype=np.float32)
    for r, item in enumerate(item_ids):
        j = index.get(str(item))
        if j is not None:
            out[r] = vectors[j]
    return out


def train_recommender(ws: Workspace, dataset: str | None = None, *, cut=None,
                      params: RecommenderParams | None = None,
                      progress: Progress | None = None) -> dict:
    """Train (or reuse) the recommender of ``dataset`` on orders before ``cut`` (all orders when
    None), save it atomically and record the run. Returns ``{"dataset", "method", "model" (its
    directory), "seconds", "items", "customers", "reused", "text", "val_ndcg@10", "cut",
    "choice"}`` (``choice``: the record of ``core.recommend.choose`` for ``method="auto"``, the
    chosen method in ``method``; None for an explicit method).
    A ``Cancelled`` raised by ``progress`` leaves the workspace as it was."""
    t0 = time.perf_counter()
    params = params or RecommenderParams()
    name = ws.resolve(dataset)
    version = ws.info(name)["version"]
    target = model_path(ws, name, cut)
    key = {"params": asdict(params), "data_version": version, "cut": _cut_key(cut)}
    meta = _read_meta(target)
    if meta is not None and meta.get("key") == key and files_problem(target) is None:
        report(progress, 1.0, "recommender reused")
        return {**meta["summary"], "reused": True, "seconds": round(time.perf_counter() - t0, 2)}
    # else: not trained yet, other settings, or damaged files: (re)train
    # the parts' shares of the progress range: by the seconds predicted for them (pace.shares)
    read_end, text_end, choice_end, fit_end = shares(
        memory_key(ws.root, name, key), params.reads_text(), choice=params.method == "auto")
    report(progress, 0.0, "reading orders")
    # only the columns a history reads: quantities and prices of 1.5 million lines are ~100 MB
    train = lines_before(ws.lines(name, columns=HISTORY_COLUMNS), cut)
    items = item_index_for(train, ws.items(name))
    history = build_history(train, item_ids=items)  # first: a shop without customers stops here
    report(progress, read_end, "orders read")
    text, used = None, "none"
    if params.reads_text():
        text, used = text_vectors_for(ws, name, items, cut=parse_cut(cut), source=params.text,
                                      progress=sub_progress(progress, read_end, text_end))
    method, choice, settings = params.method, None, params.model_kwargs()
    if method == "auto":  # issue 14: the best method on a validation window of these orders
        from core.recommend.choose import choose_recommender

        choice_text, choice_used = choice_vectors(ws, name, items, text, used)
        choice = choose_recommender(train, item_ids=items, item_text_vectors=choice_text,
                                    text=choice_used,
                                    params={"neural": params.model_kwargs("neural")},
                                    progress=sub_progress(progress, text_end, choice_end))
        method, settings = choice.method, choice.params
        if method != "neural":  # the plan saved time for a neural refit: a cheaper method's
            # refit is a small share of it, so the bar moves on at once (the time left with it)
            from core.recommend.choose import COST

            choice_end = fit_end - (fit_end - choice_end) * COST.get(method, 1.0) / COST["neural"]
            report(progress, choice_end, f"{method} chosen: refitting it on all orders")
    del train  # the history holds what training needs
    if method != "neural":  # only the neural model reads (and keeps) text vectors
        text, used = None, "none"
    model = make_recommender(method, **settings)
    model.fit(history, item_text_vectors=text,
              progress=sub_progress(progress, choice_end, fit_end))
    summary = {"dataset": name, "method": model.name, "model": str(target),
               "items": int(history.n_items), "customers": int(history.n_customers),
               "text": used, "val_ndcg@10": _round(getattr(model, "val_ndcg_", None)),
               "cut": None if parse_cut(cut) is None else _cut_key(cut),
               "choice": None if choice is None else choice.record}
    report(progress, fit_end, "saving the model")  # the last point where Cancelled may stop it
    check_version(ws, name, version, doing="the recommender was being trained",
                  again="train it again")
    with ws.atomic_dir(target) as tmp:
        model.save(tmp)
        if text is not None:
            from safetensors.numpy import save_file

            save_file({"vectors": text.astype(np.float16)}, str(tmp / "text.safetensors"))
        seconds = round(time.perf_counter() - t0, 2)
        summary["seconds"] = seconds
        (tmp / "meta.json").write_text(json.dumps({"key": key, "summary": summary}, indent=1))
    ws.record_run(name, "recommender", params={**asdict(params), "cut": summary["cut"]},
                  seconds=seconds, metrics={"val_ndcg@10": summary["val_ndcg@10"],
                                            "epochs": getattr(model, "epochs_run_", None),
                                            "mix": getattr(model, "mix_", None),
                                            "choice": summary["choice"]},
                  artifact=str(target))
    return {**summary, "reused": False}


def trained_models(ws: Workspace, dataset: str) -> pd.DataFrame:
    """The saved recommenders of ``dataset``, newest first. Columns: cut (None = all orders),
    method, text, customers, items, seconds, val_ndcg, data_version, trained_at, path, choice
    (the record of ``core.recommend.choose`` when the method chose itself, else None)."""
    cols = ["cut", "method", "text", "customers", "items", "seconds", "val_ndcg",
            "data_version", "trained_at", "path", "choice"]
    root = ws.model_dir(dataset, "recommender")
    rows = []
    for meta_file in sorted(root.glob("*/meta.json")) if root.exists() else []:
        meta = _read_meta(meta_file.parent)
        if meta is None:  # damaged: load_trained says so; training again replaces it
            continue
        s = meta["summary"]
        rows.append((s.get("cut"), s["method"], s.get("text"), s["customers"], s["items"],
                     s["seconds"], s.get("val_ndcg@10"), meta["key"]["data_version"],
                     pd.Timestamp(meta_file.stat().st_mtime, unit="s"), str(meta_file.parent),
                     s.get("choice")))
    df = pd.DataFrame(rows, columns=cols)
    # "all orders" stays None (pandas would make it NaN next to a dated cut, and NaN is truthy)
    df["cut"] = df["cut"].astype(object).where(df["cut"].notna(), None)
    return df.sort_values("trained_at", ascending=False).reset_index(drop=True)


def _round(x):
    return None if x is None else round(float(x), 4)


@dataclass
class TrainedRecommender:
    """A loaded model with what reasons need: the history, item names and text vectors."""

    model: Recommender
    history: PurchaseHistory
    names: dict[str, str]
    text: np.ndarray | None
    meta: dict


def load_trained(ws: Workspace, dataset: str | None = None, *, cut=None) -> TrainedRecommender:
    """The saved recommender of ``dataset`` for ``cut`` (all orders when None). Raises
    ``ModelNotTrained`` when there is none yet."""
    name = ws.resolve(dataset)
    path = model_path(ws, name, cut)
    if not (path / "meta.json").exists():
        where = "" if parse_cut(cut) is None else f" with --cut {_cut_key(cut)}"
        raise ModelNotTrained(f"no recommender trained for dataset {name!r}{where} yet: run "
                              f"`python -m core recommend --dataset {name}` or train it on the "
                              "Recommender page")
    problem = files_problem(path)
    if problem is not None:
        raise _damaged(name, path, cut, problem)
    try:
        model = load_recommender(path)
        text = None
        if (path / "text.safetensors").exists():
            from safetensors.numpy import load_file

            text = load_file(str(path / "text.safetensors"))["vectors"].astype(np.float32)
    except Exception as exc:
        # the files' headers were fine: the content does not fit (e.g. weights of another shape)
        if type(exc).__name__ == "SafetensorError" or (
                isinstance(exc, (RuntimeError, KeyError, ValueError)) and _looks_damaged(exc)):
            raise _damaged(name, path, cut, f"{type(exc).__name__}: {exc}") from None
        raise
    meta = _read_meta(path)
    if meta is None:
        raise _damaged(name, path, cut, f"{path / 'meta.json'}: no training summary in it")
    items = ws.items(name)
    names = dict(zip(items["item_id"].astype(str), items["item_name"].fillna(items["item_id"])))
    return TrainedRecommender(model, model.history_, names, text, meta)


_JSON_FILES = ("meta.json", "config.json", "history.json")


def _read_meta(path: Path) -> dict | None:
    """A saved recommender's ``meta.json``, or None when it is missing or unreadable."""
    try:
        meta = json.loads((Path(path) / "meta.json").read_text())
        return meta if isinstance(meta, dict) and "summary" in meta and "key" in meta else None
    except (OSError, ValueError):
        return None


def files_problem(path: Path) -> str | None:
    """``"FILE: what is wrong"`` for the first file of the saved recommender in ``path`` that
    cannot be read (JSON that does not parse, a safetensors file with junk or cut short, the
    history missing), else None. Cheap: reads the JSON files and the safetensors headers."""
    from core.text.encoder import weights_problem

    for name in _JSON_FILES:
        f = Path(path) / name
        try:
            data = json.loads(f.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            return f"{f}: {exc}"
    if not (Path(path) / "history.safetensors").exists():
        return f"{Path(path) / 'history.safetensors'}: missing"
    return weights_problem(path)


def _looks_damaged(exc: BaseException) -> bool:
    low = str(exc).lower()
    return any(s in low for s in ("size mismatch", "missing key", "unexpected key", "shape",
                                  "deserializ", "header"))


def _damaged(name: str, path: Path, cut, problem: str) -> ModelDamaged:
    again = f"python -m core recommend --dataset {name}"
    if parse_cut(cut) is not None:
        again += f" --cut {_cut_key(cut)}"
    return ModelDamaged(f"the saved recommender of dataset {name!r} in {path} is damaged "
                        f"({problem}): train it again ({again}, or the 'Train now' button on the "
                        "Recommender page)")


def item_affinity(ws: Workspace, dataset: str | None, item_ids: Sequence[str], *, cut=None,
                  trained: TrainedRecommender | None = None):
    """For the bundles stage: a function ``affinity(cols) -> (len(cols), len(item_ids))`` giving,
    for each anchor ``item_ids[c]``, the trained recommender's score of every item for a customer
    whose basket holds just the anchor, scaled to [0, 1] per row (items the model does not know:
    0). Raises ``ModelNotTrained`` when no recommender is saved for ``cut``."""
    tr = trained or load_trained(ws, dataset, cut=cut)
    index = tr.history.item_index()
    ids = [str(i) for i in item_ids]
    to_model = np.asarray([index.get(i, -1) for i in ids], dtype=np.int64)
    known = to_model >= 0

    def affinity(cols: np.ndarray) -> np.ndarray:
        cols = np.asarray(cols, dtype=np.int64)
        out = np.zeros((len(cols), len(ids)), dtype=np.float64)
        rows = [r for r, c in enumerate(cols) if known[c]]
        if not rows:
            return out
        batch = tr.history.batch_from_baskets([[[ids[cols[r]]]] for r in rows])
        scores = np.asarray(tr.model.score(batch), dtype=np.float64)[:, to_model[known]]
        lo = scores.min(axis=1, keepdims=True)
        span = np.maximum(scores.max(axis=1, keepdims=True) - lo, 1e-12)
        out[np.ix_(rows, np.flatnonzero(known))] = (scores - lo) / span
        return out

    return affinity
