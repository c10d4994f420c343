"""Next-basket recommenders: what each customer is likely to buy next, and add-ons for a basket.

- ``registry``: the methods by name (``popularity``, ``gp_topfreq``, ``item_knn``, ``ease`` in
  ``baselines``, ``tifu_knn`` in ``tifu``, ``neural`` in ``neural`` + ``net``; ``als`` in ``als``,
  optional: Apache Spark),
  ``make_recommender``, ``load_recommender``;
- ``base``: the estimator contract every method follows; ``history``: purchase histories;
- ``store``: a model in a workspace (train or reuse, load, the bundles stage's affinity);
- ``explain``: recommendations for a customer or a basket, each with a reason.

The names below are resolved on first use, so ``import core.recommend`` loads neither torch nor
any model: only the neural model imports torch.
"""

from __future__ import annotations

from core.lazy import lazy_exports

_EXPORTS = {   # public name -> "module:name", imported on first use
    "METHODS": "core.recommend.registry:METHODS",
    "make_recommender": "core.recommend.registry:make_recommender",
    "load_recommender": "core.recommend.registry:load_recommender",
    "Recommender": "core.recommend.base:Recommender",
    "PurchaseHistory": "core.recommend.history:PurchaseHistory",
    "build_history": "core.recommend.history:build_history",
    "item_index_for": "core.recommend.history:item_index_for",
    "TEXT_SOURCES": "core.recommend.store:TEXT_SOURCES",
    "RecommenderParams": "core.recommend.store:RecommenderParams",
    "TrainedRecommender": "core.recommend.store:TrainedRecommender",
    "train_recommender": "core.recommend.store:train_recommender",
    "load_trained": "core.recommend.store:load_trained",
    "trained_models": "core.recommend.store:trained_models",
    "model_path": "core.recommend.store:model_path",
    "text_vectors_for": "core.recommend.store:text_vectors_for",
    "item_affinity": "core.recommend.store:item_affinity",
    "recommend_for": "core.recommend.explain:recommend_for",
    "complete_basket": "core.recommend.explain:complete_basket",
    "customer_history": "core.recommend.explain:customer_history",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
