"""The Spark engine's held-out split and co-purchase counts give what the default engine gives
(issue 17): the same cut, the same training and test orders and the same errors as
``temporal_split``; the kept co-purchase counts equal counting on the driver, are used only for
exactly the orders they describe, and leave fine-tuning pairs, bundle candidates and the whole
``run`` unchanged. Spark on ``local[2]``; skipped where pyspark or Java is missing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.baskets import build_baskets, temporal_split
from core.errors import BundleLabError
from core.ingest.engines import engine_ingest
from core.workspace import Workspace
from tests.core.spark_fixtures import needs_spark

pytestmark = needs_spark


WORDS = ("coffee beans", "white bread", "green tea", "oat milk", "dark chocolate", "paper cups",
         "honey jar", "butter croissant", "espresso machine", "sugar cubes", "teapot",
         "milk frother", "biscuit tin", "jam", "cereal bowl", "kettle", "napkins", "lemon cake",
         "coffee filter", "mug")


def shop(n_orders: int = 300, *, dated: bool = True, undated_every: int | None = 17,
         seed: int = 1) -> str:
    """Orders in shuffled file order, over three months at all hours; every
    ``undated_every``-th order without a date (None: all dated)."""
    rng = np.random.default_rng(seed)
    rows = ["order,item,description,qty,price,customer" + (",date" if dated else "")]
    for o in rng.permutation(n_orders):
        items = rng.choice(20, size=int(rng.integers(1, 5)), replace=False,
                           p=np.arange(20, 0, -1) / 210)
        when = "" if undated_every and o % undated_every == 0 else \
            f"2021-0{1 + o % 3}-{1 + o % 27:02d} {o % 24:02d}:{o % 60:02d}"
        for i in items:
            rows.append(f"o{o},it{i:02d},{WORDS[i]},1,2.5,c{o % 40}" + (f",{when}" if dated else ""))
    return "\n".join(rows) + "\n"


def workspaces(tmp_path, text: str, name: str = "d"):
    """The same file loaded by each engine: {engine: workspace}."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / f"{name}.csv"
    src.write_text(text, encoding="utf-8")
    out = {}
    for engine in ("duckdb", "spark"):
        out[engine] = Workspace(tmp_path / f"ws_{engine}")
        engine_ingest(engine, out[engine], src, dataset=name)
    return out


def assert_same_split(spark, ws, name, cut=None):
    from core.engines.spark.split import spark_split

    lines = ws.lines(name)
    want = temporal_split(lines, cut)
    got = spark_split(spark, ws, name, cut)
    split = got.split(lines)
    assert split.cut == want.cut
    pd.testing.assert_frame_equal(split.train, want.train)
    pd.testing.assert_frame_equal(split.test, want.test)
    assert (got.n_train, got.n_test) == (want.train.order_id.nunique(),
                                         want.test.order_id.nunique())


@pytest.mark.parametrize("dated", [True, False])
def test_split_same_as_temporal_split(spark, tmp_path, dated):
    """Default cut (some orders undated), a given cut, and file order without dates; from the
    Spark ingest's lake table and from a dataset the default engine loaded."""
    for ws in workspaces(tmp_path, shop(dated=dated)).values():
        assert_same_split(spark, ws, "d")
        if dated:
            assert_same_split(spark, ws, "d", "2021-02-10")
            assert_same_split(spark, ws, "d", "2021-01-02")  # one training day only
            assert_same_split(spark, ws, "d", "2021-02-10T00:00+05:00")  # the day as written
            assert_same_split(spark, ws, "d", "0999-01-01")  # only undated orders train


def test_split_errors_word_for_word(spark, tmp_path):
    from core.engines.spark.split import spark_split

    ws = workspaces(tmp_path, shop(60, undated_every=None))["spark"]
    for cut in ("2020-01-01", "2030-01-01"):
        with pytest.raises(BundleLabError) as want:
            temporal_split(ws.lines("d"), cut)
        with pytest.raises(BundleLabError) as got:
            spark_split(spark, ws, "d", cut)
        assert str(got.value) == str(want.value)
    one_day = "order,item,date\n" + "".join(f"o{i},a{i % 3},2021-05-05 1{i % 9}:00\n"
                                             for i in range(30))
    undated = "order,item\n" + "".join(f"o{i},a{i % 3}\n" for i in range(30))
    for name, text, cut in (("one_day", one_day, None), ("undated", undated, "2021-01-01")):
        ws = workspaces(tmp_path / name, text, name)["spark"]
        with pytest.raises(BundleLabError) as want:
            temporal_split(ws.lines(name), cut)
        with pytest.raises(BundleLabError) as got:
            spark_split(spark, ws, name, cut)
        assert str(got.value) == str(want.value)


def test_kept_pair_counts_equal_and_only_for_their_orders(spark, tmp_path):
    from core.engines.spark.mining import store_pair_counts
    from core.rules.copurchase import stored_cooccurrence
    from core.text.pairs import cooccurrence

    ws = workspaces(tmp_path, shop(200))["spark"]
    items = ws.items("d")["item_id"].astype(str).tolist()
    everything = build_baskets(ws.lines("d"), item_ids=items)
    assert stored_cooccurrence(ws, "d", everything) is None  # nothing counted yet
    done = store_pair_counts(spark, ws, "d")
    assert done["items"] == len(items) and done["pairs"] > 0 and done["kept"]
    kept = stored_cooccurrence(ws, "d", everything)
    want = cooccurrence(everything)
    want.sort_indices()
    assert (kept != want).nnz == 0 and kept.dtype == want.dtype
    assert kept.has_sorted_indices
    # a training period, or the orders in another item order: not the same baskets
    train = build_baskets(temporal_split(ws.lines("d")).train, item_ids=items)
    assert stored_cooccurrence(ws, "d", train) is None
    reordered = build_baskets(ws.lines("d"), item_ids=items[::-1])
    assert (stored_cooccurrence(ws, "d", reordered) != cooccurrence(reordered)).nnz == 0
    engine_ingest("spark", ws, tmp_path / "d.csv", dataset="d")  # a new version: stale
    assert stored_cooccurrence(ws, "d", everything) is None
    store_pair_counts(spark, ws, "d")
    assert stored_cooccurrence(ws, "d", everything) is not None
    ws.delete("d")  # deleted and loaded again under the same name: version 1 once more
    engine_ingest("spark", ws, tmp_path / "d.csv", dataset="d")
    assert ws.info("d")["version"] == 1 and stored_cooccurrence(ws, "d", everything) is None


def test_pairs_and_candidates_same_with_kept_counts(spark, tmp_path, monkeypatch):
    """Fine-tuning pairs and bundle candidates' co-counts read the kept counts (the local count
    is not called) and come out the same."""
    import core.text.pairs as text_pairs
    from core.bundles.candidates import co_counts
    from core.engines.spark.mining import store_pair_counts
    from core.text.finetune import training_pairs
    from core.text.params import FinetuneParams

    ws = workspaces(tmp_path, shop(200))["spark"]
    items = ws.items("d")
    params = FinetuneParams(min_cocount=2)
    want, n = training_pairs(ws, "d", items, cut=None, params=params)
    store_pair_counts(spark, ws, "d")

    def refuse(_):
        raise AssertionError("counted on the driver although Spark's counts are kept")

    monkeypatch.setattr(text_pairs, "cooccurrence", refuse)
    got, m = training_pairs(ws, "d", items, cut=None, params=params)
    assert len(want) > 10 and n == m
    pd.testing.assert_frame_equal(got, want)

    from core.rules.copurchase import stored_pair_counts

    b = build_baskets(ws.lines("d"), item_ids=items["item_id"].astype(str).tolist())
    sets = [(0, 1), (2, 5), (1, 3, 4), (7, 19), (0, 2, 3)]
    csc = b.matrix.tocsc()
    kept = stored_pair_counts(ws, "d", b)
    assert kept is not None and kept.fits(b.item_counts())
    assert np.array_equal(co_counts(csc, sets, kept), co_counts(csc, sets))
    # the counts of all orders handed to a part of them (a fit's earlier orders): not used
    part = b.matrix[:80].tocsc()
    assert not kept.fits(np.diff(part.indptr))
    assert np.array_equal(co_counts(part, sets, kept), co_counts(part, sets))


def test_cli_run_and_evaluate_same_on_both_engines(spark, tmp_path, capsys):
    """``run --engine spark`` gives the default engine's bundle file and JSON summary; ``evaluate
    --engine spark`` holds out the same orders (the same cut and the same scores)."""
    from core.cli.main import main
    from core.rules.mining import clear_cache

    src = tmp_path / "shop.csv"
    src.write_text(shop(400, undated_every=None), encoding="utf-8")
    out = {}
    for engine in ("duckdb", "spark"):
        ws = str(tmp_path / f"cli_{engine}")
        clear_cache()
        assert main(["run", str(src), "--workspace", ws, "--engine", engine, "--no-text",
                     "--out", str(tmp_path / f"bundles_{engine}.csv"), "--json"]) == 0
        run = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert main(["evaluate", "--workspace", ws, "--engine", engine, "--only", "bundles",
                     "--json"]) == 0
        evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        for d in (run, evaluated):
            d.pop("seconds"), d.pop("out", None), d.pop("list_id", None)
        out[engine] = (run, evaluated)
    assert out["duckdb"] == out["spark"]
    assert out["spark"][0]["bundles"] > 0 and out["spark"][1]["cut"]
    assert (tmp_path / "bundles_duckdb.csv").read_bytes() == \
        (tmp_path / "bundles_spark.csv").read_bytes()
    assert any((tmp_path / "cli_spark" / "lake" / "shop").glob("pairs-v1-*.parquet"))
