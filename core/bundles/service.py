"""The bundle service: one way from a workspace dataset to a bundle list, used by the Bundles
page, ``python -m core bundles`` / ``run`` and the held-out evaluation alike.

``build_for_dataset`` reads the training orders (all orders, orders before ``cut``, or the
training side of a held-out split), gathers the inputs (``dataset_inputs``: baskets, text vectors,
the recommender), builds the list (``core.bundles.build.build_bundles``), stores it (optional,
``core.bundles.lists``) and records a ``bundles`` run. A caller that builds several lists on the
same inputs (the page on every settings change, the evaluation for each strategy) passes a
``cache``: the heavy inputs are then gathered once per dataset version and setting.

The dataset may be re-loaded (another process, another page) while a list is built: everything
is read at one version, checked between stages and once more when the list is saved; a change
raises ``DatasetChanged`` and nothing is saved or recorded.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Hashable, MutableMapping

from core.baskets import Split, lines_before, parse_cut
from core.bundles.build import build_bundles
from core.bundles.candidates import BundleInputs
from core.bundles.inputs import prepare_inputs
from core.bundles.lists import save_list
from core.bundles.params import AGAIN, BUILDING, BundleParams, BundleResult
from core.errors import BundleLabError, DatasetChanged, check_version
from core.progress import Progress, report, sub_progress
from core.workspace import Workspace

InputsCache = MutableMapping[Hashable, BundleInputs]


def _cache_key(ws: Workspace, name: str, version: int, text: bool, cut: Any,
               holdout: Split | None, finetune_params: Any, model: str | None) -> tuple:
    where = (("holdout", str(holdout.cut), len(holdout.train)) if holdout is not None
             else ("cut", str(parse_cut(cut))))
    return (str(ws.root), name, version, bool(text), where, repr(finetune_params), model)


def predict_inputs_seconds(ws: Workspace, name: str) -> float:
    """Seconds to gather a dataset's bundle inputs from stored models (reading the lines,
    building the baskets): about 2 s for UCI Online Retail's 530k kept lines on 2 cores."""
    rows = int(ws.info(name).get("rows_kept") or 0)
    return 0.5 + rows / 350_000


def forget_inputs(cache: InputsCache, ws: Workspace, name: str) -> None:
    """Drop every cached input of dataset ``name`` (they were gathered before a model they use
    was trained)."""
    for key in [k for k in list(cache) if isinstance(k, tuple) and k[:2] == (str(ws.root), name)]:
        cache.pop(key, None)


def dataset_inputs(ws: Workspace, dataset: str | None = None, *, text: bool = True,
                   cut: Any = None, holdout: Split | None = None, finetune_params: Any = None,
                   model: str | None = None, cache: InputsCache | None = None,
                   recommender: bool = True,
                   progress: Progress | None = None) -> tuple[BundleInputs, int]:
    """The bundle inputs of ``dataset`` and the dataset version they were read at.

    Training orders: all orders, those before ``cut``, or ``holdout.train`` (the held-out
    evaluation's split: the text model is the one fine-tuned on exactly that side). ``text``:
    gather text vectors (False: rules and recommender only). ``cache``: inputs found there for the
    same dataset version and settings are reused, new ones are put there. ``recommender``:
    attach the recommender saved for these orders (False: none; a file-order holdout never has
    one of its own)."""
    if holdout is not None and cut is not None:
        raise ValueError("give either cut or holdout, not both")
    name = ws.resolve(dataset)
    version = ws.info(name)["version"]
    key = (*_cache_key(ws, name, version, text, cut, holdout, finetune_params, model),
           recommender)
    if cache is not None and key in cache:
        report(progress, 1.0, "inputs ready")
        return cache[key], version
    try:
        if holdout is not None:
            from core.text import holdout_tag

            train, cut_for_models = holdout.train, holdout.cut
            tag = None if holdout.cut is not None else holdout_tag(holdout.train)
            # recommenders are kept by cut date: a file-order side has none of its own (the
            # all-orders model saw its test orders), and a caller may ask for none
            recommender = recommender and holdout.cut is not None
        else:
            lines = ws.lines(name)
            if lines.empty:
                raise BundleLabError(f"dataset {name} has no order lines left after cleaning")
            train, cut_for_models, tag = lines_before(lines, cut), cut, None
        items = ws.items(name)
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)  # lines and items agree
        inp = prepare_inputs(ws, name, train, items, cut=cut_for_models, train_tag=tag, text=text,
                             finetune_params=finetune_params, model=model, version=version,
                             recommender=recommender, progress=progress)
    except DatasetChanged:
        # a stage inside (fine-tuning, training) noticed first: say it in this command's words
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)
        raise
    if cache is not None:
        cache[key] = inp
    return inp, version


def build_for_dataset(ws: Workspace, dataset: str | None = None,
                      params: BundleParams | None = None, *, cut: Any = None,
                      holdout: Split | None = None, progress: Progress | None = None,
                      record: bool = True, save: bool = True, label: str | None = None,
                      cache: InputsCache | None = None, finetune_params: Any = None,
                      model: str | None = None) -> BundleResult:
    """Build a bundle list of ``dataset`` with ``params`` on all orders, on orders before
    ``cut``, or on ``holdout.train`` (see ``dataset_inputs``).

    ``save``: store the list (``result.list_id``; ``label`` names it); ``record``: record a
    ``bundles`` run (settings, seconds, bundles, candidates; the list as its artifact).
    ``cache``: reuse the heavy inputs across calls (see ``dataset_inputs``)."""
    t0 = time.perf_counter()
    name = ws.resolve(dataset)
    params = params or BundleParams()
    inp, version = dataset_inputs(ws, name, text=params.text, cut=cut, holdout=holdout,
                                  finetune_params=finetune_params, model=model, cache=cache,
                                  progress=sub_progress(progress, 0.0, 0.7))
    where = holdout.cut if holdout is not None else cut
    try:
        result = build_bundles(inp, params, progress=sub_progress(progress, 0.7, 1.0))
        result.seconds = round(time.perf_counter() - t0, 3)
        if save:
            result.list_id = save_list(ws, name, result, cut=where, label=label, version=version)
        else:
            check_version(ws, name, version, doing=BUILDING, again=AGAIN)
    except DatasetChanged:
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)
        raise
    if record:
        ws.record_run(name, "bundles", params={**asdict(params), "cut": str(where) if where
                                               else None},
                      seconds=result.seconds, metrics={"bundles": len(result.bundles),
                                                       "candidates": result.candidates},
                      artifact=result.list_id)
    return result
