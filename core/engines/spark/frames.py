"""Raw and clean tables as Spark DataFrames: ``read_raw`` (every column as text ``c0..cN`` plus a
1-based ``line_no`` in file order) and ``clean_frame`` (``core.ingest.cleaning.clean_sql``'s
table: line_no, order_id, item_id, item_name, category, quantity, unit_price, customer_id, ts,
ts_raw, reason), step for step as the DuckDB SQL.
"""

from __future__ import annotations

from typing import Any

import duckdb

from core.engines.spark import cleaning as sc
from core.ingest import mapping as mp
from core.ingest.cleaning import detect_timestamp_format
from core.ingest.sniff import Sniffed

_LOW_BITS = (1 << 33) - 1  # monotonically_increasing_id: partition index << 33 | row in partition


def _numbered(df: Any, order: list[str] | None = None) -> Any:
    """``df`` with ``line_no`` 1..n: in the order Spark reads it (a single file: file order), or
    sorted by ``order`` first. Consecutive numbers without a Python pass: each partition's rows
    are counted and the counts summed into offsets (a few numbers on the driver)."""
    f = sc.F()
    if order:  # a sort's partitions differ between jobs (adaptive execution): pin them first
        df = df.sort(*order).withColumn("_mid", f.monotonically_increasing_id()) \
            .localCheckpoint(eager=True)
    else:  # one file read as it lies: the same partitions in every job
        df = df.withColumn("_mid", f.monotonically_increasing_id())
    df = df.withColumn("_part", f.shiftright("_mid", 33))
    counts = sorted((r["_part"], r["n"]) for r in
                    df.groupBy("_part").agg(f.count(f.lit(1)).alias("n")).collect())
    offsets, total = {}, 0
    for part, n in counts:
        offsets[part] = total
        total += n
    spark = df.sparkSession
    off = spark.createDataFrame([(int(p), int(o)) for p, o in offsets.items()] or [(0, 0)],
                                "_part long, _off long")
    df = df.join(f.broadcast(off), "_part")
    line = (f.col("_off") + f.col("_mid").bitwiseAND(f.lit(_LOW_BITS)) + 1).alias("line_no")
    return df.select(line, *[c for c in df.columns if c not in ("_mid", "_part", "_off")])


def _as_text(df: Any, name: str) -> Any:
    """A Parquet column as the DuckDB engine reads it as text (``core.ingest.parquet``): whole
    floats without ``.0`` (``17850.0`` -> ``17850``: ids stored as doubles), the rest cast."""
    f = sc.F()
    col = df[name]
    if df.schema[name].dataType.typeName() in ("double", "float"):
        whole = ~f.isnan(col) & (f.abs(col) < 1e15) & (col == f.floor(col))
        return f.when(whole, col.cast("bigint").cast("string")).otherwise(col.cast("string"))
    return col.cast("string")


def is_parquet(sn: Sniffed) -> bool:
    return sn.kind == "parquet"


def read_raw(spark: Any, sn: Sniffed, source: str, encoding: str = "UTF-8") -> Any:
    """The file at ``source`` (a URI Spark reads: a plain-named link to a local upload, or a
    cluster path) as text columns ``c0..cN`` (``sn.header``'s columns, by name for Parquet)
    plus ``line_no``. CSV: UTF-8 with the sniffed delimiter; Parquet: every column cast to text
    (part files with different columns are merged by name). Several files (a folder): files in
    name order, then rows."""
    f = sc.F()
    n = len(sn.header)
    if is_parquet(sn):
        df = spark.read.option("mergeSchema", True).parquet(source)
        present = set(df.columns)
        df = df.select(*[(_as_text(df, c) if c in present else f.lit(None).cast("string"))
                         .alias(f"c{i}") for i, c in enumerate(sn.header)])
    else:
        reader = (spark.read.option("header", True).option("sep", sn.delimiter)
                  .option("quote", '"').option("escape", '"').option("multiLine", True)
                  .option("mode", "PERMISSIVE").option("encoding", encoding))
        df = reader.schema(", ".join(f"c{i} string" for i in range(n))).csv(source)
    if len(df.inputFiles()) > 1:  # Spark packs files by size: number them in name order
        df = df.withColumn("_file", f.input_file_name()) \
            .withColumn("_row", f.monotonically_increasing_id())
        return _numbered(df, ["_file", "_row"]).drop("_file", "_row")
    return _numbered(df)


def timestamp_format(exprs_df: Any) -> str | None:
    """The format of the first 2,000 timestamp texts (``detect_timestamp_format``, the DuckDB
    engine's own detection, run on the sample in an in-memory DuckDB)."""
    sample = [r[0] for r in exprs_df.where("ts_raw IS NOT NULL").orderBy("line_no")
              .select("ts_raw").limit(2000).collect()]
    con = duckdb.connect()
    try:
        return detect_timestamp_format(con, sample)
    finally:
        con.close()


def _field_cols(sn: Sniffed, fmap: dict[str, list[str]]) -> dict[str, Any]:
    """``core.ingest.store.field_exprs``: each mapped field as a trimmed text column."""
    cols = {f: [f"c{sn.header.index(c)}" for c in names] for f, names in fmap.items() if names}
    out = {f: sc.text_col(c) for f, c in cols.items()}
    if "timestamp" in out:
        out["timestamp"] = sc.timestamp_text(out["timestamp"], cols["timestamp"])
    return out


def order_facts(mapped: Any, has: set[str]) -> tuple[int, float]:
    """``order_facts_sql``: orders whose customer or timestamp is filled on some lines only, and
    the share of rows with an all-digit order id."""
    f = sc.F()
    parts = [c for c, field in (("cust_raw", "customer_id"), ("ts_raw", "timestamp"))
             if field in has]
    aggs = [f.count(f.lit(1)).alias("n")] + [f.count(c).alias(c) for c in parts]
    per = mapped.groupBy("order_id").agg(*aggs)
    cond = f.lit(False)
    for c in parts:
        cond = cond | ((f.col(c) > 0) & (f.col(c) < f.col("n")))
    row = per.agg(f.sum(f.when(cond, 1).otherwise(0)),
                  f.sum(f.when(f.col("order_id").rlike(r"^[0-9]+\z"), f.col("n")).otherwise(0)),
                  f.sum("n")).collect()[0]
    return int(row[0] or 0), float(row[1] or 0) / max(float(row[2] or 0), 1.0)


def _duplicates(raw: Any, raw_cols: list[str]) -> Any:
    """(line_no, dup_rank, n_same) of the rows with an identical copy: rows whose hash of all
    columns is unique are unique; only the others are grouped by their columns."""
    from pyspark.sql import Window

    f = sc.F()
    hashed = raw.select("line_no", f.xxhash64(*[f.coalesce(f.col(c), f.lit("\x00null"))
                                                for c in raw_cols]).alias("h"))
    shared = hashed.groupBy("h").count().where("count > 1").select("h")
    cand = raw.join(hashed, "line_no").join(shared, "h")
    w = Window.partitionBy(*raw_cols)
    first = f.col("line_no") == f.min("line_no").over(w)
    return cand.select(f.col("line_no").alias("same_line"),
                       f.when(first, 1).otherwise(2).alias("rank"),
                       f.when(first, f.count(f.lit(1)).over(w)).otherwise(1).alias("n"))


def clean_frame(raw: Any, sn: Sniffed, lines_map: dict[str, list[str]], options: Any,
                decimal_comma: bool) -> tuple[Any, str | None]:
    """``clean_sql`` over the Spark raw table: returns (the clean DataFrame, the timestamp
    format found)."""
    from pyspark.sql import Window

    f = sc.F()
    exprs = _field_cols(sn, lines_map)
    has = set(exprs)
    raw_cols = [f"c{i}" for i in range(len(sn.header))]
    units = options.drop_duplicates and "quantity" not in exprs

    def get(field: str) -> Any:
        return exprs.get(field, f.lit(None).cast("string"))

    if options.drop_duplicates:
        same = _duplicates(raw, raw_cols)
        source = raw.join(same, raw.line_no == same.same_line, "left")
        dup, n_same = f.coalesce(f.col("rank"), f.lit(1)), f.coalesce(f.col("n"), f.lit(1))
    else:
        source, dup, n_same = raw, f.lit(1), f.lit(1)
    mapped = source.select(
        "line_no", get("order_id").alias("order_id"), get("item_id").alias("item_id"),
        get("item_name").alias("item_name"), get("category").alias("category"),
        get("quantity").alias("qty_raw"), get("unit_price").alias("price_raw"),
        get("line_total").alias("total_raw"), get("customer_id").alias("cust_raw"),
        get("timestamp").alias("ts_raw"), dup.alias("dup_rank"), n_same.alias("n_same"))
    unfilled, numeric_share = order_facts(mapped, has) if "order_id" in has else (0, None)
    ts_fmt = timestamp_format(mapped) if "timestamp" in has else None  # before the fill
    if unfilled:  # order-level fields on an order's first line only: carry them forward
        w = Window.partitionBy("order_id").orderBy("line_no").rowsBetween(
            Window.unboundedPreceding, Window.unboundedFollowing)
        mapped = mapped.withColumns({
            "cust_raw": f.coalesce("cust_raw", f.first("cust_raw", ignorenulls=True).over(w)),
            "ts_raw": f.coalesce("ts_raw", f.first("ts_raw", ignorenulls=True).over(w))})
    qty = f.when(f.col("qty_raw").isNull(), n_same_double(units)).otherwise(
        sc.number(f.col("qty_raw"), decimal_comma=decimal_comma))
    price = (f.when(f.col("price_raw").isNotNull(),
                    sc.number(f.col("price_raw"), decimal_comma=decimal_comma, money=True))
             .when(f.col("total_raw").isNotNull(),
                   sc.number(f.col("total_raw"), decimal_comma=decimal_comma, money=True)
                   / f.nullif(qty, f.lit(0.0))))
    ts = sc.parse_timestamp(f.col("ts_raw"), ts_fmt) if "timestamp" in has else \
        f.lit(None).cast("timestamp_ntz")
    p = mapped.select(
        "line_no", "order_id", "item_id", "item_name", "category", "qty_raw",
        f.coalesce("price_raw", "total_raw").alias("price_raw"), "ts_raw", "dup_rank",
        sc.finite(qty).alias("quantity"), sc.finite(price).alias("unit_price"),
        sc.customer(f.col("cust_raw")).alias("customer_id"), sc.in_date_range(ts).alias("ts"))
    if mp.derived_order_id(lines_map):  # no order id: one customer on one day is one basket
        p = p.withColumn("order_id", f.when(
            f.col("customer_id").isNotNull() & f.col("ts").isNotNull(),
            f.concat(f.col("customer_id"), f.lit(" · "),
                     f.date_format(f.col("ts"), "yyyy-MM-dd"))))
    numeric = numeric_share is not None and numeric_share > 0.5  # as run_cleaning passes it
    cancel = adjust = f.lit(False)
    if options.drop_cancellations and numeric:
        cancel, adjust = sc.prefixed(f.col("order_id"), "c"), sc.prefixed(f.col("order_id"), "a")
    nonprod = sc.non_product(f.col("item_id"), f.col("item_name")) \
        if options.drop_non_products else f.lit(False)
    holder = sc.placeholder(f.col("item_id")) if getattr(options, "drop_placeholders", True) \
        else f.lit(False)
    bad_ts = (f.col("ts_raw").isNotNull() & f.col("ts").isNull()) \
        if "timestamp" in has and options.bad_dates == "drop" else f.lit(False)
    reason = (f.when(f.col("order_id").isNull(), "missing_order_id")
              .when(f.col("item_id").isNull(), "missing_item_id")
              .when(holder, "placeholder_item")
              .when(cancel, "cancellation")
              .when(adjust, "adjustment")
              .when(f.col("quantity").isNull(), "unparseable_quantity")
              .when(f.col("quantity") <= 0, "non_positive_quantity")
              .when(nonprod, "non_product_code")
              .when(f.col("price_raw").isNotNull() & f.col("unit_price").isNull(),
                    "unparseable_price")
              .when(f.col("unit_price") <= 0, "zero_or_negative_price")
              .when(bad_ts, "unparseable_timestamp")
              .when(f.col("dup_rank") > 1,
                    "counted_as_quantity" if units else "duplicate_row"))
    clean = p.select("line_no", "order_id", "item_id", "item_name", "category", "quantity",
                     "unit_price", "customer_id", "ts", "ts_raw", reason.alias("reason"))
    return clean, ts_fmt


def n_same_double(units: bool) -> Any:
    f = sc.F()
    return f.col("n_same").cast("double") if units else f.lit(1.0)
