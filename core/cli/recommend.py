"""CLI command ``recommend`` (docs/ARCHITECTURE.md §7), registered in ``core.cli.main``: train (or
reuse) the recommender, optionally list recommendations for one customer (``--customer``) or
add-ons for a basket (``--item``, repeatable). ``--method`` is ``auto`` (default: the best of
``core.recommend.choose.CANDIDATES`` on a validation window inside the training period, issue 14)
or one of the registry's methods (``core.recommend.registry.METHODS``: that method, no choice;
``--method neural`` is the default before issue 14). JSON: ``dataset, model, method, seconds,
items, customers, reused, text, val_ndcg@10, cut, choice`` (the choice record, null for an
explicit method) (+ ``recommendations`` [{rank, item_id, item_name, score, reason}])."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any, Callable

from core.errors import BundleLabError
from core.workspace import Workspace


def add_recommend(sub: Any) -> None:
    from core.recommend import METHODS, TEXT_SOURCES, RecommenderParams  # no torch at parse time

    d = RecommenderParams()
    p = sub.add_parser("recommend", help="train (or reuse) the next-basket recommender; list "
                       "recommendations for a customer or add-ons for a basket")
    p.add_argument("--dataset", metavar="NAME", help="dataset (default: the only or the last one)")
    p.add_argument("--cut", metavar="DATE", help="train on orders before this day only "
                   "(default: all orders)")
    p.add_argument("--customer", metavar="ID", help="list recommendations for this customer")
    p.add_argument("--item", action="append", metavar="ID", default=[],
                   help="complete a basket holding this item (repeatable)")
    p.add_argument("--top", type=int, default=10, metavar="K", help="recommendations to list")
    p.add_argument("--method", choices=["auto", *METHODS], default=d.method,
                   help=f"recommender (default {d.method}: the best of gp_topfreq, item_knn, "
                   "ease and neural on the last ~20%% of the training period, refitted on all "
                   "of it; a method named here is trained without a choice)")
    p.add_argument("--text", choices=list(TEXT_SOURCES), default=d.text,
                   help=f"item text vectors for the neural model (default {d.text})")
    p.add_argument("--epochs", type=int, default=d.epochs, metavar="N",
                   help=f"most training epochs per step (default {d.epochs})")
    p.add_argument("--seconds", type=float, default=d.max_seconds, metavar="S",
                   help=f"training time budget (default {d.max_seconds:g})")
    p.add_argument("--seed", type=int, default=d.seed, metavar="N", help="random seed")
    p.add_argument("--workspace", metavar="DIR", help="workspace directory "
                   "(default: $BUNDLELAB_WORKSPACE or ./workspace)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run_recommend(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.recommend import (RecommenderParams, complete_basket, recommend_for,
                                train_recommender)
    from core.recommend.choose import describe

    if args.top < 1:
        raise BundleLabError(f"--top must be at least 1, got {args.top}")
    if args.customer and args.item:
        raise BundleLabError("give either --customer or --item, not both")
    params = replace(RecommenderParams(), method=args.method, text=args.text,
                     epochs=args.epochs, max_seconds=args.seconds, seed=args.seed)
    result = train_recommender(ws, args.dataset, cut=args.cut, params=params, progress=progress)
    recs = None
    if args.customer:
        recs = recommend_for(ws, result["dataset"], args.customer, args.top, cut=args.cut)
    elif args.item:
        recs = complete_basket(ws, result["dataset"], args.item, args.top, cut=args.cut)
    if recs is not None:
        result["recommendations"] = recs.to_dict(orient="records")
    if not args.json:
        how = "reused" if result["reused"] else f"trained in {result['seconds']:.1f}s"
        print(f"{result['method']} recommender for {result['dataset']} {how}: "
              f"{result['customers']:,} customers, {result['items']:,} items "
              f"(text vectors: {result['text']}) -> {result['model']}")
        if result.get("choice"):
            print(f"  {describe(result['choice'])}")
        for r in result.get("recommendations", []):
            print(f"{r['rank']:>3}. {r['item_id']:<10} {str(r['item_name'])[:40]:<40} "
                  f"{r['reason']}")
    return result
