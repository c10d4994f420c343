"""One Spark session per process, created on first use (``spark_session``).

Settings that make Spark agree with the DuckDB engine and behave on a laptop:

- ``spark.sql.session.timeZone=UTC`` and ``spark.sql.timestampType=TIMESTAMP_NTZ``: timestamps
  are wall-clock times without a zone, as DuckDB's ``TIMESTAMP``; Parquet written by Spark then
  reads back in DuckDB as ``TIMESTAMP``, unshifted;
- ``spark.sql.ansi.enabled=false``: a value that does not parse is NULL (and gets a named drop
  reason), never a failed job;
- no web UI, few shuffle partitions on ``local[...]`` masters, and there only Spark's errors
  in the log (``log4j2.properties``: a CLI user sees BundleLab's progress, not Spark's INFO).

``BUNDLELAB_SPARK_MASTER`` (default ``local[*]``) is the master when none is given. Under
``spark-submit`` (no ``--spark-master``), its ``--master`` and ``--conf`` settings stand: only the
three correctness settings above are added.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

from core.errors import BundleLabError

ENV_MASTER = "BUNDLELAB_SPARK_MASTER"
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")  # local masters: Spark's errors only
DEFAULT_MASTER = "local[*]"
_LOCK = threading.Lock()
_SESSION: Any = None


def spark_available() -> str | None:
    """None when pyspark and a Java runtime are present, else why not (in words)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install pyspark==4.3.0)"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return ("no Java runtime was found (Spark needs Java 17 or later: install "
                "openjdk-17-jre-headless, or set JAVA_HOME)")
    return None


def under_spark_submit() -> bool:
    """Whether ``spark-submit`` started this process (it passes the JVM gateway's port)."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def default_master() -> str:
    return os.environ.get(ENV_MASTER, "").strip() or DEFAULT_MASTER


def spark_session(master: str | None = None) -> Any:
    """The process's Spark session, started on first use with ``master`` (default
    ``$BUNDLELAB_SPARK_MASTER`` or ``local[*]``). Raises ``BundleLabError`` when pyspark or Java
    is missing."""
    global _SESSION
    missing = spark_available()
    if missing:
        raise BundleLabError(f"the Spark engine cannot start: {missing}. Use --engine duckdb "
                             "(the default) meanwhile.")
    with _LOCK:
        if _SESSION is not None and _SESSION.sparkContext._jsc is not None:
            return _SESSION
        from pyspark.sql import SparkSession

        import warnings

        # pyspark 4.3 warns at every start that pandas >= 3 is "not fully supported"; what the
        # engine uses of it (toPandas of small results) is covered by the equality tests
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        builder = (SparkSession.builder.appName("bundlelab")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
                   .config("spark.sql.ansi.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false"))
        submitted = under_spark_submit()
        if submitted and not master and not os.environ.get(ENV_MASTER, "").strip():
            master = "(spark-submit)"  # its --master and --conf stand as they are
        else:
            master = master or default_master()
            builder = builder.master(master).config("spark.ui.enabled", "false")
            if master.startswith("local"):
                quiet = f"-Dlog4j.configurationFile={LOG_CONFIG.as_uri()}"
                builder = (builder.config("spark.driver.extraJavaOptions", quiet)
                           .config("spark.sql.shuffle.partitions", "8")
                           .config("spark.driver.memory", os.environ.get(
                               "BUNDLELAB_SPARK_DRIVER_MEMORY", "4g")))
        try:
            _SESSION = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start: say why, in one line
            raise BundleLabError(f"the Spark engine could not start ({master}): "
                                 f"{str(exc).splitlines()[0][:300]}") from None
        _SESSION.sparkContext.setLogLevel("ERROR")
        return _SESSION


def stop_session() -> None:
    """Stop the process's Spark session (tests, the end of a CLI command)."""
    global _SESSION
    with _LOCK:
        if _SESSION is not None:
            _SESSION.stop()
        _SESSION = None
