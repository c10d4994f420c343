"""The skip the Spark engine's tests share: where Spark cannot run (no Java or pyspark). Their
``local[2]`` session is the ``spark`` fixture of ``tests/core/conftest.py``."""

from __future__ import annotations

import pytest

from core.engines.spark.session import spark_available

needs_spark = pytest.mark.skipif(spark_available() is not None,
                                 reason=f"Spark cannot run here: {spark_available()}")
