"""CLI command ``run`` (docs/ARCHITECTURE.md §7): the whole pipeline, ``core.pipeline``
(ingest -> mine -> embed -> recommend -> bundles -> export), with the bundle options of
``bundles``. JSON: ``bundles, seconds, out, dataset, list_id, rules, defaults, notes``
(``defaults``: the size-aware settings chosen for this shop and why)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli.bundles import _bundle_args, _check_export, _export, _params, _print_bundles
from core.cli.common import common_options, engine_options, map_option, parse_maps
from core.workspace import Workspace


def add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="the whole pipeline: ingest -> mine -> embed -> recommend -> "
                       "bundles -> export")
    p.add_argument("data", metavar="DATA", help="order-lines or basket file")
    p.add_argument("--catalog", metavar="FILE", help="product catalog joined on item_id")
    p.add_argument("--dataset", metavar="NAME", help="dataset name (default: the file's stem)")
    map_option(p, help="map a field to a column (or several joined with +)")
    _bundle_args(p)
    engine_options(p)
    common_options(p)


def run_run(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.engines import start_engine
    from core.pipeline import run_pipeline

    product_ids = _check_export(args)  # a bad --out/--format fails before any work
    engine = start_engine(args.engine, args.spark_master)
    run = run_pipeline(ws, args.data, catalog=args.catalog, dataset=args.dataset,
                       mapping=parse_maps(args.map), params=_params(args),
                       out=None if args.format else args.out, progress=progress,
                       engine=engine)
    if args.format and args.out:  # parent-child, shopify (and an explicit table format)
        run.summary["out"] = _export(run.bundles, args.out, args.format, product_ids)
    if not args.json:
        s, info = run.summary, run.ingest
        print(f"dataset {s['dataset']}: {info['orders']:,} orders, {info['items']:,} items; "
              f"{s['rules'] or 0:,} rules")
        support = s["defaults"]["rules_support"]
        if support:
            print(f"rules support: {support['why']}")
        chosen = s["defaults"]["bundles_min_orders"]
        print(f"bundles: items bought together in at least {chosen['min_orders']} orders "
              f"({chosen['why']})")
        _print_bundles(run.bundles)
        for note in run.notes:
            print(f"note: {note}")
        if s["out"]:
            print(f"written to {s['out']}")
    return run.summary
