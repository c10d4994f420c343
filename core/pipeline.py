"""The whole pipeline in one call (docs/ARCHITECTURE.md §2): ingest -> mine -> embed ->
recommend -> bundles -> export, as ``python -m core run`` does it.

Each step reports into its slice of the progress bar. Steps that need what the data lacks
(customer ids, enough co-purchases for the text model) are skipped with a note, and bundles
still come out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.bundles.params import BundleParams, BundleResult
from core.bundles.service import build_for_dataset
from core.errors import BundleLabError, ModelNotTrained
from core.export import table_format, write_table
from core.ingest.engines import engine_ingest
from core.ingest.load import IngestOptions
from core.job_steps import isolate_steps, run_step
from core.progress import Progress, report, sub_progress
from core.workspace import Workspace

# The rules step: itemsets of up to 3 items at a support chosen from the shop's size and sparsity
# (``core.rules.defaults``); the Rules page and ``mine`` explore further.
RULES_MAX_LEN = 3


@dataclass
class PipelineResult:
    """``summary``: the JSON of ``python -m core run`` (``bundles, seconds, out, dataset,
    list_id, rules, defaults, notes``; ``defaults``: the size-aware settings chosen for this
    shop and why); ``ingest``: the ingest summary; ``bundles``: the chosen bundles."""

    summary: dict[str, Any]
    ingest: dict[str, Any]
    bundles: BundleResult
    notes: list[str] = field(default_factory=list)


def run_pipeline(ws: Workspace, data: str | Path, *, catalog: str | Path | None = None,
                 dataset: str | None = None, mapping: dict[str, str] | None = None,
                 params: BundleParams | None = None, out: str | Path | None = None,
                 progress: Progress | None = None, engine: str = "duckdb") -> PipelineResult:
    """Ingest ``data`` (with ``catalog`` and the column ``mapping``) as ``dataset``, mine rules,
    train (or reuse) the recommender and the text model, choose bundles with ``params`` (the
    bundle service, ``core.bundles.service``) and write them to ``out`` (.csv, .xlsx or .json)
    when given. ``params.text=False`` skips the text model in every step. ``engine="spark"``:
    ingest, the frequent itemsets and the co-purchase counts run on Spark (``core.engines``);
    the rest reads the same workspace tables and gives the same list."""
    t0 = time.perf_counter()
    if out:
        table_format(out)  # a bad suffix fails before any work
    params = params or BundleParams()
    notes: list[str] = []
    summary = engine_ingest(engine, ws, data, catalog=catalog, dataset=dataset,
                            options=IngestOptions(mapping=dict(mapping or {})),
                            progress=sub_progress(progress, 0.0, 0.1))
    name = summary["dataset"]
    report(progress, 0.1, "mining rules")
    rules = mine_step(ws, name, engine=engine)
    if rules.get("note"):
        notes.append(f"rules: {rules['note']}")
    if engine == "spark":  # the co-purchase counts fine-tuning pairs and bundles read
        report(progress, 0.12, "counting co-purchases on Spark")
        notes.extend(pair_step(ws, name))
    isolated = isolate_steps(ws, name)
    if isolated and params.text:  # its memory goes back to the system before the recommender
        notes.extend(run_step("text", ws, name, sub_progress(progress, 0.15, 0.25),
                              fallback=False))
    if summary["customers"] == 0:
        notes.append("no customer ids: the recommender step and target customers are skipped")
    else:  # the app's background job trains the same recommender (core.job_steps)
        notes.extend(run_step("recommender", ws, name,
                              sub_progress(progress, 0.25 if isolated else 0.15, 0.35),
                              text=params.text))
    try:
        result = build_for_dataset(ws, name, params, progress=sub_progress(progress, 0.35, 0.98))
    except ModelNotTrained as exc:
        notes.append(f"text model skipped: {exc}")
        result = build_for_dataset(ws, name, replace(params, text=False),
                                   progress=sub_progress(progress, 0.35, 0.98))
    written = str(write_table(result.bundles, out, sheet_name="bundles")) if out else None
    notes.extend(n for n in result.notes if n not in notes)
    defaults = {"rules_support": rules.get("support"),
                "bundles_min_orders": {"min_orders": result.params.get("min_orders_used"),
                                       "why": result.params.get("min_orders_why")}}
    report(progress, 1.0, "done")
    return PipelineResult(
        summary={"bundles": len(result.bundles), "seconds": round(time.perf_counter() - t0, 2),
                 "out": written, "dataset": name, "list_id": result.list_id,
                 "rules": rules.get("rules"), "defaults": defaults, "notes": notes},
        ingest=summary, bundles=result, notes=notes)


def pair_step(ws: Workspace, name: str) -> list[str]:
    """Co-purchase counts of all orders on Spark (``core.engines.spark.mining``), kept for the
    text and bundle steps; where Spark fails, a note, and those steps count on this machine."""
    from core.engines.spark.mining import store_pair_counts
    from core.engines.spark.session import spark_session

    import duckdb

    try:
        store_pair_counts(spark_session(), ws, name)
    except (BundleLabError, OSError, duckdb.Error) as exc:  # only ever saves work: go on
        return [f"co-purchase counts on Spark failed ({exc}); counted on this machine instead"]
    return []


def mine_step(ws: Workspace, name: str, engine: str = "duckdb") -> dict:
    """Rules at the size-aware support (``core.rules.mining.mine_auto``): ``{"rules": n,
    "support": what was chosen and why}`` (+ ``"note"`` when the count had to be raised for
    dense baskets), or ``{"rules": 0, "note": why}`` when the data gives none (too little data,
    too many itemsets)."""
    from core.rules.mining import mine_auto

    try:
        res, choice, tried = mine_auto(ws, name, max_len=RULES_MAX_LEN, engine=engine)
    except BundleLabError as exc:
        return {"rules": 0, "note": str(exc)}
    out = {"rules": int(len(res.rules)), "support": choice.as_dict()}
    if tried:
        out["note"] = f"support raised to {choice.why}"
    return out
