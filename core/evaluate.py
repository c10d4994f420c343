"""Held-out evaluation (DESIGN §6): every model scored here is trained on orders before the cut
only (or reuses models trained with the same cut), then scored on orders from the cut on.

``evaluate`` builds the temporal split once and runs each registered block. A block is a function
``block(ctx: EvalContext, progress) -> dict`` returning its part of the JSON of DESIGN §7
(``bundles``, ``recommender``, ``embeddings``). Blocks not built yet are absent, never faked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from .baskets import Split, temporal_split
from .errors import Progress, report, sub_progress
from .workspace import Workspace


@dataclass
class EvalContext:
    """What every block gets: the workspace, dataset, split, all known items (text included),
    the list size N for bundle metrics, and a scratch dict blocks may share results through."""

    ws: Workspace
    dataset: str
    split: Split
    items: pd.DataFrame
    top: int = 50
    options: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)


Block = Callable[[EvalContext, Progress | None], dict]

# (name, import path "module:function"); later stages add theirs. Imported lazily so that a
# light command never loads torch.
BLOCKS: list[tuple[str, str]] = [
    ("embeddings", "core.eval_embeddings:embeddings_block"),
    ("bundles", "core.eval_bundles:bundles_block"),
    ("recommender", "core.eval_recommender:recommender_block"),
]


def _load(path: str) -> Block:
    import importlib

    module, func = path.split(":")
    return getattr(importlib.import_module(module), func)


def evaluate(ws: Workspace, dataset: str | None = None, *, cut: str | None = None, top: int = 50,
             blocks: list[str] | None = None, options: dict | None = None,
             progress: Progress | None = None) -> dict:
    """Run the evaluation blocks. Returns ``{"cut": DATE|None, "seconds": s, <block>: {...}}``
    and records it as an ``evaluate`` run."""
    t0 = time.perf_counter()
    name = ws.resolve(dataset)
    lines = ws.lines(name)
    split = temporal_split(lines, cut)
    ctx = EvalContext(ws, name, split, ws.items(name), top=top, options=dict(options or {}))
    chosen = [(n, p) for n, p in BLOCKS if blocks is None or n in blocks]
    out: dict[str, Any] = {"cut": split.cut.date().isoformat() if split.cut is not None else None}
    for i, (block_name, path) in enumerate(chosen):
        report(progress, i / max(1, len(chosen)), f"evaluating {block_name}")
        out[block_name] = _load(path)(ctx, sub_progress(progress, i / len(chosen),
                                                        (i + 1) / len(chosen)))
    report(progress, 1.0, "evaluation done")
    out["seconds"] = round(time.perf_counter() - t0, 2)
    ws.record_run(name, "evaluate", params={"cut": out["cut"], "top": top, "blocks": blocks},
                  seconds=out["seconds"], metrics=out)
    return out
