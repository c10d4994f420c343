"""The estimator contract every recommender follows (docs/ARCHITECTURE.md §5, scikit-learn /
implicit style): hyperparameters in ``__init__``, ``fit(history, ...) -> self``, learned state in
attributes ending in ``_``, ``recommend(users, k) -> (ids, scores)``, ``save(dir)`` (loaded back
by ``core.recommend.registry.load_recommender``, which knows every method by name).

Subclasses implement ``_fit(history, item_text_vectors, progress)`` and
``score(batch) -> (n_users, n_items) float`` (higher = better); the top-k selection, the user
lookup and the persistence live here once.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import BundleLabError, ModelNotTrained
from core.progress import Progress, report
from core.recommend.history import PurchaseHistory, UserBatch, save_history
from core.topk import top_k

Users = Sequence[str] | Sequence[Sequence[Sequence[str]]] | UserBatch


class Recommender:
    """Base class. ``name`` is the method's key in evaluations and saved models."""

    name = "base"

    @classmethod
    def _param_names(cls) -> list[str]:
        """The hyperparameters: the names of ``__init__``'s parameters (scikit-learn style)."""
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The current hyperparameters, read from the attributes of ``__init__``'s parameter
        names, so a setting changed after construction is reported (and saved) as it is now."""
        return {name: getattr(self, name) for name in self._param_names()}

    def _set_params(self, **params: Any) -> None:
        """Store hyperparameters as attributes of the same names (called by ``__init__``)."""
        for key, value in params.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ fitting
    def fit(self, history: PurchaseHistory, *, item_text_vectors: np.ndarray | None = None,
            progress: Progress | None = None) -> "Recommender":
        """Learn from ``history`` (training-period orders). ``item_text_vectors`` (n_items, dim),
        aligned to ``history.item_ids``, is used by models that read item text (others ignore
        it). Returns self."""
        if item_text_vectors is not None and len(item_text_vectors) != history.n_items:
            raise BundleLabError(
                f"item_text_vectors has {len(item_text_vectors)} rows but the item index has "
                f"{history.n_items} items: align the vectors to history.item_ids")
        self._fit(history, item_text_vectors, progress)
        self.history_ = history
        report(progress, 1.0, f"{self.name} trained")
        return self

    def _fit(self, history: PurchaseHistory, item_text_vectors: np.ndarray | None,
             progress: Progress | None) -> None:
        raise NotImplementedError

    def score(self, batch: UserBatch) -> np.ndarray:
        """(len(batch), n_items) scores; higher is better."""
        raise NotImplementedError

    def score_items(self, batch: UserBatch, cols: np.ndarray | None) -> np.ndarray:
        """``score(batch)[:, cols]`` (None: every item); models that can score a few items
        without the whole catalog override it."""
        s = self.score(batch)
        return s if cols is None else np.asarray(s)[:, np.asarray(cols, dtype=np.int64)]

    # ------------------------------------------------------------------ recommending
    def _check_fitted(self) -> PurchaseHistory:
        h = getattr(self, "history_", None)
        if h is None:
            raise ModelNotTrained(f"the {self.name} recommender is not trained yet: call fit() "
                                  "or train it with `python -m core recommend`")
        return h

    def as_batch(self, users: Users) -> UserBatch:
        """Customer ids (known customers) or histories (lists of baskets of item ids) as a batch."""
        h = self._check_fitted()
        if isinstance(users, UserBatch):
            return users
        users = list(users)
        if users and not isinstance(users[0], (str, int, np.integer, np.str_)):
            return h.batch_from_baskets(users)
        return h.batch([str(u) for u in users])

    def recommend(self, users: Users, k: int = 10, *,
                  exclude: Sequence[Sequence[str]] | None = None,
                  batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items per user. ``users``: customer ids known to the fitted history, or
        histories (each a list of baskets, a basket a list of item ids, oldest first), or a
        ``UserBatch``. ``exclude``: per user, item ids never to recommend (e.g. the basket being
        completed). Returns ``(ids, scores)``, both shaped (n_users, min(k, n_items)), best first;
        ids are item ids (object array), ``None`` where fewer than k items were allowed.
        ``batch_size``: users scored at once (default: up to 512, fewer for a large catalog so
        the scores stay around 128 MB)."""
        h = self._check_fitted()
        batch_size = batch_size or int(min(512, max(32, 2**24 // max(h.n_items, 1))))
        batch = self.as_batch(users)
        k = max(0, min(int(k), h.n_items))
        index = h.item_index()
        out_ids = np.empty((len(batch), k), dtype=object)
        out_scores = np.full((len(batch), k), -np.inf)
        for start in range(0, len(batch), batch_size):
            stop = min(len(batch), start + batch_size)
            sub = _slice(batch, start, stop)
            s = np.asarray(self.score(sub), dtype=np.float64)
            if exclude is not None:
                for b in range(start, stop):
                    cols = [index[i] for i in exclude[b] if i in index]
                    s[b - start, cols] = -np.inf
            top = top_k(s, k)
            out_scores[start:stop] = np.take_along_axis(s, top, axis=1)
            out_ids[start:stop] = h.item_ids[top]
        out_ids[~np.isfinite(out_scores)] = None
        return out_ids, out_scores

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (models cheap to refit from the history return {})."""
        return {}

    def _set_state(self, state: dict[str, np.ndarray], history: PurchaseHistory) -> None:
        self._fit(history, None, None)

    def save(self, directory: str | Path) -> None:
        """Write ``config.json`` (method and hyperparameters), the history
        (``history.safetensors`` + ``history.json``) and the learned weights
        (``weights.safetensors``) into ``directory`` (use ``ws.atomic_dir``)."""
        from safetensors.numpy import save_file

        h = self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps({"name": self.name,
                                                   "params": self.get_params()}, indent=1))
        save_history(h, d)
        state = {k: np.ascontiguousarray(v) for k, v in self._state().items()}
        if state:
            save_file(state, str(d / "weights.safetensors"))


def _slice(batch: UserBatch, start: int, stop: int) -> UserBatch:
    a, b = batch.ptr[start], batch.ptr[stop]
    users = None if batch.users is None else batch.users[start:stop]
    return UserBatch(batch.orders[a:b], batch.ptr[start:stop + 1] - a, batch.order_time[a:b],
                     users)
