"""Spark engine at scale: synthetic shops of 1M, 5M and 20M order lines written as Parquet by
Spark itself, then ingested and mined (frequent itemsets, max_len 3) with the DuckDB engine (the
baseline) and the Spark engine on ``local[2]``, each measurement in its own process, with wall
seconds, the driver's peak RSS and the Spark JVM's peak RSS.

    python bench/spark_scale.py [--lines 1e6,5e6,2e7] [--repeats N] [--partitions 1]
                                [--engines duckdb,spark] [--support 0.0003] [--min-count N]
                                [--shuffle 4,8,16] [--shuffle-size 5e6] [--no-shuffle]
                                [--duckdb-memory-limit 2GB] [--out /tmp/bundlelab_spark_scale]
                                [--items 20000] [--seed 0] [--timeout 3600] [--md FILE]
    python bench/spark_scale.py --report-from RESULTS.json [...]   # tables from saved runs

The data: ``spark.range`` over orders plus hash expressions (no Python loop per row): basket
sizes 1..15 (truncated geometric, mean ~3.9), items from a Zipf-like popularity over ``--items``
SKUs with families of 4 items bought together, quantities, per-item prices, customers with
repeat orders, timestamps over 2 years; messy rows for the cleaning: 0.5% cancelled orders ('C'
prefix, negative quantities), 0.3% zero prices, 0.1% missing item ids, 0.2% postage lines
('POST'), ~1.2% exact duplicate lines. Each size is written once to
``--out/lines-<N>-p<partitions>-i<items>-s<seed>-v<DATA_VERSION>`` (``--partitions`` part files)
and reused by later runs with the same parameters.

Every (size, engine) runs ``--repeats`` times (default: 3 below 10M lines, 1 from 10M up),
DuckDB and Spark alternating so that load on a shared machine hits both alike; seconds are
medians, RSS the largest. Each run is a fresh process: it starts the Spark session first
(reported apart as "startup", not counted in ingest), then (a) ``engine_ingest`` from the
Parquet folder, (b) ``mine_dataset_itemsets`` at a fixed order count (``--support`` of the
orders the ingest kept, rounded up; 0.0003 gives ~4,400 itemsets on this data, 0.001 ~900) with
max_len 3. Peak driver RSS is the process's VmHWM, reset before each step through
/proc/self/clear_refs; the JVM (a child process) is sampled every 0.2 s with psutil. "same":
rows_kept, orders, items, drop counts, min_count, itemset counts per length and a digest of
every (itemset, count) equal between the engines. Raw results go to ``--out/results-*.json``;
``--report-from`` pools the runs of several such files into one report.

Then: Spark at ``--shuffle`` values of spark.sql.shuffle.partitions at one size; DuckDB's
memory per line, extrapolated to where the machine's memory (24 GiB by default) runs out, and
where the ingest's store step ran out of its DuckDB memory_limit; a cluster estimate for 500M
lines from the measured local[2] throughput (labelled as an extrapolation, with assumptions).

Known problems in core/ found by this script (not worked around here):

- a Parquet *folder of several part files* loses rows on the Spark engine: ``read_raw`` ->
  ``_numbered`` counts rows per partition in one Spark job and joins the offsets in another;
  the counting job's AQE coalesces the sorted rows into one partition while the cached plan the
  ingest uses keeps spark.sql.shuffle.partitions partitions, so the inner join keeps partition 0
  only (rows read = ~1/8 at the default 8, ~1/4 at 4); without AQE the line numbers collide.
  The "same" column then says NO and a WARNING names the row counts; hence the default
  ``--partitions 1`` (one part file is numbered correctly); ``--partitions 16`` checks a fix;
- the store step both engines share (``core.ingest.store.clean_and_store``, ``_ITEMS_SQL``)
  runs out of the ingest's 1 GB DuckDB memory_limit between 15M and 20M lines
  (OutOfMemoryException); ``--duckdb-memory-limit 2GB`` overrides the limit in the measuring
  processes (monkeypatching ``core.ingest.rawread.MEMORY_LIMIT``) to measure past it.

Measured (core at fb233ec; 2 shared cores, 24 GiB; --partitions 1; seconds ingest + mining;
1M/5M median of 3 at load ~2.5, 20M once with --duckdb-memory-limit 2GB): 1M duckdb 1.3 + 0.8,
spark 39.2 + 7.6; 5M duckdb 6.6 + 3.7, spark 114.7 + 14.8; 20M duckdb 31.8 + 16.2, spark
410.3 + 44.8 (26 s of it the driver's DuckDB store); the same itemsets everywhere. DuckDB's
mining adds ~230 B per line in the driver: 24 GiB at ~110M lines (extrapolated). See
docs/spark_scale.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_VERSION = 3  # bump when the generator changes: old folders are then not reused
GEOM_P = 0.25  # basket size 1 + Geometric(p), capped at MAX_BASKET
MAX_BASKET = 15
CANCEL_SHARE, ZERO_PRICE_SHARE, NO_ITEM_SHARE, POSTAGE_SHARE = 0.005, 0.003, 0.001, 0.002
FAMILY_SHARE = 0.5  # lines 2-4 of an order: the share that are the anchor's family members
GIB = 2 ** 30
META = "_bundlelab_meta.json"  # a leading "_": Spark and the DuckDB reader skip it


# ------------------------------------------------------------------------------- the data

def mean_basket() -> float:
    """Mean of 1 + Geometric(GEOM_P) capped at MAX_BASKET (the lines one order gets)."""
    q = 1 - GEOM_P
    probs = [GEOM_P * q ** (k - 1) for k in range(1, MAX_BASKET)]
    probs.append(1 - sum(probs))  # the cap takes the tail
    return sum(k * p for k, p in zip(range(1, MAX_BASKET + 1), probs))


def data_dir(out: Path, n_lines: int, partitions: int, items: int, seed: int) -> Path:
    return out / f"lines-{n_lines}-p{partitions}-i{items}-s{seed}-v{DATA_VERSION}"


def generate(spark, folder: Path, n_lines: int, partitions: int, n_items: int, seed: int) -> dict:
    """Write the synthetic order lines as Parquet (``partitions`` part files) with Spark."""
    from pyspark.sql import functions as f

    n_orders = max(2, round(n_lines / mean_basket()))
    n_customers = max(1000, n_orders // 4)

    def u(*cols, salt: int):  # a uniform [0, 1) from a hash: the same whatever the partitioning
        return (f.pmod(f.xxhash64(*cols, f.lit(seed * 1000 + salt)), f.lit(1 << 53))
                .cast("double") / float(1 << 53))

    def zipf(x):  # rank 0..n_items-1, P(rank r) ~ 1/(r+1.5): Zipf with exponent ~1
        return f.least(f.floor(f.exp(x * math.log(n_items + 1))) - 1, f.lit(n_items - 1))

    slices = max(partitions, 2)  # generate on both cores even for one part file
    o = spark.range(0, n_orders, 1, slices).select(f.col("id").alias("o"))
    size = f.least(f.lit(MAX_BASKET),
                   1 + f.floor(f.log(1 - u("o", salt=1)) / math.log(1 - GEOM_P))).cast("int")
    start = 1672531200  # 2023-01-01 00:00:00 UTC
    orders = o.select(
        "o", size.alias("k"),
        zipf(u("o", salt=2)).alias("anchor"),
        (u("o", salt=3) < CANCEL_SHARE).alias("cancel"),
        f.when(u("o", salt=4) < 0.05, f.lit(None).cast("long"))
         .otherwise(10000 + f.floor(f.pow(u("o", salt=5), 2) * n_customers).cast("long"))
         .alias("customer_id"),
        f.timestamp_seconds(f.lit(start) + f.floor(u("o", salt=6) * 730 * 86400))
         .cast("timestamp_ntz").alias("order_date"))
    lines = orders.select("*", f.explode(f.sequence(f.lit(0), f.col("k") - 1)).alias("pos"))
    rank = (f.when(f.col("pos") == 0, f.col("anchor"))
            .when((f.col("pos") <= 3) & (u("o", "pos", salt=7) < FAMILY_SHARE),
                  f.least(f.floor(f.col("anchor") / 4) * 4   # the other members of its family
                          + f.pmod(f.col("anchor") + f.col("pos"), 4), f.lit(n_items - 1)))
            .otherwise(zipf(u("o", "pos", salt=9))).cast("long"))
    num = f.pmod(rank * 7919 + 13, f.lit(n_items))  # a bijection: popular SKUs are scattered
    mess = u("o", "pos", salt=10)
    item = (f.when(mess < NO_ITEM_SHARE, f.lit(None).cast("string"))
            .when(mess < NO_ITEM_SHARE + POSTAGE_SHARE, f.lit("POST"))
            .otherwise(f.concat(f.lit("SKU"), f.lpad(num.cast("string"), 5, "0"))))
    price_item = f.round(0.5 + 25 * f.pow(u(num, salt=11), 3), 2)
    price = (f.when(mess >= 1 - ZERO_PRICE_SHARE, f.lit(0.0))
             .when(item == "POST", f.lit(18.0)).otherwise(price_item))
    qty = f.least(f.lit(24), 1 + f.floor(-f.log(1 - u("o", "pos", salt=12)) * 0.8)).cast("int")
    df = lines.select(
        f.when(f.col("cancel"), f.concat(f.lit("C"), (f.col("o") + 500000).cast("string")))
         .otherwise((f.col("o") + 500000).cast("string")).alias("order_id"),
        item.alias("item_id"),
        f.when(f.col("cancel"), -qty).otherwise(qty).alias("quantity"),
        price.alias("unit_price"), "customer_id", "order_date")
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if partitions < slices:
        df = df.coalesce(partitions)
    df.write.mode("overwrite").parquet(str(tmp))
    back = spark.read.parquet(str(tmp))
    row = back.agg(f.count(f.lit(1)), f.countDistinct("order_id")).collect()[0]
    meta = {"lines": int(row[0]), "orders": int(row[1]), "items": n_items,
            "partitions": len(list(tmp.glob("*.parquet"))), "seed": seed,
            "bytes": sum(p.stat().st_size for p in tmp.glob("*.parquet"))}
    (tmp / META).write_text(json.dumps(meta))
    tmp.rename(folder)
    return meta


# ------------------------------------------------------------------------------- memory

def _status_kb(field: str, pid: str = "self") -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def reset_peak() -> bool:
    """Set VmHWM back to the current RSS (Linux: clear_refs 5); False where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class JvmSampler:
    """The largest RSS of this process's java children, sampled every ``every`` seconds
    (psutil, else /proc), plus this process's own RSS (for when clear_refs is refused)."""

    def __init__(self, every: float = 0.2):
        self.every, self.java, self.own = every, 0.0, 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def reset(self) -> None:
        self.java, self.own = self._java_now(), rss_mb()

    def _java_now(self) -> float:
        try:
            import psutil

            kids = psutil.Process().children(recursive=True)
            return sum(k.memory_info().rss for k in kids if "java" in k.name()) / 2 ** 20
        except ImportError:  # /proc: java processes below this one
            total = 0.0
            for p in Path("/proc").iterdir():
                try:
                    if p.name.isdigit() and (p / "comm").read_text().strip() == "java" \
                            and _is_descendant(p.name):
                        total += _status_kb("VmRSS", p.name) / 1024
                except (OSError, StopIteration):
                    pass
            return total
        except Exception:  # a child that ended while being read
            return 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.java = max(self.java, self._java_now())
            self.own = max(self.own, rss_mb())

    def stop(self) -> None:
        self._stop.set()


def _is_descendant(pid: str) -> bool:
    me = os.getpid()
    while pid not in ("0", "1"):
        try:
            pid = (Path("/proc") / pid / "stat").read_text().split()[3]
        except OSError:
            return False
        if int(pid) == me:
            return True
    return False


# ------------------------------------------------------------------------------- one run

def itemsets_digest(itemsets) -> str:
    """Order-independent digest of every (itemset, count)."""
    df = itemsets.to_frame()
    acc = 0
    for items, count in zip(df["itemsets"], df["orders"]):
        key = ("|".join(sorted(map(str, items))) + "#" + str(int(count))).encode()
        acc = (acc + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")) \
            % 2 ** 64
    return f"{acc:016x}"


def child_measure(p: dict) -> dict:
    """One ingest + mining on one engine, in this (fresh) process."""
    sys.path.insert(0, str(ROOT))
    from core.ingest.engines import engine_ingest
    from core.ingest.load import IngestOptions
    from core.rules.itemsets import MiningParams
    from core.rules.mining import clear_cache, mine_dataset_itemsets
    from core.workspace import Workspace

    engine = p["engine"]
    if p.get("duckdb_memory_limit"):  # a bench-side override of the ingest's DuckDB limit
        import core.ingest.rawread as rawread

        rawread.MEMORY_LIMIT = p["duckdb_memory_limit"]
    import core.ingest.rawread as rawread

    sampler = JvmSampler()
    out: dict = {"engine": engine, "memory_limit": rawread.MEMORY_LIMIT}
    if engine == "spark":
        from core.engines.spark.session import spark_session

        t = time.perf_counter()
        spark = spark_session(p["master"])
        spark.range(1).count()  # the JVM and a first job: startup, not ingest
        out["startup_s"] = time.perf_counter() - t
        if p.get("shuffle"):
            spark.conf.set("spark.sql.shuffle.partitions", str(p["shuffle"]))
        out["shuffle"] = int(spark.conf.get("spark.sql.shuffle.partitions"))
        out["aqe"] = spark.conf.get("spark.sql.adaptive.enabled")
    ws_dir = Path(p["ws"])
    shutil.rmtree(ws_dir, ignore_errors=True)
    ws = Workspace(ws_dir)
    marks: list[tuple[float, float, str]] = []

    def progress(frac: float, msg: str) -> None:
        marks.append((time.perf_counter(), frac, msg))

    # (a) ingest
    out["rss_start_mb"] = rss_mb()
    out["clear_refs"] = reset_peak()
    sampler.reset()
    t0 = time.perf_counter()
    summary = engine_ingest(engine, ws, p["path"], dataset="shop", options=IngestOptions(),
                            progress=progress)
    t1 = time.perf_counter()
    out["ingest_s"] = t1 - t0
    out["ingest_peak_mb"] = peak_mb() if out["clear_refs"] else sampler.own
    out["ingest_java_mb"] = sampler.java
    store = next((t for t, _, m in marks if m.startswith("storing")), None)
    if store is not None and engine == "spark":  # Spark reads, cleans, writes; DuckDB stores
        out["ingest_spark_s"], out["ingest_store_s"] = store - t0, t1 - store
    out["summary"] = {k: summary.get(k) for k in ("rows_read", "rows_kept", "orders", "items",
                                                  "dropped")}
    out["ws_bytes"] = sum(f.stat().st_size for f in ws_dir.rglob("*") if f.is_file())
    # (b) itemsets at a fixed order count
    min_count = p["min_count"] or max(2, math.ceil(p["support"] * summary["orders"]))
    clear_cache()
    out["rss_before_mine_mb"] = rss_mb()
    reset_peak()
    sampler.reset()
    t0 = time.perf_counter()
    itemsets, _ = mine_dataset_itemsets(ws, "shop", mining=MiningParams(
        min_support=min_count, max_len=3, max_itemsets=10 ** 8), engine=engine)
    out["mine_s"] = time.perf_counter() - t0
    out["mine_peak_mb"] = peak_mb() if out["clear_refs"] else sampler.own
    out["mine_java_mb"] = sampler.java
    out["min_count"] = int(itemsets.min_count)
    out["lengths"] = {str(k): v for k, v in itemsets.lengths().items()}
    out["digest"] = itemsets_digest(itemsets)
    sampler.stop()
    if engine == "spark":
        from core.engines.spark.session import stop_session

        stop_session()
    shutil.rmtree(ws_dir, ignore_errors=True)
    return out


def child_generate(p: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    from core.engines.spark.session import spark_session, stop_session

    spark = spark_session(p["master"])
    t = time.perf_counter()
    meta = generate(spark, Path(p["folder"]), p["lines"], p["partitions"], p["items"], p["seed"])
    meta["seconds"] = time.perf_counter() - t
    stop_session()
    return meta


def run_child(kind: str, params: dict, timeout: float, env: dict | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(params)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                             env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"failed": f"timeout > {timeout:.0f} s"}
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines:
        tail = (res.stderr or res.stdout).strip()[-4000:]
        return {"failed": f"exit {res.returncode}", "stderr": tail}
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------- report

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=".1f", none="-"):
    return none if x is None else format(x, spec)


def same_key(r: dict) -> tuple:
    s = r["summary"]
    return (s["rows_kept"], s["orders"], s["items"], json.dumps(s["dropped"], sort_keys=True),
            r["min_count"], json.dumps(r["lengths"], sort_keys=True), r["digest"])


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope); through the origin from one point."""
    if len(xs) == 1:
        return 0.0, ys[0] / xs[0]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - slope * mx, slope


def _bytes(limit: str) -> float:
    """'1GB' / '2GiB' / '512MB' -> bytes (DuckDB reads GB as 1000^3)."""
    text = limit.strip().upper()
    for unit, mult in (("GIB", GIB), ("MIB", 2 ** 20), ("GB", 1e9), ("MB", 1e6)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * mult
    return float(text)


def store_limits(sizes, meta, results) -> dict[str, tuple[float, float | None]]:
    """{ingest DuckDB memory_limit: (most lines stored, fewest lines that ran out)} over both
    engines (they store through the same code)."""
    out: dict[str, list] = {}
    for n in sizes:
        lines = float(meta[n]["lines"])
        for engine in ("duckdb", "spark"):
            for r in results[n].get(engine, []):
                b = out.setdefault(r.get("memory_limit") or "1GB", [0.0, None])
                b[0] = max(b[0], lines)
        for x in results[n].get("failed", []):
            if "OutOfMemory" in x.get("error", ""):
                b = out.setdefault(x.get("memory_limit") or "1GB", [0.0, None])
                b[1] = lines if b[1] is None else min(b[1], lines)
    return {k: (v[0], v[1]) for k, v in out.items()}


def parse_sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import duckdb
    try:
        import pyspark
        spark_v = pyspark.__version__
    except ImportError:
        spark_v = "missing"
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    java = java.splitlines()[0] if java else "?"
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=ROOT).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain", "core"], capture_output=True,
                           text=True, cwd=ROOT).stdout.strip()
    return (f"core at {rev}{' (core/ modified)' if dirty else ''}; "
            f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB memory, Python "
            f"{platform.python_version()}, DuckDB {duckdb.__version__}, pyspark {spark_v}, {java}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", default="1e6,5e6,2e7", help="sizes, comma separated (1e6,5e6)")
    ap.add_argument("--repeats", type=int, help="runs per size and engine (default: 3 below "
                    "10M lines, 1 from 10M up)")
    ap.add_argument("--partitions", type=int, default=1,
                    help="Parquet part files (default 1: several currently lose rows on the "
                    "Spark engine, see Known problems; 16 checks a fix)")
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="/tmp/bundlelab_spark_scale")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--engines", default="duckdb,spark", help="engines to measure")
    ap.add_argument("--duckdb-memory-limit", help="override the ingest's DuckDB memory_limit "
                    "(core.ingest.rawread.MEMORY_LIMIT, 1GB) in the measuring processes, e.g. "
                    "4GB: both engines store through it; reported in the output")
    ap.add_argument("--support", type=float, default=0.0003,
                    help="mining support as a share of kept orders, turned into a fixed count "
                    "(0.0003: a few thousand itemsets on this data; 0.001 gives ~900)")
    ap.add_argument("--min-count", type=int, default=0, help="a fixed count instead")
    ap.add_argument("--shuffle", default="4,8,16", help="spark.sql.shuffle.partitions to try")
    ap.add_argument("--shuffle-size", type=float,
                    help="lines for the shuffle test (default: the largest size <= 5M)")
    ap.add_argument("--no-shuffle", action="store_true")
    ap.add_argument("--memory-gib", type=float, default=24.0, help="where DuckDB's mining runs "
                    "out is extrapolated against this")
    ap.add_argument("--target-lines", type=float, default=5e8, help="cluster estimate size")
    ap.add_argument("--timeout", type=float, default=3600, help="per child process (s)")
    ap.add_argument("--md", help="also write the markdown table and notes to this file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--report-from", nargs="+", metavar="JSON",
                    help="no measuring: report from the raw results of earlier runs")
    args = ap.parse_args()
    if args.report_from:
        return report_from(args, args.report_from)
    if args.child:
        kind, params = args.child[0], json.loads(args.child[1])
        res = child_measure(params) if kind == "measure" else child_generate(params)
        print(json.dumps(res))
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = parse_sizes(args.lines)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.1f}; Spark master {args.master}, "
          f"driver memory {os.environ.get('BUNDLELAB_SPARK_DRIVER_MEMORY', '4g')}; ingest DuckDB "
          f"memory_limit {args.duckdb_memory_limit or '1GB (the project default)'}", flush=True)

    # 1. the data
    data: dict[int, tuple[Path, dict]] = {}
    for n in sizes:
        folder = data_dir(out, n, args.partitions, args.items, args.seed)
        if not (folder / META).exists():
            shutil.rmtree(folder, ignore_errors=True)  # an unfinished or older folder
            meta = run_child("generate", {"folder": str(folder), "lines": n, "master": args.master,
                                          "partitions": args.partitions, "items": args.items,
                                          "seed": args.seed}, args.timeout)
            if "failed" in meta:
                print(f"generating {n:,} lines failed: {meta['failed']}\n{meta.get('stderr', '')}")
                return 1
            print(f"generated {meta['lines']:,} lines, {meta['orders']:,} orders in "
                  f"{meta['seconds']:.0f} s (Spark, {args.master})", flush=True)
        meta = json.loads((folder / META).read_text())
        data[n] = (folder, meta)
        print(f"data {n:,}: {meta['lines']:,} lines, {meta['orders']:,} orders, "
              f"{meta['partitions']} part files, {meta['bytes'] / 2**20:.0f} MiB Parquet, "
              f"{folder}", flush=True)

    def measure(engine: str, n: int, shuffle: int | None = None) -> dict:
        folder, _ = data[n]
        params = {"engine": engine, "path": str(folder), "master": args.master,
                  "ws": str(out / f"ws-{engine}-{n}"), "support": args.support,
                  "min_count": args.min_count, "shuffle": shuffle,
                  "duckdb_memory_limit": args.duckdb_memory_limit}
        r = run_child("measure", params, args.timeout)
        if "failed" in r:
            print(f"  {engine} {n:,}: FAILED {r['failed']}\n{r.get('stderr', '')}", flush=True)
        else:
            extra = ""
            if engine == "spark":
                extra = (f", startup {r['startup_s']:.1f} s, JVM peak "
                         f"{max(r['ingest_java_mb'], r['mine_java_mb']):.0f} MB, ingest split "
                         f"spark {r.get('ingest_spark_s', 0):.1f} + driver store "
                         f"{r.get('ingest_store_s', 0):.1f} s, shuffle {r['shuffle']}")
            print(f"  {engine:<6} {n:>11,}: ingest {r['ingest_s']:.1f} s (peak "
                  f"{r['ingest_peak_mb']:.0f} MB), mine {r['mine_s']:.1f} s (peak "
                  f"{r['mine_peak_mb']:.0f} MB, +{r['mine_peak_mb'] - r['rss_before_mine_mb']:.0f}"
                  f" MB over {r['rss_before_mine_mb']:.0f}), min_count {r['min_count']}, "
                  f"itemsets {r['lengths']}{extra}; load {os.getloadavg()[0]:.1f}", flush=True)
        return r

    # 2. both engines per size
    results: dict[int, dict[str, list[dict]]] = {}
    reps_of: dict[int, int] = {}
    for n in sizes:
        reps = args.repeats or (1 if n >= 10_000_000 else 3)
        reps_of[n] = reps
        results[n] = {"duckdb": [], "spark": [], "failed": []}
        print(f"size {n:,}: {reps} run(s) per engine", flush=True)
        for _ in range(reps):
            for engine in engines:
                r = measure(engine, n)
                if "failed" not in r:
                    results[n][engine].append(r)
                else:
                    err = [ln for ln in r.get("stderr", "").splitlines() if ln.strip()]
                    results[n]["failed"].append({"engine": engine, "why": r["failed"],
                                                 "memory_limit": args.duckdb_memory_limit or "1GB",
                                                 "error": next((ln for ln in err if "Error" in ln
                                                                or "Exception" in ln), "")[:300]})

    # 3a. shuffle partitions
    shuffle_rows = []
    if not args.no_shuffle:
        cands = [n for n in sizes if n <= (args.shuffle_size or 5e6)]
        sn = int(args.shuffle_size) if args.shuffle_size else (max(cands) if cands else min(sizes))
        if sn not in data:
            print(f"--shuffle-size {sn:,} is not among --lines; skipped")
        else:
            print(f"shuffle partitions at {sn:,} lines (1 run each; 8, the local default, also "
                  "from the runs above)", flush=True)
            for sp in [int(x) for x in args.shuffle.split(",") if x.strip()]:
                r = measure("spark", sn, shuffle=sp)
                if "failed" not in r:
                    shuffle_rows.append((sp, r))

    metas = {n: m for n, (_, m) in data.items()}
    saved = out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    saved.write_text(json.dumps({"duckdb_memory_limit": args.duckdb_memory_limit,
                                 "sizes": sizes, "meta": metas, "results": results,
                                 "reps": reps_of, "shuffle": shuffle_rows,
                                 "shuffle_size": sn if shuffle_rows else None,
                                 "machine": machine(), "load_end": os.getloadavg()[0]}))
    print(f"raw results: {saved} (--report-from merges such files)")
    report(args, sizes, metas, results, reps_of, shuffle_rows)
    return 0


def report_from(args, files: list[str]) -> int:
    """Report from saved runs (several files: the runs of a size and engine are pooled)."""
    sizes: list[int] = []
    meta, results, reps, shuffle = {}, {}, {}, []
    for name in files:
        d = json.loads(Path(name).read_text())
        print(f"from {name}: {d['machine']}; load average at its end {d['load_end']:.1f}; "
              f"ingest DuckDB memory_limit {d.get('duckdb_memory_limit') or '1GB (default)'}")
        for n in d["sizes"]:
            if n not in sizes:
                sizes.append(n)
            meta[n] = d["meta"][str(n)]
            reps[n] = max(reps.get(n, 0), d["reps"][str(n)])
            got = results.setdefault(n, {"duckdb": [], "spark": [], "failed": []})
            for key, runs in d["results"][str(n)].items():  # the runs of every file
                for r in runs:  # files written before the limit was recorded per run
                    r.setdefault("memory_limit", d.get("duckdb_memory_limit") or "1GB")
                got.setdefault(key, []).extend(runs)
        shuffle = [tuple(r) for r in d["shuffle"]] or shuffle
    report(args, sorted(sizes), meta, results, reps, shuffle)
    return 0


def report(args, sizes, meta, results, reps_of, shuffle_rows, shuffle_size=None) -> None:
    """The tables and estimates from measured runs (``meta``: {size: the data's meta})."""
    lines_out: list[str] = []

    def say(text: str = "") -> None:
        print(text)
        lines_out.append(text)

    say()
    say("| lines | engine | runs | ingest s | mining s | total s | peak driver RSS MB | "
        "peak JVM RSS MB | itemsets (len 1/2/3) | same? |")
    say("|---:|---|---:|---:|---:|---:|---:|---:|---|---|")
    agg: dict[tuple[int, str], dict] = {}
    for n in sizes:
        d, s = results[n]["duckdb"], results[n]["spark"]
        same = None
        if d and s:
            keys = {same_key(r) for r in d + s}
            same = len(keys) == 1
        fails = results[n].get("failed", [])
        for engine, rs in (("duckdb", d), ("spark", s)):
            if not rs:
                why = next((f"{x['why']}: {x['error']}" for x in fails if x["engine"] == engine),
                           None)
                if why:
                    say(f"| {meta[n]['lines']:,} | {engine} | 0 | FAILED | {why[:90]} "
                        "| | | | | |")
                continue
            a = {"ingest": med(r["ingest_s"] for r in rs), "mine": med(r["mine_s"] for r in rs),
                 "total": med(r["ingest_s"] + r["mine_s"] for r in rs),
                 "peak": max(max(r["ingest_peak_mb"], r["mine_peak_mb"]) for r in rs),
                 "java": max(max(r["ingest_java_mb"], r["mine_java_mb"]) for r in rs),
                 "mine_growth": max(r["mine_peak_mb"] - r["rss_before_mine_mb"] for r in rs),
                 "ingest_peak": max(r["ingest_peak_mb"] for r in rs),
                 "spark_part": med(r.get("ingest_spark_s") for r in rs),
                 "store_part": med(r.get("ingest_store_s") for r in rs),
                 "startup": med(r.get("startup_s") for r in rs),
                 "ws_bytes": rs[0]["ws_bytes"], "runs": len(rs), "r0": rs[0]}
            agg[(n, engine)] = a
            ln = rs[0]["lengths"]
            lens = "/".join(str(ln.get(str(k), 0)) for k in (1, 2, 3))
            say(f"| {meta[n]['lines']:,} | {engine} | {len(rs)} | {a['ingest']:.1f} | "
                f"{a['mine']:.1f} | {a['total']:.1f} | {a['peak']:.0f} | "
                f"{fmt(a['java'], '.0f') if engine == 'spark' else '-'} | {lens} | "
                f"{'-' if same is None else 'yes' if same else 'NO'} |")
    for n in sizes:
        d, s = results[n]["duckdb"], results[n]["spark"]
        reads = {r["summary"]["rows_read"] for r in d + s}
        if len(reads) > 1:
            say(f"\nWARNING {n:,}: rows_read differs between runs/engines ({sorted(reads)}): "
                "the Spark ingest lost rows (a Parquet folder of several part files: see the "
                "module docstring); its timings are not comparable.")
    say()
    say("Ratio spark / duckdb (baseline duckdb, same run; above 1 = Spark slower):")
    say()
    say("| lines | ingest | mining | total | peak driver RSS | Spark ingest split: Spark part s "
        "+ driver DuckDB store s | Spark startup s (not counted) |")
    say("|---:|---:|---:|---:|---:|---|---:|")
    for n in sizes:
        d, s = agg.get((n, "duckdb")), agg.get((n, "spark"))
        if d and s:
            say(f"| {meta[n]['lines']:,} | {s['ingest'] / d['ingest']:.2f} | "
                f"{s['mine'] / d['mine']:.2f} | {s['total'] / d['total']:.2f} | "
                f"{s['peak'] / d['peak']:.2f} | {fmt(s['spark_part'])} + {fmt(s['store_part'])} | "
                f"{fmt(s['startup'])} |")
    say()
    say(f"Mining at min_count = ceil({args.support:g} x kept orders), max_len 3. Seconds: medians "
        f"of the runs; RSS: the largest. Data: synthetic shop, {args.items:,} SKUs (Zipf-like), "
        f"{meta[sizes[0]]['partitions']} Parquet part file(s). Machine shared with other work: "
        "timings carry "
        f"load noise (load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs).")

    fails = [(n, x) for n in sizes for x in results[n].get("failed", [])]
    if fails:
        say()
        say("Failures:")
        for n, x in fails:
            say(f"- {meta[n]['lines']:,} lines, {x['engine']}: {x['why']}: {x['error']}")

    if shuffle_rows:
        say()
        say(f"spark.sql.shuffle.partitions at {shuffle_rows[0][1]['summary']['rows_read']:,} "
            f"lines read (1 run each, AQE {shuffle_rows[0][1].get('aqe')}; min_count "
            f"{', '.join(str(r['min_count']) for _, r in shuffle_rows)}):")
        say()
        say("| shuffle partitions | ingest s | mining s | total s | JVM peak MB |")
        say("|---:|---:|---:|---:|---:|")
        for sp, r in shuffle_rows:
            say(f"| {sp} | {r['ingest_s']:.1f} | {r['mine_s']:.1f} | "
                f"{r['ingest_s'] + r['mine_s']:.1f} | "
                f"{max(r['ingest_java_mb'], r['mine_java_mb']):.0f} |")

    # 3b. where DuckDB's mining runs out of memory
    pts = [(meta[n]["lines"], agg[(n, "duckdb")]) for n in sizes if (n, "duckdb") in agg]
    if pts:
        say()
        say("DuckDB engine memory:")
        xs = [float(x) for x, _ in pts]
        growth = [a["mine_growth"] for _, a in pts]
        ing = [a["ingest_peak"] for _, a in pts]
        for x, a in pts:
            say(f"- {int(x):,} lines: ingest peak {a['ingest_peak']:.0f} MB, mining peak "
                f"{a['peak']:.0f} MB (+{a['mine_growth']:.0f} MB while mining = "
                f"{a['mine_growth'] * 2**20 / x:.0f} B/line), workspace on disk "
                f"{a['ws_bytes'] / 2**20:.0f} MiB")
        before = max(a["r0"]["rss_before_mine_mb"] for _, a in pts)
        limit_mb = args.memory_gib * 1024
        g0, g1 = fit_line(xs, growth)
        lims = [a["r0"].get("memory_limit") or "1GB" for _, a in pts]
        say(f"- ingest peak RSS: {', '.join(f'{v:.0f} MB ({m})' for v, m in zip(ing, lims))}, "
            "with the ingest's DuckDB memory_limit in brackets: the limit bounds DuckDB's buffer "
            "pool (it spills to disk), not the whole process, and not every operator spills: "
            "see Failures for where the store step ran out")
        say(f"- mining growth ~ {g0:.0f} MB + {g1 * 2**20:.0f} B x lines (least squares over "
            f"{len(xs)} point(s){'; through 0 from one point' if len(xs) == 1 else ''}) on top "
            f"of ~{before:.0f} MB held before mining (order_id/item_id strings read into "
            "pandas, then the scipy basket matrix, in the driver)")
        if g1 > 0:
            at = (limit_mb - before - g0) / g1
            say(f"- EXTRAPOLATED (not measured): the mining step's peak reaches "
                f"{args.memory_gib:.0f} GiB at ~{at / 1e6:.0f}M lines of this shape "
                f"(~{mean_basket():.1f} lines an order, {args.items:,} SKUs); the other users "
                "of the machine make the practical limit lower")

    # 4. cluster estimate
    n_big = max((n for n in sizes if (n, "spark") in agg), default=None)
    if n_big:
        say()
        say(f"Cluster estimate for {args.target_lines / 1e6:.0f}M lines (EXTRAPOLATION, not "
            "measured):")
        target = args.target_lines
        sp_pts = [(meta[n]["lines"], agg[(n, "spark")]) for n in sizes if (n, "spark") in agg]
        xs = [float(x) for x, _ in sp_pts]
        cores_local = 2
        big = agg[(n_big, "spark")]
        nb = float(meta[n_big]["lines"])
        spark_part = big["spark_part"] or big["ingest"]
        per_line = (spark_part + big["mine"]) / nb  # fixed costs included: conservative
        _, sl = fit_line(xs, [(a["spark_part"] or a["ingest"]) + a["mine"] for _, a in sp_pts])
        core_s = per_line * cores_local * target  # the parallel part, in core-seconds
        store_line = (big["store_part"] or 0.0) / nb
        per_part = nb / big["r0"]["shuffle"]
        ws_per_line = big["ws_bytes"] / nb
        pq_per_line = meta[n_big]["bytes"] / nb
        say(f"- measured on local[2] at {nb / 1e6:.0f}M lines: Spark-side ingest {spark_part:.0f} s"
            f" + Spark mining {big['mine']:.0f} s = {per_line * 1e6 * cores_local:.0f} "
            f"core-seconds per million lines (2 cores counted as fully ours: pessimistic on a "
            f"shared machine; fixed costs included: the slope over "
            f"{', '.join(f'{x / 1e6:g}M' for x in xs)} is {sl * 1e6 * cores_local:.0f})")
        say(f"- parallel work for {target / 1e6:.0f}M lines: ~{core_s / 3600:.1f} core-hours")
        for execs, cores in ((10, 4), (25, 4), (50, 4)):
            t = core_s / (execs * cores)
            say(f"  - {execs} executors x {cores} cores x 16 GiB: Spark part ~{t / 60:.0f} min")
        say(f"- NOT parallel: the Spark ingest then stores the cleaned rows through the driver's "
            f"DuckDB (core.ingest.store.clean_and_store): {store_line * 1e6:.2f} s per million "
            f"lines at {nb / 1e6:.0f}M, ~{store_line * target / 60:.0f} min for "
            f"{target / 1e6:.0f}M lines on one driver whatever the cluster size, and a workspace "
            f"of ~{ws_per_line * target / GIB:.0f} GiB on the driver's disk ({ws_per_line:.0f} "
            "B/line, the lake Parquet included)")
        bounds = store_limits(sizes, meta, results)
        for limit, (ok, bad) in sorted(bounds.items()):
            lb = _bytes(limit)
            if bad:
                say(f"  - its DuckDB memory_limit {limit}: stored {ok / 1e6:.0f}M lines, ran out "
                    f"at {bad / 1e6:.0f}M, i.e. {lb / bad:.0f}-"
                    f"{lb / ok if ok else float('inf'):.0f}"
                    f" B/line: {target / 1e6:.0f}M lines would need a memory_limit of "
                    f"~{lb / bad * target / GIB:.0f}-"
                    f"{lb / ok * target / GIB if ok else float('inf'):.0f} GiB on the driver")
            elif ok:
                say(f"  - its DuckDB memory_limit {limit}: stored {ok / 1e6:.0f}M lines (no "
                    f"failure seen: at most {lb / ok:.0f} B/line, <= "
                    f"{lb / ok * target / GIB:.0f} GiB at {target / 1e6:.0f}M)")
        say(f"- memory per task follows partition size, not data size: the local run held "
            f"{per_part:,.0f} lines per shuffle partition in a 4 GiB driver heap (2 tasks, JVM "
            f"peak RSS {big['java']:.0f} MB); keep that by setting "
            f"spark.sql.shuffle.partitions >= {math.ceil(target / per_part):,} at "
            f"{target / 1e6:.0f}M lines, then 4 GiB per core is enough; input "
            f"~{pq_per_line * target / GIB:.0f} GiB Parquet ({pq_per_line:.0f} B/line)")
        say("- assumptions: near-linear scaling (no skew beyond this Zipf shape, shuffle and "
            "broadcast costs per line constant), executor cores as fast as these, the same "
            "basket shape; the driver's store step above is the limit, not the executors; "
            "DuckDB-engine mining on one machine is out at this size (see its memory above)")

    if args.md:
        Path(args.md).write_text("\n".join(lines_out) + "\n")


if __name__ == "__main__":
    sys.exit(main())
