"""Ingest on the chosen engine (docs/ARCHITECTURE.md §9): ``core.ingest.load.ingest`` on DuckDB,
or ``core.engines.spark.ingest.spark_ingest`` on Spark, with the same keywords and summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.engines import check_engine
from core.workspace import Workspace


def engine_ingest(engine: str | None, ws: Workspace, path: str | Path, **kwargs: Any) -> dict:
    """Ingest ``path`` into ``ws`` on ``engine`` (``duckdb`` or ``spark``); the keywords of
    ``core.ingest.load.ingest`` (``master=`` as well on Spark, else the session's)."""
    if check_engine(engine) == "spark":
        from core.engines.spark.ingest import spark_ingest

        return spark_ingest(ws, path, **kwargs)
    from core.ingest.load import ingest

    kwargs.pop("master", None)
    return ingest(ws, path, **kwargs)
