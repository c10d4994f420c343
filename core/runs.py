"""Reading the runs a workspace recorded (``Workspace.record_run``): the newest metrics block of
a kind, e.g. the embeddings or recommender part of the latest evaluation. One helper for every
page that shows "the latest evaluation" of one stage."""

from __future__ import annotations

import json

from core.workspace import Workspace


def latest_metrics(ws: Workspace, dataset: str, block: str, *,
                   kind: str = "evaluate") -> tuple[dict, dict] | None:
    """The newest ``kind`` run of ``dataset`` whose metrics hold ``block`` (e.g. "embeddings",
    "recommender"): ``(metrics[block], {"cut", "created_at", "data_version"})``, or None when no
    such run was recorded."""
    for _, run in ws.runs(dataset, kind=kind).iterrows():
        metrics = json.loads(run["metrics"] or "{}")
        if block in metrics:
            return metrics[block], {"cut": metrics.get("cut"), "created_at": run["created_at"],
                                    "data_version": run["data_version"]}
    return None
