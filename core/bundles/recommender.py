"""The trained recommender as bundle inputs: item-item affinity (recommender candidates and the
``w_rec`` part of the hybrid score) and every customer's scores of a bundle's items (the target
customers). An adapter over ``core.recommend.store``; without a saved recommender for the cut the
inputs say so in a note and both stay empty."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.bundles.candidates import BundleInputs
from core.errors import ModelNotTrained
from core.workspace import Workspace


def attach_recommender(ws: Workspace, name: str, inp: BundleInputs, cut: Any) -> None:
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
        wanted = to_model[cols][known]
        # score only the bundles' items (``score_items``), not the whole catalog: the same numbers
        # (up to float32 rounding) for a fraction of the work and memory: bench/scale_run.py's
        # bundles step went from 94 s and 1.6 GB to 12 s and 0.9 GB
        uniq, back = np.unique(wanted, return_inverse=True)
        step = 512
        for start in range(0, len(customers), step):
            batch = history.batch(customers[start:start + step])
            scores = np.asarray(model.score_items(batch, uniq))
            out[start:start + step, known] = scores[:, back]
        return customers, out

    inp.customer_scores = customer_scores
