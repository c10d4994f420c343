"""Frequent itemsets and co-purchase counts on Spark, returned in the DuckDB engine's shapes.

- ``lines_path``: the dataset's cleaned lines as Parquet for Spark: the ``lake/`` folder the
  Spark ingest wrote, or a copy the driver's DuckDB writes there once (a dataset loaded with the
  default engine).
- ``spark_itemsets``: with a length cap, exact level-wise counting (``core.engines.spark.levels``);
  without one, ``pyspark.ml.fpm.FPGrowth`` (parallel FP-growth) over the baskets (one
  distinct item set per order; FPGrowth refuses repeated items), its frequent itemsets turned
  into ``core.rules.itemsets.Itemsets``, so that the rules and every mlxtend metric come from
  the counts by the same code (``core.rules.association``) and in the same order as the DuckDB
  engine. The itemset limit (``max_itemsets``) is checked with the DuckDB engine's guard and
  message (before a level is counted where it can be estimated; FPGrowth's output only after).
- ``spark_pair_counts``: orders holding each pair of items (the co-purchase counts that bundle
  candidates and fine-tuning pairs start from), counted by a self-join on the executors;
  ``store_pair_counts`` keeps them with every item's order count in the workspace
  (``core.rules.copurchase``), where the driver's steps read them instead of counting.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd

from core.engines.spark.levels import in_layout, level_itemsets
from core.errors import BundleLabError
from core.rules.copurchase import load_stamp, write_pairs
from core.rules.guard import Guard
from core.rules.itemsets import Itemsets, MiningParams, check_max_len, min_count_for
from core.workspace import Workspace


def lines_path(ws: Workspace, name: str) -> tuple[str, bool]:
    """(a Parquet folder or file with the dataset's lines, whether it holds every row with a
    ``reason`` column: the Spark ingest's clean table) for the current version."""
    from core.engines.spark.ingest import lake_dir

    version = int(ws.info(name)["version"])
    folder = lake_dir(ws, name, version)
    if folder.is_dir():
        return str(folder), True
    # the name says the columns: an export written before ``ts`` was added is not reused
    export = lake_dir(ws, name) / f"v{version}-lines-ts.parquet"
    if not export.exists():
        export.parent.mkdir(parents=True, exist_ok=True)
        tmp = export.with_name(export.name + ".tmp")
        with ws.connect(read_only=True) as con:
            con.execute("COPY (SELECT line_no, order_id, item_id, timestamp AS ts FROM lines "
                        "WHERE dataset = ? ORDER BY line_no) TO ? (FORMAT parquet)",
                        [name, str(tmp)])
        tmp.rename(export)
        (export.parent / f"v{version}-lines.parquet").unlink(missing_ok=True)  # older name
    return str(export), False


def kept_lines(spark: Any, ws: Workspace, name: str,
               columns: tuple[str, ...] = ("order_id", "item_id")) -> Any:
    """The dataset's kept lines as a Spark DataFrame with ``columns`` (of line_no, order_id,
    item_id, ts)."""
    path, has_reason = lines_path(ws, name)
    df = spark.read.parquet(path)
    if has_reason:
        df = df.where("reason IS NULL")
    return df.select(*columns)


def spark_itemsets(spark: Any, lines: Any, *, mining: MiningParams = MiningParams(),
                   partitions: int | None = None,
                   check: Callable[[int, int, int, str], None] | None = None) -> Itemsets:
    """``core.rules.itemsets.frequent_itemsets`` on Spark over ``lines`` (order_id, item_id):
    the same itemsets and counts. Raises ``TooManyItemsets`` past ``mining.max_itemsets``.
    ``check(orders, items, most items in one order, an item id)`` runs before the mining
    (``core.rules.mining.check_minable_counts``)."""
    import time

    from pyspark.sql import functions as f

    t0 = time.perf_counter()
    max_len = check_max_len(mining.max_len)
    baskets = lines.groupBy("order_id").agg(f.collect_set("item_id").alias("items")).cache()
    try:
        row = baskets.agg(f.count(f.lit(1)), f.max(f.size("items"))).collect()[0]
        n, max_size = int(row[0]), int(row[1] or 0)
        counts = (baskets.select(f.explode("items").alias("item_id")).groupBy("item_id")
                  .count().toPandas())
        if check is not None:
            check(n, len(counts), max_size, str(counts["item_id"].min()) if len(counts) else "")
        if n == 0:
            raise BundleLabError("there are no order lines to mine")
        min_count = min_count_for(mining.min_support, n)
        item_ids = np.asarray(sorted(counts["item_id"].astype(str)), dtype=object)
        counts1 = pd.Series(counts["count"].to_numpy(), index=counts["item_id"].astype(str)) \
            .reindex(item_ids).to_numpy(np.int64)
        freq = np.flatnonzero(counts1 >= min_count)
        columns = freq[np.argsort(counts1[freq], kind="stable")]
        sets = {1: np.arange(len(columns), dtype=np.int32)[:, None]}
        cnts = {1: counts1[columns].astype(np.int64)}
        guard = Guard(mining.max_itemsets, float(mining.min_support), min_count, n, max_len)
        guard.done[1] = len(columns)
        guard.check_count(1, 0)
        if len(columns) >= 2 and max_len == 0:  # no cap: FPGrowth
            _fpgrowth(baskets, n, min_count, item_ids, columns, guard, sets, cnts, partitions)
        elif len(columns) >= 2 and max_len > 1:  # a cap: level by level (FPGrowth has none)
            ranks = spark.createDataFrame(
                [(str(item_ids[c]), int(r)) for r, c in enumerate(columns)], "item_id string, r int")
            ranked = (baskets.select("order_id", f.explode("items").alias("item_id"))
                      .join(f.broadcast(ranks), "item_id").select("order_id", "r"))
            level_itemsets(spark, ranked, min_count=min_count, max_len=max_len, guard=guard,
                           sets=sets, cnts=cnts)
    finally:
        baskets.unpersist()
    return Itemsets(item_ids=item_ids, n_orders=int(n), min_count=min_count, max_len=max_len,
                    columns=columns, sets=sets, counts=cnts, seconds=time.perf_counter() - t0)


def _fpgrowth(baskets: Any, n: int, min_count: int, item_ids: np.ndarray, columns: np.ndarray,
              guard: Guard, sets: dict, cnts: dict, partitions: int | None) -> None:
    """Every frequent itemset (no length cap) with ``pyspark.ml.fpm.FPGrowth``."""
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as f

    fp = FPGrowth(itemsCol="items", minSupport=(min_count - 0.5) / n, minConfidence=1.0)
    if partitions:
        fp.setNumPartitions(int(partitions))
    found = fp.fit(baskets).freqItemsets.where(f.size("items") >= 2).cache()
    try:
        per_len = dict(found.groupBy(f.size("items").alias("k")).count().collect())
        for k in sorted(per_len):  # the DuckDB engine's limit and message
            guard.check_count(k, int(per_len[k]))
            guard.done[k] = int(per_len[k])
        rows = found.select("items", "freq").toPandas()
    finally:
        found.unpersist()
    _add_sets(rows, item_ids, columns, sets, cnts)


def _add_sets(rows: pd.DataFrame, item_ids: np.ndarray, columns: np.ndarray,
              sets: dict, cnts: dict) -> None:
    """FPGrowth's (items, freq) rows as rank rows per length: each row ascending, rows in
    lexicographic order (``Itemsets``' layout)."""
    col_of = {item: i for i, item in enumerate(item_ids)}
    rank_of = np.full(len(item_ids), -1, dtype=np.int64)
    rank_of[columns] = np.arange(len(columns))
    if rows.empty:
        return
    lengths = rows["items"].map(len).to_numpy()
    for k in sorted(set(lengths.tolist())):
        part = rows[lengths == k]
        ranks = np.array([[rank_of[col_of[str(i)]] for i in items] for items in part["items"]],
                         dtype=np.int32)
        sets[k], cnts[k] = in_layout(ranks, part["freq"].to_numpy(np.int64))


def spark_pair_counts(lines: Any, *, min_count: int = 1) -> pd.DataFrame:
    """Orders holding both items of each pair, for pairs in at least ``min_count`` orders.
    Columns: item_a, item_b (item_a < item_b), orders; sorted by item_a, item_b."""
    from pyspark.sql import functions as f

    if math.isnan(min_count) or min_count < 1 or int(min_count) != min_count:
        raise BundleLabError(f"min_count must be a whole number >= 1, got {min_count!r}")
    pairs_of = lines.select("order_id", "item_id").distinct()
    a, b = pairs_of.alias("a"), pairs_of.alias("b")
    pairs = (a.join(b, (f.col("a.order_id") == f.col("b.order_id")) &
                    (f.col("a.item_id") < f.col("b.item_id")))
             .groupBy(f.col("a.item_id").alias("item_a"), f.col("b.item_id").alias("item_b"))
             .agg(f.count(f.lit(1)).alias("orders"))
             .where(f.col("orders") >= int(min_count)))
    out = pairs.toPandas()
    return out.sort_values(["item_a", "item_b"], ignore_index=True)


def store_pair_counts(spark: Any, ws: Workspace, name: str) -> dict:
    """Count the co-purchases of all orders of dataset ``name`` on Spark and keep them for the
    driver's steps (``core.rules.copurchase``). Items travel as integer codes: the driver
    receives three integers per pair. Returns ``{"pairs", "items", "seconds", "kept"}``
    (``kept`` False: the dataset was re-loaded meanwhile, nothing kept)."""
    import time

    from pyspark.sql import functions as f
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    from core.engines.spark.paths import guarded

    t0 = time.perf_counter()
    stamp = load_stamp(ws, name)
    with guarded("counting co-purchases"):
        lines = kept_lines(spark, ws, name).distinct().cache()
        try:
            per_item = lines.groupBy("item_id").agg(f.count(f.lit(1)).alias("orders")) \
                .toPandas().sort_values("item_id", ignore_index=True)
            schema = StructType([StructField("item_id", StringType()),
                                 StructField("code", IntegerType())])
            codes = spark.createDataFrame(
                list(zip(per_item["item_id"].astype(str), range(len(per_item)))), schema)
            coded = lines.join(f.broadcast(codes), "item_id") \
                .select("order_id", f.col("code").alias("item_id"))
            pairs = spark_pair_counts(coded)
        finally:
            lines.unpersist()
    kept = write_pairs(ws, name, stamp, per_item["item_id"].to_numpy(),
                       per_item["orders"].to_numpy(), pairs["item_a"].to_numpy(),
                       pairs["item_b"].to_numpy(), pairs["orders"].to_numpy())
    return {"pairs": int(len(pairs)), "items": int(len(per_item)),
            "seconds": round(time.perf_counter() - t0, 2), "kept": kept is not None}
