"""Ranking metrics as pure functions (docs/ARCHITECTURE.md §6). Each takes a ranked list of
predicted ids and a set of relevant ids for ONE query; callers average over queries.

Definitions:
- ``recall_at_k`` = hits in the top k / |relevant| (uncapped; the recommender protocol);
- ``capped_recall_at_k`` = hits in the top k / min(k, |relevant|) (the embeddings protocol);
- ``ndcg_at_k``: binary gains, DCG = sum 1/log2(rank+1), ideal DCG over min(k, |relevant|);
- ``hit_at_k``: 1.0 when at least one of the top k is relevant;
- ``reciprocal_rank``: 1/rank of the first relevant prediction (0.0 when none; all ranks, not
  only the top k, unless ``k`` is given).
Empty ``relevant`` gives 0.0 everywhere (callers skip such queries).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence


def _hits(predicted: Sequence, relevant: set, k: int) -> list[int]:
    return [1 if p in relevant else 0 for p in list(predicted)[:k]]


def recall_at_k(predicted: Sequence, relevant: Iterable, k: int = 10) -> float:
    rel = set(relevant)
    return sum(_hits(predicted, rel, k)) / len(rel) if rel else 0.0


def capped_recall_at_k(predicted: Sequence, relevant: Iterable, k: int = 10) -> float:
    rel = set(relevant)
    return sum(_hits(predicted, rel, k)) / min(k, len(rel)) if rel else 0.0


def hit_at_k(predicted: Sequence, relevant: Iterable, k: int = 10) -> float:
    rel = set(relevant)
    return 1.0 if rel and any(_hits(predicted, rel, k)) else 0.0


def ndcg_at_k(predicted: Sequence, relevant: Iterable, k: int = 10) -> float:
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(_hits(predicted, rel, k)))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(rel))))
    return dcg / idcg


def reciprocal_rank(predicted: Sequence, relevant: Iterable, k: int | None = None) -> float:
    rel = set(relevant)
    for i, p in enumerate(predicted if k is None else list(predicted)[:k]):
        if p in rel:
            return 1.0 / (i + 1)
    return 0.0
