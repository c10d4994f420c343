"""Held-out evaluation (docs/ARCHITECTURE.md §6): every model trained on orders before a cut
date, scored on the orders from it on, against baselines.

``evaluate(ws, dataset, cut=..., top=..., blocks=...)`` (``core.evaluate.run``) runs one block
per stage: ``embeddings`` (``core.evaluate.embeddings``), ``bundles`` (``core.evaluate.bundles``)
and ``recommender`` (``core.evaluate.recommender``); the metrics are pure functions in
``core.evaluate.metrics``.
"""

from core.evaluate.run import evaluate

__all__ = ["evaluate"]
