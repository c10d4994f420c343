"""Next-basket recommenders: the registry of methods and the item index they share.

Methods (all follow the estimator contract of ``core.recommend.base.Recommender``):
``popularity``, ``gp_topfreq``, ``item_knn``, ``ease`` (``core.recommend.baselines``) and ``neural``
(``core.recommend.neural``). ``make_recommender(name, **params)`` builds one. Workspace-level functions
(train, reuse, recommend for a customer, complete a basket, with reasons) are in
``core.recommend.store`` and re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import BundleLabError
from core.recommend.base import Recommender, load_recommender
from core.recommend.baselines import EASE, GPTopFreq, ItemKNN, Popularity
from core.recommend.history import PurchaseHistory, UserBatch, build_history
from core.recommend.neural import NeuralRecommender

REGISTRY: dict[str, type[Recommender]] = {
    "popularity": Popularity, "gp_topfreq": GPTopFreq, "item_knn": ItemKNN, "ease": EASE,
    "neural": NeuralRecommender,
}
METHODS = list(REGISTRY)
BASELINES = ["popularity", "gp_topfreq", "item_knn", "ease"]


def make_recommender(name: str, **params: Any) -> Recommender:
    """A new, unfitted recommender of method ``name`` with hyperparameters ``params``."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise BundleLabError(f"unknown recommender {name!r}; choose one of {', '.join(METHODS)}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise BundleLabError(f"bad setting for the {name} recommender: {exc}") from None


def item_index_for(train_lines: pd.DataFrame, items: pd.DataFrame | None = None) -> np.ndarray:
    """The one item index every model shares: the items of the training lines plus every item
    known by its text (``items``: the workspace's item table), sorted. Items without training
    orders can only be scored by a model that reads text."""
    ids = set(train_lines["item_id"].astype(str))
    if items is not None and len(items):
        ids |= set(items["item_id"].astype(str))
    return np.asarray(sorted(ids), dtype=object)


from core.recommend.store import (RecommenderParams, TrainedRecommender, load_trained,  # noqa: E402
                            item_affinity, model_path, text_vectors_for,
                            train_recommender, trained_models)
from core.recommend.explain import complete_basket, customer_history, recommend_for  # noqa: E402

__all__ = ["METHODS", "BASELINES", "REGISTRY", "Recommender", "PurchaseHistory", "UserBatch",
           "build_history", "make_recommender", "item_index_for", "load_recommender",
           "RecommenderParams", "TrainedRecommender", "load_trained", "model_path",
           "text_vectors_for", "train_recommender", "trained_models", "complete_basket",
           "customer_history", "recommend_for", "item_affinity"]
