"""Ingest on Spark (``--engine spark``): the same summary, cleaning report, workspace tables and
``rows_read == rows_kept + sum(dropped)`` invariant as ``core.ingest.load.ingest``.

What runs where:

- Spark reads the file (CSV or Parquet, any path Spark can read: a local file, ``hdfs://``,
  ``s3a://``), numbers the lines, finds exact duplicates, carries order-level fields forward and
  parses every value with the DuckDB engine's rules (``core.engines.spark.frames``); the clean
  table (every row, with its drop reason) is written as Parquet under the workspace's
  ``lake/<dataset>/v<version>/`` folder, where the Spark mining reads it back.
- The driver's DuckDB then reads that Parquet and runs the same storing code as the DuckDB
  engine (``core.ingest.store.clean_and_store``): drop counts and examples, the items table,
  warnings, the summary. What crosses to the driver is the clean Parquet (read by DuckDB, out
  of core) and the raw text of the first 5 dropped rows per reason.

Local files are sniffed (encoding, delimiter, Excel, one-basket-per-line files) exactly as the
DuckDB engine does and kept under ``uploads/`` for re-cleaning; a cluster path is read in place
(CSV with a header line, or Parquet) and only its address is recorded.
"""

from __future__ import annotations

import shutil
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from core.engines.spark.frames import clean_frame, read_raw
from core.engines.spark.paths import guarded, spark_path
from core.engines.spark.remote import is_local, remote_inputs
from core.errors import InputError
from core.engines.spark.session import spark_session
from core.files import owned_name
from core.ingest.load import (IngestOptions, _final_sources, _promote, _stage_uploads,
                              default_name, opened)
from core.ingest.rawread import configure
from core.ingest.rawread import read_raw as duck_read_raw
from core.ingest.sniff import sniff
from core.ingest.store import EXAMPLES_PER_REASON, clean_and_store
from core.progress import Progress, report, sub_progress
from core.workspace import Workspace, check_dataset_name


def lake_dir(ws: Workspace, name: str, version: int | None = None) -> Path:
    """``lake/<dataset>`` (or its ``v<version>`` folder): the Spark engine's Parquet tables."""
    d = ws.lake_dir / name
    return d if version is None else d / f"v{int(version)}"


def _examples(spark_clean: Any, raw: Any, n_cols: int) -> list[tuple]:
    """The raw rows (line_no, c0..cN) of the first ``EXAMPLES_PER_REASON`` dropped rows per
    reason: all the report shows of the raw file."""
    from pyspark.sql import Window
    from pyspark.sql import functions as f

    w = Window.partitionBy("reason").orderBy("line_no")
    firsts = (spark_clean.where("reason IS NOT NULL").select("reason", "line_no")
              .withColumn("k", f.row_number().over(w)).where(f.col("k") <= EXAMPLES_PER_REASON)
              .select("line_no"))
    cols = ["line_no"] + [f"c{i}" for i in range(n_cols)]
    return [tuple(r) for r in raw.join(firsts, "line_no").select(*cols).collect()]


def _load_clean(con: Any, folder: Path, examples: list[tuple], n_cols: int) -> None:
    """Temp tables ``clean`` (the Parquet Spark wrote) and ``raw`` (the example rows only)."""
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    con.execute("CREATE TEMP TABLE clean AS SELECT * FROM read_parquet(?) ORDER BY line_no",
                [files])
    cols = ", ".join(f"c{i} VARCHAR" for i in range(n_cols))  # generated names only
    create_sql = f"CREATE TEMP TABLE raw (line_no BIGINT, {cols})"
    con.execute(create_sql)
    if examples:
        insert_sql = f"INSERT INTO raw VALUES ({', '.join('?' for _ in range(n_cols + 1))})"
        con.executemany(insert_sql, [list(r) for r in examples])


def _read_counted(spark: Any, sn: Any, source: str,
                  encoding: str = "UTF-8") -> tuple[Any, int, bool]:
    """The raw table (cached), its rows, and whether a value holds U+FFFD (bytes that were not
    UTF-8, replaced by Spark's reader), counted in one pass."""
    from pyspark.sql import functions as f

    raw = read_raw(spark, sn, source, encoding).cache()
    cols = [f"c{i}" for i in range(len(sn.header))]
    row = raw.agg(f.count(f.lit(1)), f.max(f.concat_ws("", *cols).contains("\ufffd")
                                             .cast("int"))).collect()[0]
    return raw, int(row[0]), bool(row[1])


def _clean_on_spark(spark: Any, ws: Workspace, inp: Any, path: str | Path, local: bool,
                    options: IngestOptions, out: Path) -> tuple[int, list[tuple], str | None]:
    """Read, clean and write the clean table to ``out`` (Parquet); returns (rows read, the raw
    example rows, the timestamp format)."""
    with ExitStack() as stack:
        source = stack.enter_context(spark_path(inp.sn, ws.tmp_dir)) if local else str(path)
        raw, rows_read, replaced = _read_counted(spark, inp.sn, source,
                                                 "UTF-8" if local else inp.sn.encoding)
        if replaced and local and inp.sn.kind == "csv" and inp.sn.encoding.startswith("utf-8"):
            # bytes past the sniffed head that are not UTF-8: sniff the whole file, as the
            # DuckDB engine does, and read its conversion
            raw.unpersist()
            inp.sn = sniff(Path(path), ws.tmp_dir, layout=options.layout, full_scan=True,
                           has_mapping=bool(options.mapping))
            if inp.sn.temp:
                inp.tmp.append(inp.sn.path)
            source = stack.enter_context(spark_path(inp.sn, ws.tmp_dir))
            raw, rows_read, _ = _read_counted(spark, inp.sn, source)
        try:
            if rows_read == 0:
                raise InputError(f"{inp.sn.original.name} has a header "
                                 f"({', '.join(inp.sn.header[:8])}) but no data rows. Export "
                                 "the orders again with the data included.", file=str(path),
                                 columns=inp.sn.header)
            clean, ts_fmt = clean_frame(raw, inp.sn, inp.lines_map, options,
                                        decimal_comma=inp.sn.delimiter != ",")
            clean.write.parquet(out.resolve().as_uri())
            examples = _examples(spark.read.parquet(out.resolve().as_uri()), raw,
                                 len(inp.sn.header))
        finally:
            raw.unpersist()
    return rows_read, examples, ts_fmt


def spark_ingest(ws: Workspace, path: str | Path, *, catalog: str | Path | None = None,
                 dataset: str | None = None, options: IngestOptions | None = None,
                 progress: Progress | None = None, master: str | None = None) -> dict[str, Any]:
    """``core.ingest.load.ingest`` on Spark: read, clean and store order lines as dataset
    ``dataset``; returns the same summary. Nothing in the workspace
    changes unless the whole ingest succeeds."""
    t0 = time.perf_counter()
    options = options or IngestOptions()
    local = is_local(path)
    catalog = Path(catalog) if catalog is not None else None
    name = check_dataset_name(dataset or default_name(str(path).rstrip("/")))
    report(progress, 0.0, f"starting Spark to read {Path(str(path)).name}")
    spark = spark_session(master)
    staging = None
    out = ws.tmp_dir / owned_name("spark-clean-")
    try:
        if local:
            ctx = opened(ws, Path(path), catalog, options, sub_progress(progress, 0.0, 0.1))
        else:
            ctx = remote_inputs(spark, str(path), catalog, options, ws.tmp_dir)
        with guarded(f"reading {Path(str(path)).name}"), ctx as inp:
            report(progress, 0.1, "reading and cleaning the rows on Spark")
            inputs = [Path(path)] + ([catalog] if catalog else []) if local else \
                ([catalog] if catalog else [])
            staging = _stage_uploads(ws, inputs) if inputs else None
            sources = _final_sources(ws, name, inputs, staging) if local else \
                [str(path)] + (_final_sources(ws, name, inputs, staging) if inputs else [])
            rows_read, examples, ts_fmt = _clean_on_spark(spark, ws, inp, path, local, options,
                                                          out)
            report(progress, 0.6, f"storing {rows_read:,} cleaned rows")
            with ws.connect() as con:
                configure(con)
                _load_clean(con, out, examples, len(inp.sn.header))
                cat_rows = duck_read_raw(con, inp.cat_sn, "cat_raw", ws.tmp_dir) \
                    if inp.cat_sn is not None else 0
                summary = clean_and_store(con, name, inp.sn, inp.cat_sn, inp.lines_map,
                                          inp.cat_map, options, rows_read, sources,
                                          sub_progress(progress, 0.6, 0.95),
                                          mapping_notes=inp.detection.notes, cleaned=True,
                                          ts_fmt=ts_fmt)
            summary["catalog_rows"] = cat_rows
        _promote(ws, name, staging)
        staging = None
        version = int(ws.info(name)["version"])
        shutil.rmtree(lake_dir(ws, name), ignore_errors=True)
        lake_dir(ws, name).mkdir(parents=True, exist_ok=True)
        out.rename(lake_dir(ws, name, version))
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    report(progress, 1.0, "done")
    return summary
