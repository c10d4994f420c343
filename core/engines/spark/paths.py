"""Local files handed to Spark, and Spark's failures said in one line.

Spark reads a path as a glob (``sales [2024].csv`` matches nothing), refuses some characters
(``a:b.csv``) and takes the compression from the name (gzip data named ``orders.csv`` would be
read as text). So a local upload is handed to Spark as a hard link (else a copy) under a plain
name in the workspace's ``tmp/`` folder, with the suffix its first bytes call for; a folder of
Parquet part files as a folder of such links, in the part files' name order. The links go when
the ingest ends.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from core.errors import BundleLabError
from core.files import owned_name
from core.ingest.sniff import Sniffed


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(src, dst)


@contextmanager
def spark_path(sn: Sniffed, tmp_dir: Path) -> Iterator[str]:
    """A ``file://`` URI Spark reads the sniffed local file (or Parquet folder) through."""
    from core.ingest.parquet import part_files

    folder = tmp_dir / owned_name("spark-in-")
    folder.mkdir(parents=True)
    try:
        if sn.kind == "parquet" and Path(sn.path).is_dir():
            target = folder / "parts"
            target.mkdir()
            for i, part in enumerate(part_files(Path(sn.path))):
                _link(part, target / f"part-{i:05d}.parquet")
        else:
            suffix = ".parquet" if sn.kind == "parquet" else \
                (".csv.gz" if sn.compression == "gzip" else ".csv")
            target = folder / f"input{suffix}"
            _link(Path(sn.path), target)
        yield target.resolve().as_uri()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def is_spark_error(exc: BaseException) -> bool:
    """An exception raised by Spark or its Java bridge (not by BundleLab's own code)."""
    return type(exc).__module__.split(".")[0] in ("pyspark", "py4j")


def spark_failed(step: str, exc: BaseException) -> BundleLabError:
    """Spark's failure as one sentence: what BundleLab was doing and Spark's first line."""
    text = ""
    try:
        text = str(exc).strip().splitlines()[0][:300]
    except Exception:  # some Py4J errors cannot print themselves
        text = type(exc).__name__
    return BundleLabError(f"Spark could not finish {step}: {text}. Nothing in the workspace "
                          "changed; check the Spark master, the path and the cluster's logs, or "
                          "use --engine duckdb.")


def guarded(step: str) -> Any:
    """A context manager turning Spark's exceptions inside it into ``spark_failed``."""
    @contextmanager
    def block() -> Iterator[None]:
        try:
            yield
        except BundleLabError:
            raise
        except Exception as exc:
            if is_spark_error(exc):
                raise spark_failed(step, exc) from None
            raise
    return block()
