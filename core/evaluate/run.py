"""Held-out evaluation (docs/ARCHITECTURE.md §6): every model scored here is trained on orders
before the cut only (or reuses models trained with the same cut), then scored on orders from the
cut on.

``evaluate`` builds the temporal split once and runs each block of ``BLOCKS``. A block is a
function ``block(ctx: EvalContext, progress) -> dict`` returning its part of the JSON of
docs/ARCHITECTURE.md §7 (``embeddings``, ``bundles``, ``recommender``). Blocks not built yet are
absent, never faked. The registry holds the functions themselves; an entry may also name one as
``"module:function"`` (imported when it runs), for blocks that live outside ``core``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from core.baskets import Split, day, temporal_split
from core.errors import BundleLabError, InputError, ModelNotTrained
from core.evaluate.bundles import bundles_block
from core.evaluate.embeddings import embeddings_block
from core.evaluate.recommender import recommender_block
from core.progress import Progress, report, sub_progress
from core.text import holdout_tag
from core.workspace import Workspace


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

    def training_set(self) -> dict[str, Any]:
        """How a model cache names the training orders: ``{"cut": cut}``, or without dates the
        training lines themselves and the tag of the file-order split."""
        if self.split.cut is not None:
            return {"cut": self.split.cut}
        return {"train_lines": self.split.train, "train_tag": holdout_tag(self.split.train)}


Block = Callable[[EvalContext, Progress | None], dict]

# (name, block) in the order they run: the embeddings block leaves the text vectors in
# ctx.shared for the recommender block.
BLOCKS: list[tuple[str, Block | str]] = [
    ("embeddings", embeddings_block),
    ("bundles", bundles_block),
    ("recommender", recommender_block),
]

# The fewest orders a side of the split may hold: below it there is nothing to learn from or
# nothing to score, and the blocks would fail in their own (less clear) ways.
MIN_ORDERS_EACH_SIDE = 2


@dataclass(frozen=True)
class EvalParams:
    """``top``: bundles per list (N); ``blocks``: the blocks to run (None = all of ``BLOCKS``)."""

    top: int = 50
    blocks: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        names = [n for n, _ in BLOCKS]
        checks = [("top", self.top >= 1),
                  ("blocks", self.blocks is None or all(b in names for b in self.blocks))]
        bad = ", ".join(f"{name}={getattr(self, name)!r}" for name, ok in checks if not ok)
        if bad:
            raise BundleLabError(f"evaluation setting(s) out of range: {bad} (top >= 1, blocks "
                                 f"among {', '.join(names)})")


def check_split_size(split: Split, dataset: str, minimum: int = MIN_ORDERS_EACH_SIDE) -> None:
    """Raise ``BundleLabError`` unless the training and the test side each hold ``minimum``
    orders, saying how many each has and what to do."""
    n_train, n_test = split.train["order_id"].nunique(), split.test["order_id"].nunique()
    if n_train >= minimum and n_test >= minimum:
        return
    if split.cut is not None:
        where = (f"with the cut at {day(split.cut)} dataset {dataset} has {n_train:,} before and "
                 f"{n_test:,} from it on")
        fix = "pick another --cut, or load more order history"
    else:
        where = (f"dataset {dataset} has no dates, so the last 20% of orders in file order are "
                 f"held out: {n_train:,} before and {n_test:,} after")
        fix = "load more order history"
    raise BundleLabError(f"evaluate needs at least {minimum} orders before and {minimum} after "
                         f"the cut; {where} ({n_train + n_test:,} orders in all): {fix}")


def held_out_split(ws: Workspace, name: str, lines: pd.DataFrame, cut: str | None,
                   engine: str = "duckdb") -> Split:
    """``temporal_split`` of ``lines`` (dataset ``name``), on the engine named."""
    if engine != "spark":
        return temporal_split(lines, cut)
    from core.engines.spark.paths import guarded
    from core.engines.spark.session import spark_session
    from core.engines.spark.split import spark_split

    with guarded("the held-out split"):
        return spark_split(spark_session(), ws, name, cut).split(lines)


def _block(entry: Block | str) -> Block:
    if callable(entry):
        return entry
    import importlib

    module, func = entry.split(":")
    return getattr(importlib.import_module(module), func)


def evaluate(ws: Workspace, dataset: str | None = None, *, cut: str | None = None, top: int = 50,
             blocks: list[str] | None = None, options: dict | None = None,
             progress: Progress | None = None, engine: str = "duckdb") -> dict:
    """Run the evaluation blocks (all, or those named in ``blocks``). Returns ``{"cut":
    DATE|None, "seconds": s, <block>: {...}}`` and records it as an ``evaluate`` run.
    ``engine="spark"``: the held-out split is computed on Spark (the same orders)."""
    t0 = time.perf_counter()
    params = EvalParams(top=top, blocks=None if blocks is None else tuple(blocks))
    name = ws.resolve(dataset)
    lines = ws.lines(name)
    n_orders = lines["order_id"].nunique()
    if n_orders < 2 * MIN_ORDERS_EACH_SIDE:
        raise BundleLabError(
            f"evaluate needs at least {MIN_ORDERS_EACH_SIDE} orders before and "
            f"{MIN_ORDERS_EACH_SIDE} after the cut ({2 * MIN_ORDERS_EACH_SIDE} in all); dataset "
            f"{name} has {n_orders} order{'' if n_orders == 1 else 's'}: load more order history")
    split = held_out_split(ws, name, lines, cut, engine)
    check_split_size(split, name)
    ctx = EvalContext(ws, name, split, ws.items(name), top=params.top,
                      options=dict(options or {}))
    chosen = [(n, b) for n, b in BLOCKS if params.blocks is None or n in params.blocks]
    out: dict[str, Any] = {"cut": day(split.cut) if split.cut is not None else None}
    for i, (block_name, entry) in enumerate(chosen):
        report(progress, i / max(1, len(chosen)), f"evaluating {block_name}")
        try:
            out[block_name] = _block(entry)(ctx, sub_progress(progress, i / len(chosen),
                                                              (i + 1) / len(chosen)))
        except BundleLabError as exc:
            _name_block(exc, block_name, [n for n, _ in BLOCKS if n != block_name])
            raise
    report(progress, 1.0, "evaluation done")
    out["seconds"] = round(time.perf_counter() - t0, 2)
    ws.record_run(name, "evaluate", params={"cut": out["cut"], "top": top, "blocks": blocks},
                  seconds=out["seconds"], metrics=out)
    return out


def _name_block(exc: BundleLabError, block: str, others: list[str]) -> None:
    """Prefix ``exc``'s message with the block that failed; where the data is what the block
    lacks (not a disk, lock or workspace problem), say that the other blocks run without it."""
    message = f"evaluate stopped in the {block} block: {exc}"
    if type(exc) in (BundleLabError, InputError, ModelNotTrained) and others:
        message += (f" (the other blocks run without it: "
                    f"{' '.join(f'--only {o}' for o in others)})")
    exc.args = (message,)
