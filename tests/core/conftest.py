"""Fixtures of the core tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def spark():
    """A Spark ``local[2]`` session for one test module (mark the module ``needs_spark``,
    ``tests/core/spark_fixtures.py``), stopped after it."""
    from core.engines.spark.session import spark_available, spark_session, stop_session

    if spark_available() is not None:
        pytest.skip(f"Spark cannot run here: {spark_available()}")
    session = spark_session("local[2]")
    yield session
    stop_session()
