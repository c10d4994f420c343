"""CLI command ``evaluate`` (docs/ARCHITECTURE.md §6, §7): score rules, embeddings, recommender
and bundles on a held-out later period against baselines. JSON: ``cut, seconds`` and one object
per block (``bundles``, ``recommender``, ``embeddings``)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli.common import common_options, dataset_option, dumps, engine_options
from core.workspace import Workspace


def add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score rules, embeddings, recommender and bundles on a "
                       "held-out later period against baselines")
    dataset_option(p)
    p.add_argument("--cut", metavar="DATE", help="first day of the test period "
                   "(default: the day that leaves the last ~20%% of orders)")
    p.add_argument("--top", type=int, default=50, metavar="N", help="bundle list size N")
    p.add_argument("--only", action="append", metavar="BLOCK", help="run only this block "
                   "(bundles, recommender, embeddings); repeatable")
    p.add_argument("--compare-encoders", action="store_true",
                   help="embeddings block: also score the bundled text encoder not chosen for "
                   "this catalog (rows minilm_* or multilingual_*)")
    p.add_argument("--als", action="store_true",
                   help="recommender block: also train and score ALS on Spark (needs Java and "
                   "pyspark; --spark-master)")
    engine_options(p)
    common_options(p)


def run_evaluate(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.evaluate import evaluate

    options: dict = {}
    if args.compare_encoders:
        options["embeddings"] = {"compare_encoders": True}
    from core.engines import start_engine

    engine = start_engine(args.engine, args.spark_master)
    if args.als:
        start_engine("spark", args.spark_master)
        options["recommender"] = {"extra_methods": ["als"]}
    options = options or None
    result = evaluate(ws, args.dataset, cut=args.cut, top=args.top, blocks=args.only,
                      options=options, progress=progress, engine=engine)
    if not args.json:
        print(dumps(result, indent=2))
    return result
