"""The Spark engine gives what the DuckDB engine gives (issue 17): the same ingest summary,
lines, items and cleaning examples on messy files; the same itemsets, rules and pair counts.
Runs Spark on ``local[2]``; skipped where pyspark or Java is missing."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from core.engines import check_engine
from core.ingest.engines import engine_ingest
from core.errors import BundleLabError
from core.ingest.load import IngestOptions
from core.workspace import Workspace
from tests.core.spark_fixtures import needs_spark

pytestmark = needs_spark


MESSY = """Invoice,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID
1001,A1,Red mug,2,12/1/2010 8:26,2.55,17850.0
1001,B2,Blue plate,1,12/1/2010 8:26,"1,234.50",17850.0
1001,B2,Blue plate,1,12/1/2010 8:26,"1,234.50",17850.0
1002,A1,Red mug,1,12/2/2010 9:00,2.55,jo@Example.com
1002,C3,\u00a0Green bowl\u00a0,abc,12/2/2010 9:00,3.10,jo@example.com
C1003,A1,Red mug,-1,12/3/2010 10:00,2.55,17850
A1004,X,Adjust bad debt,1,12/3/2010 10:00,11062.06,
1005,POST,POSTAGE,1,12/4/2010 11:00,18.00,12583
1005,M,Manual,1,12/4/2010 11:00,0.85,12583
1005,A1,Red mug,3,12/4/2010 11:00,n/a,12583
1005,B2,Blue plate,2,12/4/2010 11:00,0,12583
1006,N/A,?,1,12/5/2010 12:00,1.00,12583
1006,A1,Red mug,1,2/30/2010 12:00,2.55,12583
1007,A1,Red mug,1,12/6/2010 13:00,2.55,
,B2,Blue plate,1,12/6/2010 13:00,1.00,1
1008,,Nothing,1,12/6/2010 13:00,1.00,1
1009,A1,Red mug,0,12/7/2010 14:00,2.55,2
1009,B2,Blue plate,1,12/7/2010 14:00,$4.00,2
1009,C3,Green bowl,1e1,12/7/2010 14:00,1_000,2
1010,A1,Red mug,1,12/8/2010 15:00,inf,3
1010,B2,Blue plate,1,12/8/2010 15:00,1d,3
1010,C3,Green bowl,2,12/8/2010 15:00,2.5,3
"""

SEMICOLON = """order;item;quantity;date;price;customer
7;Brot;1;01.02.2018 星期四;1,50;k1
7;Kaffee;2;;2,00;
8;Brot;1,5;02.02.2018;1.234,5;k2
8;Tee;1;31.02.2018;€ 3,00;k2
9;Kaffee;1;03.02.2018;2,00;k3
9;Brot;1;03.02.2018;1,50;k3
"""

NO_QUANTITY = """order,item,date
1,coffee,2021-03-01 08:00
1,coffee,2021-03-01 08:00
1,bread,2021-03-01 08:00
2,coffee,2021-03-02 09:00
2,tea,2021-03-02 09:00
2,tea,2021-03-02 09:00
3,bread,2021-03-02 09:00
3,coffee,2021-03-02 09:00
"""

AMPM = """order,item,date,price,customer
1,a,03/01/85 08:00 PM,1,x
1,b,03/01/85 08:00 PM,1,x
2,a,03/01/21 09:00 AM,1,y
2,c,03/01/21 09:00 AM,1,y
3,b,13/01/21 09:00 AM,1,y
"""


def both(tmp_path, name: str, text: str, **options):
    """Ingest ``text`` with each engine into its own workspace: (duckdb ws, spark ws, summaries)."""
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    out = []
    for engine in ("duckdb", "spark"):
        ws = Workspace(tmp_path / f"ws_{engine}")
        summary = engine_ingest(engine, ws, src, dataset="d", options=IngestOptions(**options))
        out.append((ws, summary))
    return out


def assert_same_dataset(a, b):
    (wa, sa), (wb, sb) = a, b
    sa, sb = dict(sa), dict(sb)
    sa.pop("seconds"), sb.pop("seconds")
    assert sa == sb
    pd.testing.assert_frame_equal(wa.lines("d"), wb.lines("d"))
    pd.testing.assert_frame_equal(wa.items("d"), wb.items("d"))
    q = "SELECT reason, line_no, detail FROM dropped_examples ORDER BY ALL"
    with wa.connect() as ca, wb.connect() as cb:
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
        info = "SELECT name, source, catalog, version, options FROM datasets"
        assert ca.execute(info).fetchall() == cb.execute(info).fetchall()


ZONES = """order,item,date,price
1,a,2019-01-02T10:00:00+02:00,1
1,b,2019-01-02T10:00:00+02:00,1
2,a,2019-01-03T23:30:00-05:30,1
2,c,2019-01-03T23:30:00Z,1
3,b,2019-01-04T10:00:00+0100,1
3,c,2019-01-04T10:00:00+01,1
"""

TWO_DIGIT_YEARS = """InvoiceNo,StockCode,InvoiceDate,UnitPrice
1,a,12/1/10 8:26,1
1,b,12/1/10 8:26,1
2,a,12/13/70 9:00,1
2,c,12/13/70 9:00,1
3,b,1/2/68 10:00,1
"""

ISO_VARIANTS = """order,item,timestamp,price
1,a,2019-01-02 10:00:00 UTC,1
1,b,2019-01-02 10:00:00.1234567,1
2,a,2019-01-03  11:00:00,1
2,c,2019-01/03 11:00:00,1
3,b,2019-02-29 10:00:00,1
3,c,2019-01-04T10:00:00.123456789Z,1
"""

ENDINGS = """order,item,quantity,price,customer
1,"none
",1,"1,5
",x
1,"POST
",1,2,x
2,a,1,"3
",17850.0
2,b,1,2,"17850.0
"
"""


@pytest.mark.parametrize("name,text", [("messy.csv", MESSY), ("kasse.csv", SEMICOLON),
                                       ("units.csv", NO_QUANTITY), ("ampm.csv", AMPM),
                                       ("zones.csv", ZONES), ("years.csv", TWO_DIGIT_YEARS),
                                       ("iso.csv", ISO_VARIANTS), ("endings.csv", ENDINGS)])
def test_ingest_same_as_duckdb(spark, tmp_path, name, text):
    a, b = both(tmp_path, name, text)
    assert_same_dataset(a, b)
    summary = b[1]
    assert summary["rows_read"] == summary["rows_kept"] + sum(summary["dropped"].values())


def test_dates_are_read_as_dates(spark, tmp_path):
    """The probes above really hold dates: AM/PM, offsets to UTC, two-digit years (POSIX)."""
    _, (ws, _) = both(tmp_path, "ampm.csv", AMPM)
    assert ws.lines("d").timestamp.min() == pd.Timestamp("1985-03-01 20:00")
    _, (ws, _) = both(tmp_path, "zones.csv", ZONES)
    assert ws.lines("d").timestamp.iloc[0] == pd.Timestamp("2019-01-02 08:00")
    _, (ws, summary) = both(tmp_path, "years.csv", TWO_DIGIT_YEARS)
    assert summary["timestamp_format"] == "%m/%d/%y %H:%M"
    assert sorted(ws.lines("d").timestamp.dt.year.unique()) == [1970, 2010, 2068]


@pytest.mark.parametrize("name,raw", [("sales [2024].csv", MESSY.encode()),
                                      ("a:b{c}.csv", MESSY.encode()),
                                      ("orders.csv", __import__("gzip").compress(MESSY.encode())),
                                      ("plain.csv.gz", MESSY.encode())])
def test_odd_file_names_and_compression(spark, tmp_path, name, raw):
    """Spark reads names as globs and compression from the name: the engine hands it a
    plain-named link whose suffix follows the file's first bytes."""
    src = tmp_path / name
    src.write_bytes(raw)
    out = []
    for engine in ("duckdb", "spark"):
        ws = Workspace(tmp_path / f"odd_{engine}")
        out.append((ws, engine_ingest(engine, ws, src, dataset="d")))
    assert_same_dataset(*out)
    assert out[1][1]["rows_kept"] > 5
    assert not list((tmp_path / "odd_spark" / "tmp").glob("spark-*"))  # links and output gone


def test_bytes_not_utf8_after_the_head(spark, tmp_path):
    """A cp1252 byte past the sniffed head: both engines read the whole file as cp1252."""
    head = "order,item,quantity,price\n" + "".join(f"{i},item{i % 50},1,1.5\n"
                                                   for i in range(60000))
    src = tmp_path / "late.csv"
    src.write_bytes(head.encode() + "60001,Café crème,1,2\n60001,item1,1,1.5\n".encode("cp1252"))
    out = []
    for engine in ("duckdb", "spark"):
        ws = Workspace(tmp_path / f"late_{engine}")
        out.append((ws, engine_ingest(engine, ws, src, dataset="d")))
    assert_same_dataset(*out)
    assert "Café crème" in set(out[1][0].lines("d").item_id)


def test_spark_failure_is_one_sentence(spark, tmp_path):
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(BundleLabError, match="no such file"):
        engine_ingest("spark", ws, (tmp_path / "missing.parquet").resolve().as_uri())
    with pytest.raises(BundleLabError, match="no such file"):
        engine_ingest("spark", ws, (tmp_path / "missing.csv").resolve().as_uri())


def test_messy_file_uses_every_rule(spark, tmp_path):
    """The messy file really exercises the rules the engines must agree on."""
    _, (ws, summary) = both(tmp_path, "messy.csv", MESSY)
    assert set(summary["dropped"]) >= {"missing_order_id", "missing_item_id", "placeholder_item",
                                       "cancellation", "adjustment", "unparseable_quantity",
                                       "non_positive_quantity", "non_product_code",
                                       "unparseable_price", "zero_or_negative_price",
                                       "unparseable_timestamp", "duplicate_row"}
    lines = ws.lines("d")
    assert lines.loc[lines.item_id == "B2", "unit_price"].iloc[0] == 1234.5
    assert set(lines.customer_id.dropna()) >= {"17850", "h_" + __import__("hashlib").sha256(
        b"jo@example.com").hexdigest()[:16]}


def test_ingest_options_and_units(spark, tmp_path):
    a, b = both(tmp_path, "units.csv", NO_QUANTITY, drop_duplicates=True)
    assert b[1]["dropped"] == {"counted_as_quantity": 2}
    a, b = both(tmp_path, "m.csv", MESSY, bad_dates="keep", drop_cancellations=False,
                drop_non_products=False, drop_placeholders=False)
    assert_same_dataset(a, b)


def test_cluster_paths_read_in_place(spark, tmp_path):
    """A file:// URI (as hdfs:// or s3a:// would be) and a Parquet folder written by Spark are
    read where they are and give the dataset a local upload gives."""
    src = tmp_path / "orders.csv"
    src.write_text(MESSY, encoding="utf-8")
    ref = Workspace(tmp_path / "ref")
    engine_ingest("duckdb", ref, src, dataset="d")
    ws = Workspace(tmp_path / "uri")
    summary = engine_ingest("spark", ws, src.resolve().as_uri(), dataset="d")
    assert summary["rows_kept"] == ref.info("d")["rows_kept"]
    pd.testing.assert_frame_equal(ws.lines("d"), ref.lines("d"))
    assert ws.info("d")["source"] == src.resolve().as_uri()
    folder = tmp_path / "lake_orders"
    spark.read.option("header", True).csv(str(src)).coalesce(1).write.parquet(str(folder))
    ws2 = Workspace(tmp_path / "parquet")
    engine_ingest("spark", ws2, folder.resolve().as_uri(), dataset="d")
    pd.testing.assert_frame_equal(ws2.lines("d"), ref.lines("d"))


def test_parquet_folder_of_many_parts(spark, tmp_path):
    """A folder of 12 part files of different sizes (Spark packs them by size and sorts them
    between jobs): every row is read once, numbered in the parts' name order, as on DuckDB."""
    src = tmp_path / "shop.csv"
    src.write_text(synthetic_shop(600), encoding="utf-8")
    folder = tmp_path / "parts"
    (spark.read.option("header", True).csv(str(src)).repartition(12, "order")
     .write.parquet(folder.resolve().as_uri()))
    assert len(list(folder.glob("*.parquet"))) >= 8
    out = []
    for engine in ("duckdb", "spark"):
        ws = Workspace(tmp_path / f"parts_{engine}")
        out.append((ws, engine_ingest(engine, ws, folder, dataset="d")))
    assert_same_dataset(*out)
    assert out[1][1]["rows_read"] == sum(1 for _ in src.open()) - 1


def synthetic_shop(n_orders: int = 400, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    rows = ["order,item,qty,price,customer,when"]
    for o in range(n_orders):
        size = int(rng.integers(1, 7))
        items = rng.choice(30, size=size, replace=False, p=np.arange(30, 0, -1) / 465)
        if o % 3 == 0:
            items = np.union1d(items, [0, 1, 2])  # a frequent triple
        for i in items:
            rows.append(f"{o},item{i:02d},1,2.5,c{o % 50},2021-01-{1 + o % 28:02d} 10:00")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("max_len", [3, 0])
def test_itemsets_and_rules_same_as_duckdb(spark, tmp_path, max_len):
    """Length-capped level-wise counting (max_len 3) and FPGrowth (no cap) give the DuckDB
    engine's itemsets, counts, rules and metrics, in the same order."""
    from core.rules.association import RuleParams
    from core.rules.itemsets import MiningParams
    from core.rules.mining import clear_cache, mine

    (wa, _), (wb, _) = both(tmp_path, "shop.csv", synthetic_shop())
    mining = MiningParams(min_support=8, max_len=max_len)
    clear_cache()
    ra = mine(wa, "d", mining=mining, rules=RuleParams(min_confidence=0.05), engine="duckdb")
    rb = mine(wb, "d", mining=mining, rules=RuleParams(min_confidence=0.05), engine="spark")
    assert ra.itemsets.lengths() == rb.itemsets.lengths()
    assert max(ra.itemsets.lengths()) >= 3
    for k in ra.itemsets.sets:
        np.testing.assert_array_equal(ra.itemsets.sets[k], rb.itemsets.sets[k])
        np.testing.assert_array_equal(ra.itemsets.counts[k], rb.itemsets.counts[k])
    assert len(ra.rules) > 10
    pd.testing.assert_frame_equal(ra.rules, rb.rules)


def test_too_many_itemsets_same_guard(spark, tmp_path):
    from core.errors import TooManyItemsets
    from core.rules.itemsets import MiningParams
    from core.rules.mining import clear_cache, mine_dataset_itemsets

    (wa, _), (wb, _) = both(tmp_path, "shop.csv", synthetic_shop())
    mining = MiningParams(min_support=2, max_len=3, max_itemsets=50)
    clear_cache()
    errors = []
    for ws, engine in ((wa, "duckdb"), (wb, "spark")):
        with pytest.raises(TooManyItemsets) as exc:
            mine_dataset_itemsets(ws, "d", mining=mining, engine=engine)
        errors.append(str(exc.value))
    assert "Raise min_support" in errors[1]


def test_pair_counts_match_cooccurrence(spark, tmp_path):
    import scipy.sparse as sp

    from core.baskets import build_baskets
    from core.engines.spark.mining import kept_lines, spark_pair_counts

    (_, _), (wb, _) = both(tmp_path, "shop.csv", synthetic_shop(200))
    got = spark_pair_counts(kept_lines(spark, wb, "d"), min_count=2)
    b = build_baskets(wb.lines("d"))
    x = b.matrix.astype(np.int64)
    co = sp.triu((x.T @ x).tocsr(), k=1).tocoo()
    want = pd.DataFrame({"item_a": b.item_ids[co.row], "item_b": b.item_ids[co.col],
                         "orders": co.data})
    want = want[want.orders >= 2].sort_values(["item_a", "item_b"], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_cli_mine_json_same(spark, tmp_path, capsys):
    from core.cli.main import main
    from core.rules.mining import clear_cache

    src = tmp_path / "shop.csv"
    src.write_text(synthetic_shop(), encoding="utf-8")
    out = {}
    for engine in ("duckdb", "spark"):
        ws = str(tmp_path / f"cli_{engine}")
        assert main(["ingest", str(src), "--workspace", ws, "--engine", engine, "--json"]) == 0
        clear_cache()
        assert main(["mine", "--workspace", ws, "--min-support", "auto", "--engine", engine,
                     "--out", str(tmp_path / f"rules_{engine}.csv"), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        summary.pop("seconds"), summary.pop("out")
        out[engine] = summary
    assert out["duckdb"] == out["spark"]
    assert (tmp_path / "rules_duckdb.csv").read_bytes() == (tmp_path / "rules_spark.csv").read_bytes()


def test_engine_names_and_missing_spark(monkeypatch):
    assert check_engine(None) == "duckdb"
    with pytest.raises(BundleLabError, match="unknown engine"):
        check_engine("hadoop")
    import core.engines.spark.session as session

    monkeypatch.setattr(session, "spark_available", lambda: "no Java runtime was found")
    monkeypatch.setattr(session, "_SESSION", None)
    with pytest.raises(BundleLabError, match="cannot start: no Java runtime"):
        session.spark_session("local[1]")


def test_lake_follows_the_dataset(spark, tmp_path):
    """The Spark ingest's Parquet lives under lake/<dataset>/v<version>; a new version replaces
    it and deleting the dataset removes it."""
    from core.engines.spark.ingest import lake_dir

    (_, _), (wb, _) = both(tmp_path, "shop.csv", synthetic_shop(50))
    assert lake_dir(wb, "d", 1).is_dir()
    engine_ingest("spark", wb, tmp_path / "shop.csv", dataset="d")
    assert lake_dir(wb, "d", 2).is_dir() and not lake_dir(wb, "d", 1).exists()
    wb.delete("d")
    assert not lake_dir(wb, "d").exists()
    shutil.rmtree(tmp_path / "ws_duckdb", ignore_errors=True)


def test_typed_parquet_same_as_duckdb(spark, tmp_path):
    """A typed Parquet export (ids stored as doubles, timestamps, decimals) reads the same on
    both engines: whole floats lose their '.0' on both."""
    frame = pd.DataFrame({
        "InvoiceNo": [536365.0, 536365.0, 536366.0, 536366.0, 536367.0],
        "StockCode": ["85123A", "71053", "85123A", "22633", "71053"],
        "Quantity": [6, 6, 2, -1, 3],
        "InvoiceDate": pd.to_datetime(["2010-12-01 08:26", "2010-12-01 08:26", "2010-12-01 08:28",
                                       "2010-12-01 08:28", "2010-12-02 09:00"]),
        "UnitPrice": [2.55, 3.39, 1.85, 1.85, 0.5],
        "CustomerID": [17850.0, 17850.0, np.nan, np.nan, 13047.0]})
    src = tmp_path / "orders.parquet"
    frame.to_parquet(src, index=False)
    out = []
    for engine in ("duckdb", "spark"):
        ws = Workspace(tmp_path / f"pq_{engine}")
        out.append((ws, engine_ingest(engine, ws, src, dataset="d")))
    assert_same_dataset(*out)
    assert set(out[1][0].lines("d").order_id) == {"536365", "536366", "536367"}
