"""The recommender methods by name: make one, and load a saved one back.

``REGISTRY`` maps each method's name to where its class lives, as ``"module:Class"`` text; the
module is imported only when that method is made or loaded, so a popularity model never imports
torch (only ``neural`` does). Every class follows the estimator contract of
``core.recommend.base.Recommender``, and its ``name`` is its key here (the name saved models and
evaluations carry).

``OPTIONAL`` methods need more than this package (``als``: pyspark, a Java runtime and a Spark
start of ~4-8 s): they are in ``METHODS`` (``recommend --method als`` trains one, and a saved one
loads without Spark) but not in ``DEFAULT_METHODS``, the evaluation's rows unless more are asked
for (``core.evaluate.recommender``: ``extra_methods``), nor among the automatic choice's
candidates (``core.recommend.choose.CANDIDATES``).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from core.errors import BundleLabError, ModelNotTrained
from core.recommend.base import Recommender
from core.recommend.history import load_history

REGISTRY: dict[str, str] = {
    "popularity": "core.recommend.baselines:Popularity",
    "gp_topfreq": "core.recommend.baselines:GPTopFreq",
    "item_knn": "core.recommend.baselines:ItemKNN",
    "ease": "core.recommend.baselines:EASE",
    "tifu_knn": "core.recommend.tifu:TIFUKNN",
    "neural": "core.recommend.neural:NeuralRecommender",
    "als": "core.recommend.als:ALSRecommender",
}
METHODS: tuple[str, ...] = tuple(REGISTRY)   # the CLI's --method choices, every method by name
OPTIONAL: tuple[str, ...] = ("als",)         # run only when asked for (see the docstring)
# the evaluation's rows by default (optional methods only when asked for)
DEFAULT_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m not in OPTIONAL)


def recommender_class(name: str) -> type[Recommender]:
    """The class of method ``name`` (imports its module on first use)."""
    target = REGISTRY.get(name)
    if target is None:
        raise BundleLabError(f"unknown recommender {name!r}; choose one of {', '.join(METHODS)}")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def check_available(name: str) -> None:
    """Raise ``BundleLabError`` when method ``name`` cannot be trained here (an optional method
    whose software is missing: ``als`` without pyspark or Java), saying what is missing; before
    a long run, so it stops at once rather than after the other methods."""
    cls = recommender_class(name)
    problem = cls.unavailable() if hasattr(cls, "unavailable") else None
    if problem:
        raise BundleLabError(problem)


def make_recommender(name: str, **params: Any) -> Recommender:
    """A new, unfitted recommender of method ``name`` with hyperparameters ``params``."""
    cls = recommender_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise BundleLabError(f"bad setting for the {name} recommender: {exc}") from None


def load_recommender(directory: str | Path) -> Recommender:
    """A recommender written by ``Recommender.save``. Weights are read with safetensors (no
    pickle, nothing executed); baselines are refitted from the saved history (closed forms,
    seconds)."""
    from safetensors.numpy import load_file

    d = Path(directory)
    if not (d / "config.json").exists():
        raise ModelNotTrained(f"no recommender saved in {d}: train one with "
                              "`python -m core recommend`")
    config = json.loads((d / "config.json").read_text())
    model = make_recommender(config["name"], **config.get("params", {}))
    history = load_history(d)
    weights = d / "weights.safetensors"
    state = load_file(str(weights)) if weights.exists() else {}
    model.history_ = history
    model._set_state(state, history)
    return model
