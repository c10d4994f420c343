"""The ranking metrics, re-exported from ``core.metrics`` (shared: the evaluation's blocks and
the recommender's own choice of method, ``core.recommend.choose``, score with the same
functions)."""

from core.metrics import (capped_recall_at_k, hit_at_k, ndcg_at_k, reciprocal_rank,
                          recall_at_k)

__all__ = ["capped_recall_at_k", "hit_at_k", "ndcg_at_k", "reciprocal_rank", "recall_at_k"]
