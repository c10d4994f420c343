"""CLI command ``bundles``, registered in ``core.cli.main``; its bundle options, settings and
printing are shared with ``run`` (``core.cli.run``)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.workspace import Workspace


def _bundle_args(p: argparse.ArgumentParser) -> None:
    from core.bundles.params import BundleParams

    d = BundleParams()
    p.add_argument("--top", type=int, default=d.top, metavar="N", help="bundles in the list")
    p.add_argument("--min-orders", type=int, default=d.min_orders, metavar="N",
                   help="items bought together in at least N orders (0 = automatic)")
    p.add_argument("--min-confidence", type=float, default=d.min_confidence, metavar="F",
                   help="share of orders with the anchor item that hold the rest")
    p.add_argument("--w-rules", type=float, default=d.w_rules, metavar="F",
                   help="weight of co-purchase evidence")
    p.add_argument("--w-text", type=float, default=d.w_text, metavar="F",
                   help="weight of text similarity")
    p.add_argument("--w-rec", type=float, default=d.w_rec, metavar="F",
                   help="weight of recommender affinity")
    p.add_argument("--discount", type=float, default=d.discount, metavar="F",
                   help="bundle price = list price less this share (0.1 = 10%% off)")
    p.add_argument("--objective", choices=["orders", "revenue"], default=d.objective,
                   help="cover as many orders, or as much revenue, as possible")
    p.add_argument("--recency-days", type=float, default=d.recency_days, metavar="DAYS",
                   help="an order's weight in the coverage halves every DAYS days before the "
                   "last order (0 = every order counts the same)")
    p.add_argument("--incremental", action="store_true",
                   help="prefer bundles bought together more often than their items' "
                   "popularity explains (coverage above chance)")
    p.add_argument("--include", nargs="+", action="extend", default=[], metavar="ID_OR_CATEGORY",
                   help="bundles must hold one of these items or categories")
    p.add_argument("--exclude", nargs="+", action="extend", default=[], metavar="ID_OR_CATEGORY",
                   help="never bundle these items or categories (e.g. discontinued)")
    p.add_argument("--allow-variants", action="store_true",
                   help="bundle near-duplicates (same product in another colour/size) anyway")
    p.add_argument("--no-text", action="store_true",
                   help="skip the text model (rules and recommender only; faster)")
    p.add_argument("--out", metavar="FILE", help="write the bundles to .csv, .xlsx or .json")


def _params(args: argparse.Namespace):
    from core.bundles.params import BundleParams

    return BundleParams(top=args.top, min_orders=args.min_orders,
                        min_confidence=args.min_confidence, w_rules=args.w_rules,
                        w_text=args.w_text, w_rec=args.w_rec, text=not args.no_text,
                        discount=args.discount, objective=args.objective,
                        include=tuple(args.include), exclude=tuple(args.exclude),
                        allow_variants=args.allow_variants, recency_days=args.recency_days,
                        incremental=args.incremental)


def add_bundles(sub: Any) -> None:
    p = sub.add_parser("bundles", help="choose bundles worth promoting (hybrid score, coverage)")
    p.add_argument("--dataset", metavar="NAME", help="dataset (default: the only or the last one)")
    p.add_argument("--cut", metavar="DATE", help="use orders before this day only")
    _bundle_args(p)
    p.add_argument("--fit-weights", action="store_true",
                   help="fit the rule strength, text and recommender weights and how new or "
                   "rarely sold items join bundles on the last ~20%% of the orders used (those "
                   "before --cut, if given), with the models trained on the earlier ones, "
                   "instead of the defaults; prints what was fitted and why")
    p.add_argument("--workspace", metavar="DIR", help="workspace directory")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def _export(result, out: str | None) -> str | None:
    if not out:
        return None
    from core.export import write_table

    return str(write_table(result.bundles, out, sheet_name="bundles"))


def _print_bundles(result) -> None:
    for row in result.bundles.head(20).itertuples():
        price = f"{row.bundle_price:.2f}" if row.bundle_price is not None else "-"
        print(f"{row.bundle_id}  {row.name[:50]:<50} {row.orders_together:>6} orders  "
              f"price {price:>8}  [{row.provenance}]")
    if len(result.bundles) > 20:
        print(f"... {len(result.bundles) - 20} more")
    for note in result.notes:
        print(f"note: {note}")


def run_bundles(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from dataclasses import replace

    from core.bundles.service import build_for_dataset
    from core.progress import sub_progress

    params, fitted = _params(args), None
    if args.fit_weights:
        from core.bundles.fit import describe, fit_for_dataset

        fit = fit_for_dataset(ws, args.dataset, params, cut=args.cut,
                              progress=sub_progress(progress, 0.0, 0.6))
        params, fitted = replace(params, **fit.params), fit.as_dict()
        if not args.json:
            print(describe(fit))
        progress = sub_progress(progress, 0.6, 1.0)
    result = build_for_dataset(ws, args.dataset, params, cut=args.cut, progress=progress)
    out = _export(result, args.out)
    if not args.json:
        _print_bundles(result)
        if out:
            print(f"written to {out}")
    return {"bundles": len(result.bundles), "seconds": result.seconds, "out": out,
            "list_id": result.list_id, "candidates": result.candidates, "notes": result.notes,
            "fitted_weights": fitted}
