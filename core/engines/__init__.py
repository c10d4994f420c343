"""Engines for the heavy data steps (docs/ARCHITECTURE.md §9): ``duckdb`` (the default,
embedded) and ``spark`` (Apache Spark, ``local[*]`` or a cluster).

``ENGINES`` are the names the CLI's ``--engine`` accepts; ``check_engine`` validates one. The
Spark engine lives in ``core.engines.spark`` and imports pyspark only when used, so the default
engine never needs Java or pyspark.
"""

from __future__ import annotations

from core.errors import BundleLabError

ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"


def check_engine(name: str | None) -> str:
    """``name`` (default ``duckdb``) when it is a known engine, else ``BundleLabError``."""
    name = (name or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES:
        raise BundleLabError(f"unknown engine {name!r}: choose duckdb (the default, on this "
                             "machine) or spark (Apache Spark, --spark-master)")
    return name


def start_engine(name: str | None, master: str | None = None) -> str:
    """Check ``name`` and, for Spark, start the process's session on ``master`` now (so a
    missing Java or a wrong master is said before any work). Returns the engine's name."""
    name = check_engine(name)
    if name == "spark":
        from core.engines.spark.session import spark_session

        spark_session(master)
    return name

