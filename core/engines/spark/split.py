"""The evaluation's held-out split on Spark: the same cut and the same training and test orders
as ``core.baskets.temporal_split`` (docs/ARCHITECTURE.md §6), computed on the executors.

- Dated lines: an order belongs where its earliest line falls. Without a given cut, the cut is
  the day of the order at position ``n_train`` among the dated orders sorted by their first
  timestamp; only the number of orders per day comes to the driver (a few thousand rows for
  years of receipts), never the orders themselves.
- Lines without dates: the last ~20% of orders in file order (by each order's first line
  number). The boundary is found exactly in two passes: orders per block of line numbers, then
  the first line numbers of the one block that holds the boundary.
- The errors are ``temporal_split``'s, word for word (``core.baskets``).

What comes back is the cut, the two order counts and the held-out order ids (the driver's
evaluation reads its lines by them: ``SparkSplit.split``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.baskets import (NO_TIMESTAMP_CUT, Split, cut_on, day, empty_side, n_train,
                          no_split_day, parse_cut)
from core.engines.spark.mining import kept_lines
from core.errors import BundleLabError
from core.workspace import Workspace

BLOCKS = 4096  # line-number blocks of the first pass (file order)


@dataclass(frozen=True)
class SparkSplit:
    """``cut``: None when the split fell back to file order; ``orders``: a Spark DataFrame
    (order_id, is_test), one row per order."""

    cut: pd.Timestamp | None
    n_train: int
    n_test: int
    orders: Any

    def test_ids(self) -> np.ndarray:
        """The held-out order ids (collected to the driver)."""
        rows = self.orders.where("is_test").select("order_id").toPandas()
        return rows["order_id"].to_numpy(dtype=object)

    def split(self, lines: pd.DataFrame) -> Split:
        """``lines`` (the dataset's kept lines on the driver) split by this split's orders."""
        is_test = lines["order_id"].isin(set(self.test_ids())).to_numpy()
        return Split(lines[~is_test], lines[is_test], self.cut)


def spark_split(spark: Any, ws: Workspace, name: str, cut: Any = None, *,
                test_share: float = 0.2) -> SparkSplit:
    """``temporal_split`` of dataset ``name`` on Spark (see the module docstring)."""
    from pyspark.sql import functions as f

    lines = kept_lines(spark, ws, name, ("line_no", "order_id", "ts"))
    per_order = lines.groupBy("order_id").agg(
        f.min("ts").alias("first"), f.max("ts").alias("last"),
        f.min("line_no").alias("first_line")).cache()
    try:
        stats = per_order.agg(f.count(f.lit(1)).alias("orders"), f.count("first").alias("dated"),
                              f.min("first").alias("lo"), f.max("last").alias("hi"),
                              f.max("first").alias("latest"),
                              f.max("first_line").alias("max_line")).first()
        cut_ts = parse_cut(cut)
        if stats["dated"]:
            lo, hi = pd.Timestamp(stats["lo"]), pd.Timestamp(stats["hi"])
            if cut_ts is None:
                cut_ts = _default_cut(per_order, int(stats["dated"]), lo,
                                      pd.Timestamp(stats["latest"]), test_share)
            start = f.to_timestamp(f.lit(f"{day(cut_ts)} 00:00:00"))  # cuts are days
            orders = per_order.select("order_id", f.coalesce(f.col("first") >= start, f.lit(False))
                                      .alias("is_test"))
        else:
            if cut_ts is not None:
                raise BundleLabError(NO_TIMESTAMP_CUT)
            boundary = _file_order_boundary(per_order, int(stats["orders"]),
                                            int(stats["max_line"] or 0), test_share)
            orders = per_order.select("order_id", (f.col("first_line") >= boundary)
                                      .alias("is_test"))
        orders = orders.localCheckpoint()  # computed once, before per_order is released
        n_test = orders.where("is_test").count()
        n = int(stats["orders"])
        if stats["dated"] and (n_test == 0 or n_test == n):
            raise empty_side(cut_ts, "test" if n_test == 0 else "training", lo, hi)
        return SparkSplit(cut_ts if stats["dated"] else None, n - n_test, n_test, orders)
    finally:
        per_order.unpersist()


def _default_cut(per_order: Any, dated: int, lo: pd.Timestamp, latest: pd.Timestamp,
                 test_share: float) -> pd.Timestamp:
    """``core.baskets.default_cut`` from the dated orders per day."""
    from pyspark.sql import functions as f

    first_day = lo.normalize()
    if dated < 2 or first_day == latest.normalize():
        raise no_split_day(dated, lo)
    per_day = (per_order.where(f.col("first").isNotNull())
               .groupBy(f.to_date("first").alias("day")).count().toPandas()
               .sort_values("day", ignore_index=True))
    position = n_train(dated, test_share)
    held = int(np.searchsorted(per_day["count"].cumsum().to_numpy(), position, side="right"))
    return cut_on(pd.Timestamp(per_day["day"].iloc[held]), first_day)


def _file_order_boundary(per_order: Any, n_orders: int, max_line: int,
                         test_share: float) -> int:
    """The first line number of the first held-out order in file order (every order with a first
    line from it on is held out)."""
    from pyspark.sql import functions as f

    position = n_train(n_orders, test_share)
    if position >= n_orders:
        return max_line + 1
    width = max(1, -(-(max_line + 1) // BLOCKS))
    per_block = (per_order.groupBy((f.col("first_line") / width).cast("long").alias("block"))
                 .count().toPandas().sort_values("block", ignore_index=True))
    before = per_block["count"].cumsum().to_numpy()
    i = int(np.searchsorted(before, position, side="right"))
    block = int(per_block["block"].iloc[i])
    skipped = int(before[i - 1]) if i else 0
    firsts = np.sort(per_order.where((f.col("first_line") / width).cast("long") == block)
                     .select("first_line").toPandas()["first_line"].to_numpy())
    return int(firsts[position - skipped])
