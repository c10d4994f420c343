"""Bundles over a workspace dataset: gather the inputs (training baskets over every known item,
fine-tuned and base text vectors, recommender affinity, revenue and customers per order), build
the list, store it versioned in ``bundle_lists`` and record a run."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from core.baskets import build_baskets, order_table, temporal_split
from core.bundles.candidates import BundleInputs
from core.bundles.build import BundleParams, BundleResult, build_bundles
from core.errors import BundleLabError, DatasetChanged, ModelNotTrained, check_version
from core.progress import Progress, report, sub_progress
from core.workspace import Workspace, _now

LISTS_SQL = """CREATE TABLE IF NOT EXISTS bundle_lists (
    list_id VARCHAR PRIMARY KEY, dataset VARCHAR, created_at TIMESTAMP, label VARCHAR,
    params VARCHAR, data_version INTEGER, cut VARCHAR, n_bundles INTEGER, seconds DOUBLE,
    bundles VARCHAR, coverage VARCHAR, notes VARCHAR)"""


def prepare_inputs(ws: Workspace, name: str, train: pd.DataFrame, items: pd.DataFrame, *,
                   cut: Any = None, train_tag: str | None = None, text: bool = True,
                   finetune_params: Any = None, model: str | None = None,
                   recommender: bool = True, version: int | None = None,
                   progress: Progress | None = None) -> BundleInputs:
    """Inputs for ``build_bundles`` from training lines ``train`` (orders before ``cut``, or all
    orders). Text vectors come from the encoder fine-tuned on exactly these orders (trained or
    reused); without co-purchase pairs to fine-tune on, the base model's vectors are used and a
    note says so.

    ``version``: the dataset version ``train`` and ``items`` were read at; when given, a
    ``DatasetChanged`` is raised if the dataset was re-loaded while the inputs were gathered.
    Vectors read from the workspace that do not line up with ``items`` raise it as well."""
    items = items.reset_index(drop=True)
    b = build_baskets(train, item_ids=items["item_id"].astype(str).tolist())
    orders = order_table(train).set_index("order_id").reindex(b.order_ids)
    inp = BundleInputs(b, items, order_revenue=orders["revenue"].fillna(0).to_numpy(),
                       customers=orders["customer_id"].to_numpy() if "customer_id" in orders
                       else None)
    if text and len(items):
        from core.config import finetune_overrides
        from core.text.encoder import item_vectors

        if finetune_params is None and finetune_overrides():
            from core.text.finetune import FinetuneParams

            finetune_params = FinetuneParams(**finetune_overrides())
        try:
            ids, inp.vectors = item_vectors(ws, name, cut=cut, finetuned=True, model=model,
                                            params=finetune_params, train_lines=train
                                            if train_tag else None, train_tag=train_tag,
                                            progress=sub_progress(progress, 0.0, 0.8))
        except ModelNotTrained as exc:
            inp.notes.append(f"text model not fine-tuned ({exc}); base model vectors used")
            ids, inp.vectors = item_vectors(ws, name, finetuned=False, model=model)
        _same_items(name, items, ids, "fine-tuned text vectors")
        report(progress, 0.85, "base-model vectors for variant detection")
        ids, inp.base_vectors = item_vectors(ws, name, finetuned=False, model=model,
                                             progress=sub_progress(progress, 0.85, 1.0))
        _same_items(name, items, ids, "base-model text vectors")
    if recommender:
        _attach_recommender(ws, name, inp, cut)
    if version is not None:
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)
    return inp


BUILDING, AGAIN = "bundles were being built", "run bundles again"


def _same_items(name: str, items: pd.DataFrame, ids: np.ndarray, what: str) -> None:
    """Vectors are read from the workspace after ``items`` was: their rows must be the same items
    in the same order, or every index into them would point at another item (or past the end)."""
    want = items["item_id"].astype(str).to_numpy()
    if len(ids) != len(want) or not np.array_equal(np.asarray(ids, dtype=str), want.astype(str)):
        raise DatasetChanged(
            f"dataset {name} changed while bundles were being built: the {what} cover "
            f"{len(ids):,} items but {len(want):,} items were read with the orders (the dataset "
            f"was re-loaded meanwhile); nothing was saved: {AGAIN}")


def _attach_recommender(ws: Workspace, name: str, inp: BundleInputs, cut: Any) -> None:
    """Recommender affinity (candidates, the w_rec part of the score) and target customers,
    from the recommender saved for this dataset and cut; a note when there is none."""
    from core.recommend.store import item_affinity, load_trained

    try:
        trained = load_trained(ws, name, cut=cut)
    except ModelNotTrained:
        inp.notes.append("no recommender trained for these orders: recommender affinity is not "
                         "used and target customers are those who bought part of a bundle "
                         "(train it on the Recommender page or with `python -m core recommend`)")
        return
    ids = inp.items["item_id"].astype(str).tolist()
    inp.affinity = item_affinity(ws, name, ids, cut=cut, trained=trained)
    history, model = trained.history, trained.model
    index = history.item_index()
    to_model = np.asarray([index.get(i, -1) for i in ids], dtype=np.int64)
    customers = np.asarray(list(history.customer_index()), dtype=object)

    def customer_scores(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = np.asarray(cols, dtype=np.int64)
        out = np.zeros((len(customers), len(cols)), dtype=np.float32)
        known = to_model[cols] >= 0
        step = 512  # a batch scores every item: 512 x a 90k catalog is ~180 MB
        for start in range(0, len(customers), step):
            batch = history.batch(customers[start:start + step])
            scores = np.asarray(model.score(batch))
            out[start:start + step, known] = scores[:, to_model[cols][known]]
        return customers, out

    inp.customer_scores = customer_scores


def make_bundles(ws: Workspace, dataset: str | None = None, *, params: BundleParams | None = None,
                 cut: Any = None, text: bool = True, finetune_params: Any = None,
                 model: str | None = None, save: bool = True, label: str | None = None,
                 progress: Progress | None = None) -> tuple[BundleResult, str | None]:
    """Build a bundle list on all orders (or, with ``cut``, on orders before it) and store it.
    Returns (result, list_id or None when not saved)."""
    t0 = time.perf_counter()
    name = ws.resolve(dataset)
    params = params or BundleParams()
    # The dataset may be re-loaded (another process, another page) while this runs: everything
    # is read at one version, checked between stages and once more in the saving transaction.
    version = ws.info(name)["version"]
    try:
        lines = ws.lines(name)
        if lines.empty:
            raise BundleLabError(f"dataset {name} has no order lines left after cleaning")
        train = temporal_split(lines, cut).train if cut else lines
        items = ws.items(name)
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)  # lines and items agree
        inp = prepare_inputs(ws, name, train, items, cut=cut, text=text,
                             finetune_params=finetune_params, model=model, version=version,
                             progress=sub_progress(progress, 0.0, 0.7))
        result = build_bundles(inp, params, progress=sub_progress(progress, 0.7, 1.0))
        result.seconds = round(time.perf_counter() - t0, 3)
        if save:
            list_id = save_list(ws, name, result, cut=cut, label=label, version=version)
        else:
            check_version(ws, name, version, doing=BUILDING, again=AGAIN)
            list_id = None
    except DatasetChanged:
        # a stage inside (fine-tuning, training) noticed first: say it in this command's words
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)
        raise
    ws.record_run(name, "bundles", params={**asdict(params), "cut": str(cut) if cut else None},
                  seconds=result.seconds, metrics={"bundles": len(result.bundles),
                                                   "candidates": result.candidates},
                  artifact=list_id)
    return result, list_id


def save_list(ws: Workspace, dataset: str, result: BundleResult, *, cut: Any = None,
              label: str | None = None, version: int | None = None) -> str:
    """Store a bundle list (versioned: every save is a new list) and return its id. With
    ``version`` (the dataset version the list was built from) nothing is stored and
    ``DatasetChanged`` is raised when the dataset is at another version now (checked in the
    same transaction as the insert)."""
    list_id = uuid.uuid4().hex[:10]
    if version is None:
        version = ws.info(dataset)["version"]
    with ws.connect() as con:
        con.execute(LISTS_SQL)
        con.begin()
        row = con.execute("SELECT version FROM datasets WHERE name = ?", [dataset]).fetchone()
        changed = row is None or row[0] != version
        if changed:
            con.rollback()
        else:
            con.execute("INSERT INTO bundle_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                list_id, dataset, _now(), label or f"{len(result.bundles)} bundles",
                json.dumps(result.params, default=str), version, str(cut) if cut else None,
                len(result.bundles), result.seconds,
                result.bundles.to_json(orient="records"),
                result.coverage.to_json(orient="records"), json.dumps(result.notes)])
            con.commit()
    if changed:  # outside the connection: the check opens its own
        check_version(ws, dataset, version, doing=BUILDING, again=AGAIN)
        raise DatasetChanged(f"dataset {dataset} changed while bundles were being built; "
                             f"nothing was saved: {AGAIN}")  # pragma: no cover - a race
    return list_id


def bundle_lists(ws: Workspace, dataset: str | None = None) -> pd.DataFrame:
    """Saved lists, newest first: list_id, created_at, label, n_bundles, data_version, cut."""
    name = ws.resolve(dataset)
    with ws.connect() as con:
        con.execute(LISTS_SQL)
        return con.execute("SELECT list_id, created_at, label, n_bundles, data_version, cut "
                           "FROM bundle_lists WHERE dataset = ? ORDER BY created_at DESC",
                           [name]).df()


def load_list(ws: Workspace, list_id: str) -> tuple[pd.DataFrame, dict]:
    """A saved list's bundles table and its params."""
    with ws.connect() as con:
        con.execute(LISTS_SQL)
        row = con.execute("SELECT bundles, params FROM bundle_lists WHERE list_id = ?",
                          [list_id]).fetchone()
    if row is None:
        raise BundleLabError(f"no saved bundle list {list_id!r} in this workspace")
    return pd.read_json(__import__("io").StringIO(row[0]), orient="records"), json.loads(row[1])
