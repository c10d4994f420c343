"""Item vectors for a dataset (docs/ARCHITECTURE.md §5): the text stage put together. Reads the
dataset's items, fine-tunes (or reuses) the co-purchase encoder (``core.text.finetune``) and
encodes every item through the vector cache (``core.text.encoder``). ``item_vectors`` feeds the
recommender, the bundles and the evaluation; ``embed`` is the CLI command; ``LazyItemVectors``
gives the base-model rows of just the items a caller asks for (variant detection).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.progress import Progress
from core.text.encoder import encode_items
from core.text.finetune import finetune
from core.text.language import dataset_model
from core.text.params import FinetuneParams
from core.text.texts import item_texts
from core.workspace import Workspace


def _ids(items: pd.DataFrame) -> np.ndarray:
    return np.asarray(items["item_id"].astype(str).to_numpy(), dtype=object)


def item_vectors(ws: Workspace, dataset: str | None = None, *, cut: str | None = None,
                 finetuned: bool = True, model: str | os.PathLike | None = None,
                 params: FinetuneParams | None = None, train_lines: pd.DataFrame | None = None,
                 train_tag: str | None = None,
                 progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Text vectors for ALL known items of ``dataset`` (every row of ``ws.items``).

    Returns ``(item_ids, vectors)``: an object array of item ids (``ws.items`` order) and an
    L2-normalised float32 array of shape (n_items, dim), row i belonging to item_ids[i].

    ``finetuned=True`` trains (or reuses) the encoder fine-tuned on co-purchases of orders before
    ``cut`` (all orders when None; ``train_lines``/``train_tag`` give the training orders
    explicitly, see ``core.text.finetune.finetune``) starting from ``model`` (None: the
    configured base model) with ``params`` (None: ``core.text.finetune.default_params()``).
    ``finetuned=False`` uses the base model. The callback may raise ``Cancelled``; the workspace
    then stays as it was."""
    name = ws.resolve(dataset)
    items = ws.items(name)
    texts = item_texts(items)
    encoder: Path | None = dataset_model(ws, name, model)
    if finetuned:
        result = finetune(ws, name, cut=cut, model=model, params=params, train_lines=train_lines,
                          train_tag=train_tag, texts=texts, retrain_damaged=False,
                          progress=progress)
        if result.vectors is not None:  # freshly trained: encoded before the model was committed
            return _ids(items), result.vectors
        encoder = result.path
    return _ids(items), encode_items(ws, name, texts, model=encoder, progress=progress)


class LazyItemVectors:
    """Vectors of ``texts`` (one per item, in item order) with the model in directory ``model``
    (None: the base model), encoded only when asked for: ``rows(indices)`` encodes the items not
    seen yet in one batch through the vector cache (``core.text.encoder.encode_items``: identical
    texts are encoded once per model, across runs) and returns their L2-normalised rows.
    ``len()`` is the number of items, as for an array. Safe to share between threads.

    Variant detection reads base-model similarities of the few candidate pairs the word rules
    leave open, so it needs no vector for most items (issue 13: the bundles step used to encode
    every item a second time for it)."""

    def __init__(self, ws: Workspace, dataset: str, texts: pd.Series, *,
                 model: str | os.PathLike | None = None) -> None:
        self.ws, self.dataset, self.texts = ws, dataset, texts
        self.model = dataset_model(ws, dataset, model)  # a bad --model fails before the build
        self._rows: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self.encoded = 0  # items encoded (or read from the cache) on request so far

    def __len__(self) -> int:
        return len(self.texts)

    def rows(self, indices) -> np.ndarray:
        """Rows of the items at ``indices`` (positions), shape (len(indices), dim)."""
        idx = [int(i) for i in np.atleast_1d(np.asarray(indices, dtype=np.int64))]
        with self._lock:
            todo = sorted({i for i in idx if i not in self._rows})
            if todo:
                vecs = encode_items(self.ws, self.dataset, self.texts.iloc[todo],
                                    model=self.model)
                self._rows.update(zip(todo, vecs))
                self.encoded += len(todo)
            if not idx:
                return np.zeros((0, 0), dtype=np.float32)
            return np.stack([self._rows[i] for i in idx])


def embed(ws: Workspace, dataset: str | None = None, *, cut: str | None = None,
          model: str | os.PathLike | None = None, params: FinetuneParams | None = None,
          progress: Progress | None = None) -> dict:
    """The ``embed`` command (docs/ARCHITECTURE.md §7): fine-tune (or reuse) the encoder on
    orders before ``cut`` (all orders when None) and encode every known item with it. Returns
    ``{"dataset", "model" (the fine-tuned model directory), "seconds", "items", "reused", "pairs",
    "steps", "stopped_early", "cut"}``."""
    t0 = time.perf_counter()
    name = ws.resolve(dataset)
    texts = item_texts(ws.items(name))
    result = finetune(ws, name, cut=cut, model=model, params=params, texts=texts,
                      progress=progress)
    if result.vectors is None:
        encode_items(ws, name, texts, model=result.path, progress=progress)
    return {"dataset": name, "model": str(result.path),
            "seconds": round(time.perf_counter() - t0, 2), "items": int(len(texts)),
            "reused": result.reused, "pairs": result.pairs, "steps": result.steps,
            "stopped_early": result.stopped_early,
            "cut": None if cut is None else str(pd.Timestamp(cut).date())}
