"""Bundle inputs from given training lines: training baskets over every known item, fine-tuned
text vectors, base-model vectors for variant detection (encoded on demand, only for the items
that need them), recommender affinity and scores (``core.bundles.recommender``), revenue and
customers per order. Reading the lines from a workspace dataset (all orders, orders before a
cut, or a held-out split's training side) is ``core.bundles.service``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.baskets import build_baskets, order_table
from core.bundles.candidates import BundleInputs
from core.bundles.params import AGAIN, BUILDING
from core.bundles.recommender import attach_recommender
from core.errors import DatasetChanged, ModelNotTrained, check_version
from core.progress import Progress, report, sub_progress
from core.rules.copurchase import stored_pair_counts
from core.workspace import Workspace


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
    dated = "timestamp" in orders and orders["timestamp"].notna().any()
    inp = BundleInputs(b, items, order_revenue=orders["revenue"].fillna(0).to_numpy(),
                       customers=orders["customer_id"].to_numpy() if "customer_id" in orders
                       else None,
                       order_time=pd.to_datetime(orders["timestamp"]).to_numpy() if dated
                       else None,
                       pair_counts=stored_pair_counts(ws, name, b))  # all orders, on Spark
    if text and len(items):
        from core.text import LazyItemVectors, item_texts, item_vectors

        try:
            ids, inp.vectors = item_vectors(ws, name, cut=cut, finetuned=True, model=model,
                                            params=finetune_params, train_lines=train
                                            if train_tag else None, train_tag=train_tag,
                                            progress=sub_progress(progress, 0.0, 1.0))
            # variant detection reads base-model rows of a few candidate items only: encoded
            # when the candidates ask (cached by (model, text)), never every item up front
            inp.base_vectors = LazyItemVectors(ws, name, item_texts(items), model=model)
        except ModelNotTrained as exc:
            inp.notes.append(f"text model not fine-tuned ({exc}); base model vectors used")
            ids, inp.vectors = item_vectors(ws, name, finetuned=False, model=model,
                                            progress=sub_progress(progress, 0.0, 1.0))
            inp.base_vectors = inp.vectors  # the same model: no second encoding
        _same_items(name, items, ids, "text vectors")
        report(progress, 1.0, "text vectors ready (base-model vectors for variant detection: "
                              "encoded when the candidates need them)")
    if recommender:
        attach_recommender(ws, name, inp, cut)
    if version is not None:
        check_version(ws, name, version, doing=BUILDING, again=AGAIN)
    return inp


def _same_items(name: str, items: pd.DataFrame, ids: np.ndarray, what: str) -> None:
    """Vectors are read from the workspace after ``items`` was: their rows must be the same items
    in the same order, or every index into them would point at another item (or past the end)."""
    want = items["item_id"].astype(str).to_numpy()
    if len(ids) != len(want) or not np.array_equal(np.asarray(ids, dtype=str), want.astype(str)):
        raise DatasetChanged(
            f"dataset {name} changed while bundles were being built: the {what} cover "
            f"{len(ids):,} items but {len(want):,} items were read with the orders (the dataset "
            f"was re-loaded meanwhile); nothing was saved: {AGAIN}")
