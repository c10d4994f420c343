"""ALS on Apache Spark (``pyspark.ml.recommendation.ALS``, implicit feedback: Hu, Koren & Volinsky,
"Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008), an optional method: it needs
pyspark and a Java runtime, and a Spark start (~4-8 s), so neither the automatic choice
(``core.recommend.choose.CANDIDATES``) nor the default evaluation rows run it; it is trained when
asked for (``recommend --method als``, the evaluation's ``extra_methods``).

Fit: one (customer, item, count) triple per customer and item they bought, count = the number of
their orders holding it, over the history's own integer indices (row of ``customer_ids``,
column of ``item_ids``), given to Spark's ALS (``implicitPrefs``: preference 1, confidence
1 + ``alpha`` * count; ``regParam`` = ``reg``, which Spark scales by each row's number of items).
The learned factors come back to numpy (customers x rank, items x rank, small), so scoring is a
local dot product, never a Spark job, and a saved model (the factors in safetensors) loads and
scores without Spark.

Scoring: a known customer: user factor . item factors. An ad-hoc history (a basket to complete)
is folded in with the same normal equation Spark solves for a user (its last half-step):
x = (Y'Y + Y_u' C1_u Y_u + reg * n_u * I)^-1 Y_u' (1 + C1_u), C1 = alpha * count, n_u = the items
bought (the learned user factors are exactly that for the training customers). Nothing is
excluded: items bought before score as the model says, like every method of the registry (repeat
purchases are what next-basket data holds; the ``exclude`` of ``recommend`` drops items per
call). Items without a factor (no training orders) rank below every item with one; exact ties go
to the more popular item (a 1e-9 nudge).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from core.errors import BundleLabError
from core.progress import report
from core.recommend.base import Recommender
from core.recommend.baselines import _popularity_ranks
from core.recommend.history import PurchaseHistory, UserBatch

# Spark's ALS blocks per side: from the data's size, never the master's cores, so that a seed
# gives the same factors on every machine (the blocks fix the initial factors and the order of
# the sums). One block per PAIRS_PER_BLOCK customer-item pairs: below that, Spark's per-task
# overhead is the fit's time (sample data, 58,000 pairs, 10 iterations on 2 cores: 3.6 s with
# one block, 4.3 s with two, 5.9 s with four; the 20-customer test shop: 1.0 / 2.0 / 2.1 s)
PAIRS_PER_BLOCK = 250_000
MAX_BLOCKS = 16
ARROW = "spark.sql.execution.arrow.pyspark.enabled"
# Spark's ALS cuts its lineage by a checkpoint every this many iterations, but only when the
# context has a checkpoint directory: without one, 20 iterations overflowed the executors' stack
# (StackOverflowError deserializing the tasks, sample data, local[*]); a local master gets a
# temporary one (removed when the process ends)
CHECKPOINT_EVERY = 10
UNSCORED = -1e6   # items without a factor: below every ALS score, ordered by popularity
# Seconds, for the estimate (core.recommend.estimate): a Spark start (local[*], 2 cores: 3.6 s,
# 10 s on a busy machine) and the first fit in a process on the sample data's training part
# (sample_data/, 47,148 customer-item pairs, 10 iterations, rank 32: 7.5-13 s with the machine's
# load, the JVM warming up; 3-4 s warm), taken as linear in pairs x iterations
SPARK_START_SECONDS = 4.0
FIT_MEASURED = (47_148 * 10, 8.0)


def spark_problem() -> str | None:
    """None when Spark can run here, else why not (in words)."""
    from core.engines.spark.session import spark_available

    return spark_available()


def expected_seconds(history: PurchaseHistory, max_iter: int = 10) -> float:
    """Predicted seconds of a fit on ``history`` (``FIT_MEASURED``), a Spark start included
    when the process has no session yet."""
    work, seconds = FIT_MEASURED
    fit = seconds * max(1.0, history.user_items().nnz * int(max_iter) / work)
    try:
        from pyspark.sql import SparkSession
        running = SparkSession.getActiveSession() is not None
    except ImportError:
        running = False
    return fit + (0.0 if running else SPARK_START_SECONDS)


def blocks_for(pairs: int) -> int:
    """Spark ALS blocks (per side) for ``pairs`` customer-item pairs (see ``PAIRS_PER_BLOCK``)."""
    return int(min(MAX_BLOCKS, 1 + pairs // PAIRS_PER_BLOCK))


def triples(history: PurchaseHistory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, count) over the history's indices: count = the user's orders holding the
    item, one triple per (user, item) bought."""
    coo = history.user_items().tocoo()
    return (coo.row.astype(np.int32), coo.col.astype(np.int32),
            coo.data.astype(np.float32))


def _checkpoints(spark, max_iter: int) -> None:
    """Make sure ALS can checkpoint when it runs more than ``CHECKPOINT_EVERY`` iterations."""
    sc = spark.sparkContext
    if max_iter <= CHECKPOINT_EVERY or sc.getCheckpointDir():
        return
    if not str(sc.master).startswith("local"):
        raise BundleLabError(f"als with max_iter={max_iter} needs a Spark checkpoint directory on "
                             f"this cluster (SparkContext.setCheckpointDir), or max_iter <= "
                             f"{CHECKPOINT_EVERY}")
    path = tempfile.mkdtemp(prefix="bundlelab-als-checkpoints-")
    atexit.register(shutil.rmtree, path, True)
    sc.setCheckpointDir(path)


@contextmanager
def _arrow(spark):
    """Arrow transfers between pandas and Spark (``createDataFrame``, ``toPandas``) inside the
    block; the session's setting is restored after."""
    old = spark.conf.get(ARROW, "false")
    spark.conf.set(ARROW, "true")
    try:
        yield
    finally:
        spark.conf.set(ARROW, old)


@contextmanager
def _quiet():
    """PySpark's warning that it does not yet fully support pandas 3, silenced: the frames here
    are plain integer and float columns."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                                category=FutureWarning)
        yield


def _factors(frame, n: int, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(n x rank float32 factors, bool mask of the rows Spark returned) from a
    ``userFactors``/``itemFactors`` DataFrame (``id``, ``features``)."""
    pdf = frame.toPandas()
    out = np.zeros((n, rank), dtype=np.float32)
    has = np.zeros(n, dtype=bool)
    if len(pdf):
        ids = pdf["id"].to_numpy(dtype=np.int64)
        out[ids] = np.stack([np.asarray(f, dtype=np.float32) for f in pdf["features"]])
        has[ids] = True
    return out, has


class ALSRecommender(Recommender):
    """Implicit ALS trained by Spark (module docstring): ``rank`` (factor size), ``reg``
    (Spark's ``regParam``), ``alpha`` (confidence per order: 1 + alpha * count), ``max_iter``,
    ``seed``, ``master`` (the Spark master; None: the process's session, or
    ``$BUNDLELAB_SPARK_MASTER`` / ``local[*]`` when it starts one)."""

    name = "als"

    def __init__(self, *, rank: int = 32, reg: float = 0.05, alpha: float = 10.0,
                 max_iter: int = 10, seed: int = 0, master: str | None = None) -> None:
        if int(rank) < 1 or int(max_iter) < 1:
            raise BundleLabError(f"als rank and max_iter must be >= 1, got {rank} and {max_iter}")
        if float(reg) < 0 or float(alpha) < 0:
            raise BundleLabError(f"als reg and alpha must be >= 0, got {reg} and {alpha}")
        self._set_params(rank=rank, reg=reg, alpha=alpha, max_iter=max_iter, seed=seed,
                         master=master)

    @classmethod
    def unavailable(cls) -> str | None:
        """None when the model can be trained here, else the sentence saying why not (a saved
        model loads and scores without Spark either way)."""
        problem = spark_problem()
        if problem is None:
            return None
        return (f"the als recommender runs on Apache Spark, which cannot start here: {problem}. "
                "Pick another method (e.g. --method auto)")

    # ------------------------------------------------------------------ fitting
    def _fit(self, history: PurchaseHistory, item_text_vectors, progress) -> None:
        problem = self.unavailable()
        if problem is not None:
            raise BundleLabError(problem)
        from core.engines.spark.session import spark_session

        report(progress, 0.05, "ALS: starting Spark")
        spark = spark_session(self.master)
        _checkpoints(spark, int(self.max_iter))
        users, items, counts = triples(history)
        with _quiet(), _arrow(spark):
            report(progress, 0.2, f"ALS: {len(counts):,} customer-item pairs, "
                   f"{int(self.max_iter)} iterations")
            model = self._train(spark, users, items, counts)
            report(progress, 0.85, "ALS: reading the factors back")
            rank = int(self.rank)
            self.user_factors_, _ = _factors(model.userFactors, history.n_customers, rank)
            self.item_factors_, self.has_factor_ = _factors(model.itemFactors, history.n_items,
                                                            rank)
        self.rank_ = _popularity_ranks(history)

    def _train(self, spark, users: np.ndarray, items: np.ndarray, counts: np.ndarray):
        """Spark's ALS model fitted on the (user, item, count) triples."""
        import pandas as pd
        from pyspark.ml.recommendation import ALS
        from pyspark.sql import types as T

        schema = T.StructType([T.StructField("user", T.IntegerType(), False),
                               T.StructField("item", T.IntegerType(), False),
                               T.StructField("count", T.FloatType(), False)])
        blocks = blocks_for(len(counts))
        als = ALS(rank=int(self.rank), maxIter=int(self.max_iter), regParam=float(self.reg),
                  alpha=float(self.alpha), implicitPrefs=True, nonnegative=False,
                  coldStartStrategy="drop", seed=int(self.seed), userCol="user",
                  itemCol="item", ratingCol="count", numUserBlocks=blocks,
                  numItemBlocks=blocks, checkpointInterval=CHECKPOINT_EVERY)
        frame = spark.createDataFrame(pd.DataFrame({"user": users, "item": items,
                                                    "count": counts}), schema=schema)
        return als.fit(frame.repartition(blocks))

    # ------------------------------------------------------------------ scoring
    def user_vectors(self, batch: UserBatch) -> np.ndarray:
        """(len(batch), rank) float64: the learned factors of known customers, the fold-in
        (module docstring) of ad-hoc histories."""
        if batch.users is not None:
            return self.user_factors_[np.asarray(batch.users)].astype(np.float64)
        return self.fold_in(batch.counts())

    def fold_in(self, counts: sp.csr_matrix) -> np.ndarray:
        """(n, rank) float64: the implicit-ALS user factor of each row of ``counts`` (users x
        items, orders holding the item) against the learned item factors."""
        y = self.item_factors_.astype(np.float64)
        yty = y.T @ y
        eye = np.eye(y.shape[1])
        out = np.zeros((counts.shape[0], y.shape[1]))
        counts = counts.tocsr()
        for r in range(counts.shape[0]):
            a, b = counts.indptr[r], counts.indptr[r + 1]
            cols, c = counts.indices[a:b], counts.data[a:b].astype(np.float64)
            keep = c > 0
            cols, c1 = cols[keep], float(self.alpha) * c[keep]
            if not len(cols):
                continue     # nothing known of the user: a zero vector (popularity order)
            yu = y[cols]
            lhs = yty + (yu.T * c1) @ yu + float(self.reg) * len(cols) * eye
            out[r] = np.linalg.solve(lhs, yu.T @ (1.0 + c1))
        return out

    def score_items(self, batch: UserBatch, cols: np.ndarray | None) -> np.ndarray:
        cols = np.arange(len(self.rank_)) if cols is None else np.asarray(cols, dtype=np.int64)
        s = self.user_vectors(batch) @ self.item_factors_[cols].astype(np.float64).T
        s = np.where(self.has_factor_[cols], s, UNSCORED)
        return s + 1e-9 * self.rank_[cols]

    def score(self, batch: UserBatch) -> np.ndarray:
        return self.score_items(batch, None)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_,
                "has_factor": self.has_factor_.astype(np.uint8)}

    def _set_state(self, state: dict[str, np.ndarray], history: PurchaseHistory) -> None:
        if "item_factors" not in state:
            raise BundleLabError("the saved als model has no factors (weights.safetensors is "
                                 "missing): train it again")
        self.user_factors_ = np.asarray(state["user_factors"], dtype=np.float32)
        self.item_factors_ = np.asarray(state["item_factors"], dtype=np.float32)
        self.has_factor_ = np.asarray(state["has_factor"]).astype(bool)
        self.rank_ = _popularity_ranks(history)
