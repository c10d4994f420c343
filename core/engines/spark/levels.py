"""Exact level-wise counting of frequent itemsets on Spark, for a length cap (``max_len``).

FPGrowth has no length cap: on wholesale baskets (hundreds of items an order) at a support the
DuckDB engine mines up to length 3 in a second, its conditional trees grow itemsets of every
length and the job dies (a ``StackOverflowError`` on UCI Online Retail at 20 orders). So with a
cap, itemsets are counted level by level, as ``core.rules.itemsets`` does:

- level 2: every pair of frequent items in an order (a self-join on the order id), counted;
- level k >= 3: candidates are made on the driver from the frequent (k-1)-itemsets (two that
  share their first k-2 items, kept when every (k-1)-subset is frequent: apriori's join and
  prune), the orders' frequent (k-1)-itemsets are extended by one item of the same order and
  matched against the broadcast candidates, then counted.

Before a level is counted its size is estimated from its candidates and the previous level's
survival rate, and the DuckDB engine's guard (``core.rules.guard``) stops a setting that would
give more than ``max_itemsets``, with the same message.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.rules.guard import Guard


def _candidates(prev: np.ndarray) -> np.ndarray:
    """Apriori candidates of length k from the lexicographic frequent (k-1)-rows ``prev``."""
    k1 = prev.shape[1]
    known = {tuple(r) for r in prev.tolist()}
    out = []
    start = 0
    n = len(prev)
    while start < n:
        end = start + 1
        while end < n and (prev[end, :-1] == prev[start, :-1]).all():
            end += 1
        group = prev[start:end]
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                row = tuple(group[i].tolist()) + (int(group[j, -1]),)
                if all(row[:m] + row[m + 1:] in known for m in range(k1 - 1)):
                    out.append(row)
        start = end
    return np.asarray(out, dtype=np.int32).reshape(-1, k1 + 1)


def level_itemsets(spark: Any, ranked: Any, *, min_count: int, max_len: int, guard: Guard,
                   sets: dict, cnts: dict) -> None:
    """Fill ``sets``/``cnts`` for lengths 2..``max_len`` from ``ranked`` (order_id, r: the
    rank of a frequent item; one row per order and item)."""
    from pyspark.sql import functions as f

    a, b = ranked.alias("a"), ranked.alias("b")
    occ = (a.join(b, (f.col("a.order_id") == f.col("b.order_id")) & (f.col("a.r") < f.col("b.r")))
           .select(f.col("a.order_id").alias("order_id"), f.col("a.r").alias("r1"),
                   f.col("b.r").alias("r2")))
    k, n_cand = 2, 0
    while True:
        cols = [f"r{i}" for i in range(1, k + 1)]
        counted = occ.groupBy(*cols).agg(f.count(f.lit(1)).alias("n")) \
            .where(f.col("n") >= int(min_count))
        counted = counted.cache()
        try:
            guard.check_count(k, counted.count())  # before anything reaches the driver
            rows = counted.toPandas()
        finally:
            counted.unpersist()
        if rows.empty:
            return
        sets[k], cnts[k] = in_layout(rows[cols].to_numpy(np.int32), rows["n"].to_numpy(np.int64))
        found = sets[k]
        guard.done[k] = len(found)
        if max_len and k >= max_len or len(found) < k + 1:
            return
        cand = _candidates(sets[k])
        if not len(cand):
            return
        if n_cand:  # the share of candidates that survived the last level
            guard.check_estimate(k + 1, len(cand) * len(found) / n_cand)
        n_cand = len(cand)
        frequent = spark.createDataFrame([tuple(map(int, r)) for r in sets[k]],
                                         ", ".join(f"{c} int" for c in cols))
        cand_df = spark.createDataFrame([tuple(map(int, r)) for r in cand],
                                        ", ".join(f"r{i} int" for i in range(1, k + 2)))
        occ = occ.join(f.broadcast(frequent), cols)  # the orders' frequent k-itemsets
        nxt = ranked.select("order_id", f.col("r").alias(f"r{k + 1}"))
        occ = (occ.join(nxt, "order_id").where(f.col(f"r{k + 1}") > f.col(f"r{k}"))
               .join(f.broadcast(cand_df), cols + [f"r{k + 1}"]))
        k += 1


def in_layout(ranks: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Itemsets of one length as ``core.rules.itemsets.Itemsets`` holds them: each row of item
    ranks ascending, rows in lexicographic order (counts following their rows)."""
    ranks = np.sort(ranks, axis=1).astype(np.int32)
    order = np.lexsort(ranks.T[::-1])
    return ranks[order], counts[order]
