"""ALS on Spark (``core.recommend.als``), the optional recommender ``als``: the estimator contract,
a shop of two disjoint customer groups (group A buys items 0-4, group B items 5-9), determinism
for a seed, the fold-in of ad-hoc histories, save/load without Spark, and the evaluation's
opt-in. The registry and missing-Spark tests run everywhere; the rest need pyspark and Java
(skipped with the reason otherwise) and share one ``local[2]`` session."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import BundleLabError
from core.recommend import build_history, load_recommender, make_recommender
from core.recommend.registry import DEFAULT_METHODS, METHODS, OPTIONAL, check_available
from tests.core.spark_fixtures import needs_spark

ROOT = Path(__file__).resolve().parents[2]
# pyspark 4.3 warns at its start that pandas 3 is not fully supported (the frames here are plain
# integer and float columns)
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning")
TINY = {"rank": 4, "max_iter": 5, "reg": 0.05, "alpha": 10.0, "seed": 0}
GROUP_A = [f"i{j}" for j in range(5)]
GROUP_B = [f"i{j}" for j in range(5, 10)]


def two_groups(n_customers: int = 20, n_orders: int = 4, seed: int = 0) -> pd.DataFrame:
    """Customers c0..: even ones buy 2-3 items of group A per order, odd ones of group B."""
    rng = np.random.default_rng(seed)
    rows, order, t0 = [], 0, pd.Timestamp("2024-01-01")
    for c in range(n_customers):
        group = GROUP_A if c % 2 == 0 else GROUP_B
        for o in range(n_orders):
            order += 1
            for item in rng.choice(group, size=int(rng.integers(2, 4)), replace=False):
                rows.append((f"o{order}", str(item), f"c{c}", t0 + pd.Timedelta(days=7 * o)))
    return pd.DataFrame(rows, columns=["order_id", "item_id", "customer_id", "timestamp"])


# ---------------------------------------------------------------------------- everywhere
def test_als_is_registered_as_an_optional_method():
    from core.recommend.choose import CANDIDATES

    assert "als" in METHODS and "als" in OPTIONAL       # recommend --method als
    assert "als" not in DEFAULT_METHODS and "als" not in CANDIDATES   # never by default
    model = make_recommender("als")                      # constructing starts nothing
    assert model.get_params() == {"rank": 32, "reg": 0.05, "alpha": 10.0, "max_iter": 10,
                                  "seed": 0, "master": None}
    with pytest.raises(BundleLabError, match="als rank and max_iter"):
        make_recommender("als", rank=0)
    from core.recommend.als import MAX_BLOCKS, PAIRS_PER_BLOCK, blocks_for

    assert blocks_for(100) == 1 and blocks_for(PAIRS_PER_BLOCK) == 2   # data, not cores
    assert blocks_for(10**12) == MAX_BLOCKS


def test_without_spark_the_error_says_what_is_missing(monkeypatch):
    from core.recommend import als

    monkeypatch.setattr(als, "spark_problem", lambda: "pyspark is not installed (pip install "
                        "pyspark==4.3.0)")
    with pytest.raises(BundleLabError, match="runs on Apache Spark.*pyspark is not installed"):
        check_available("als")
    with pytest.raises(BundleLabError, match="Pick another method"):
        make_recommender("als").fit(build_history(two_groups(4, 2)))
    check_available("gp_topfreq")   # the others need nothing more


def test_cli_accepts_method_als():
    import argparse

    from core.cli.recommend import add_recommend

    parser = argparse.ArgumentParser()
    add_recommend(parser.add_subparsers())
    args = parser.parse_args(["recommend", "--method", "als"])
    assert args.method == "als"


# ---------------------------------------------------------------------------- with Spark
# (the ``spark`` fixture: tests/core/conftest.py)
@pytest.fixture(scope="module")
def history():
    return build_history(two_groups())


@pytest.fixture(scope="module")
def fitted(spark, history):
    return make_recommender("als", **TINY).fit(history)


@needs_spark
def test_contract_and_groups(fitted, history):
    model = fitted
    assert model.name == "als"
    assert all(k.endswith("_") for k in vars(model) if not k.startswith("_")
               and k not in model.get_params())
    assert model.user_factors_.shape == (history.n_customers, 4)
    assert model.item_factors_.shape == (history.n_items, 4) and model.has_factor_.all()
    customers = [f"c{c}" for c in range(10)]
    ids, scores = model.recommend(customers, k=5)
    assert ids.shape == scores.shape == (10, 5)
    assert np.all(np.diff(scores, axis=1) <= 1e-9), "best first"
    for c, row in zip(range(10), ids):      # the 5 best are the customer's own group's 5 items
        assert set(row) == set(GROUP_A if c % 2 == 0 else GROUP_B), (c, row)
    # bought items are not filtered (as every method: repeats are next-basket data); the
    # exclude argument drops items per call
    ids2, _ = model.recommend(["c1"], k=3, exclude=[["i5", "i6"]])
    assert not {"i5", "i6"} & set(ids2[0]) and set(ids2[0]) <= set(GROUP_B)
    b = history.batch(customers)
    np.testing.assert_allclose(model.score_items(b, np.array([7, 2])), model.score(b)[:, [7, 2]])
    with pytest.raises(BundleLabError, match="no orders in the training data"):
        model.recommend(["nobody"], k=3)


@needs_spark
def test_fold_in_matches_the_learned_factors_and_completes_a_basket(fitted, history):
    """Spark's last half-step solves each user's normal equation against the final item
    factors: the fold-in of a training customer's counts gives back their learned factor."""
    b = history.batch(list(history.customer_ids))
    np.testing.assert_allclose(fitted.fold_in(b.counts()), fitted.user_factors_, atol=1e-4)
    ids, _ = fitted.recommend([[["i5", "i6"]]], k=3, exclude=[["i5", "i6"]])
    assert set(ids[0][:2]) <= set(GROUP_B), ids    # rank 4: the group's weakest item may trail
    ids, scores = fitted.recommend([[["nothing-known"]]], k=3)   # zero vector: popularity order
    assert np.isfinite(scores).all()


@needs_spark
def test_deterministic_for_a_seed(fitted, history):
    again = make_recommender("als", **TINY).fit(history)
    np.testing.assert_array_equal(again.user_factors_, fitted.user_factors_)
    np.testing.assert_array_equal(again.item_factors_, fitted.item_factors_)
    other = make_recommender("als", **{**TINY, "seed": 1}).fit(history)
    assert not np.allclose(other.item_factors_, fitted.item_factors_)


@needs_spark
def test_save_load_gives_the_same_scores_without_spark(fitted, tmp_path):
    fitted.save(tmp_path / "als")
    files = sorted(p.name for p in (tmp_path / "als").iterdir())
    assert all(f.endswith((".json", ".safetensors")) for f in files), files   # nothing pickled
    users = ["c0", "c1", "c7"]
    ids, scores = fitted.recommend(users, 6)
    loaded = load_recommender(tmp_path / "als")
    assert loaded.get_params() == fitted.get_params()
    ids2, scores2 = loaded.recommend(users, 6)
    assert (ids == ids2).all()
    np.testing.assert_allclose(scores, scores2, rtol=1e-6)
    np.save(tmp_path / "scores.npy", scores)
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from core.recommend.registry import load_recommender

        model = load_recommender(r"{tmp_path / 'als'}")
        _, scores = model.recommend({users!r}, 6)
        np.testing.assert_allclose(scores, np.load(r"{tmp_path / 'scores.npy'}"), rtol=1e-6)
        assert "pyspark" not in sys.modules, "pyspark was imported"
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


@needs_spark
def test_more_iterations_than_a_checkpoint_interval(spark, history):
    """Past ``CHECKPOINT_EVERY`` iterations ALS checkpoints (a temporary directory on a local
    master): 20 iterations without it overflowed the executors' stack on the sample data."""
    from core.recommend.als import CHECKPOINT_EVERY

    model = make_recommender("als", **{**TINY, "max_iter": CHECKPOINT_EVERY + 2}).fit(history)
    assert spark.sparkContext.getCheckpointDir()
    ids, _ = model.recommend(["c0"], k=5)
    assert set(ids[0]) == set(GROUP_A)


@needs_spark
def test_evaluation_includes_als_only_when_asked(spark):
    from core.baskets import temporal_split
    from core.evaluate.recommender import recommender_block
    from core.evaluate.run import EvalContext

    lines = two_groups(n_customers=20, n_orders=5)
    split = temporal_split(lines, "2024-01-29")   # orders 1-4 train, order 5 test
    tiny_neural = {"dim": 8, "epochs": 2, "batch_size": 16, "max_seconds": 10.0}
    ctx = EvalContext(ws=None, dataset="two_groups", split=split, items=None,
                      options={"recommender": {"text": "none", "neural": tiny_neural,
                                               "als": TINY}})
    block = dict(recommender_block(ctx, extra_methods=("als",)))
    block.pop("chosen")
    assert set(block) == {*DEFAULT_METHODS, "als"}
    als = block["als"]
    assert als["customers"] == 20 and als["hit@10"] == 1.0   # 10 items: every target is listed
    assert 0.0 < als["ndcg@10"] <= 1.0 and als["explore_hits"] + als["repeat_hits"] > 0
    with pytest.raises(BundleLabError, match="unknown recommender.*'magic'"):
        recommender_block(ctx, extra_methods=("magic",))
    # the same opt-in through evaluate(options=...): ctx.options["recommender"]["extra_methods"]
    ctx.options["recommender"]["extra_methods"] = ["magic"]
    with pytest.raises(BundleLabError, match="unknown recommender.*'magic'"):
        recommender_block(ctx)
