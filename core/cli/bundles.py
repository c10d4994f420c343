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
    p.add_argument("--fill-min-orders", type=int, default=d.fill_min_orders, metavar="N",
                   help="when fewer than --top bundles pass --min-orders, fill the list with "
                   "pairs bought together in at least N orders, after the others (weaker "
                   "evidence; 0 = off; --fit-weights chooses it when it clearly helps)")
    p.add_argument("--learned", action="store_true",
                   help="score the candidates by a model of this shop's later orders (learned "
                   "on the last ~20%% of the orders used; --fit-weights chooses it when it "
                   "clearly helps)")
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
    p.add_argument("--format", choices=["csv", "xlsx", "json", "parent-child", "shopify"],
                   help="the --out file's format (default: by its suffix): parent-child = one "
                   "row per bundle component (.csv, for bundle apps and ERPs), shopify = "
                   "productBundleCreate inputs (.json)")
    p.add_argument("--shopify-ids", metavar="FILE", help="with --format shopify: a CSV of "
                   "item_id,product_id mapping the shop's item ids to Shopify product ids "
                   "(default: the item ids are written as productId, for you to map)")


def _params(args: argparse.Namespace):
    from core.bundles.params import BundleParams

    return BundleParams(top=args.top, min_orders=args.min_orders,
                        min_confidence=args.min_confidence, w_rules=args.w_rules,
                        w_text=args.w_text, w_rec=args.w_rec, text=not args.no_text,
                        discount=args.discount, objective=args.objective,
                        include=tuple(args.include), exclude=tuple(args.exclude),
                        allow_variants=args.allow_variants, recency_days=args.recency_days,
                        incremental=args.incremental, learned=args.learned,
                        fill_min_orders=args.fill_min_orders)


def add_bundles(sub: Any) -> None:
    p = sub.add_parser("bundles", help="choose bundles worth promoting (hybrid score, coverage)")
    p.add_argument("--dataset", metavar="NAME", help="dataset (default: the only or the last one)")
    p.add_argument("--cut", metavar="DATE", help="use orders before this day only")
    _bundle_args(p)
    p.add_argument("--stability", choices=["month", "quarter"],
                   help="re-count each bundle per calendar month or quarter and add the "
                   "columns stability (steady, seasonal, rising, fading, new; none: too rare per "
                   "window to tell), windows_held "
                   "and windows (needs order dates)")
    p.add_argument("--segment", metavar="COLUMN",
                   help="one list per value of this column of the uploaded file (store, region, "
                   "country, segment ...: any column, mapped or not), in one export with a "
                   "segment column; prints which bundles several segments share")
    p.add_argument("--fit-weights", action="store_true",
                   help="fit the rule strength, text and recommender weights and how new or "
                   "rarely sold items join bundles on the last ~20%% of the orders used (those "
                   "before --cut, if given), with the models trained on the earlier ones, "
                   "instead of the defaults; prints what was fitted and why")
    p.add_argument("--workspace", metavar="DIR", help="workspace directory")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def _check_export(args: argparse.Namespace) -> dict[str, str] | None:
    """Check ``--out`` / ``--format`` / ``--shopify-ids`` before any work; the Shopify product
    ids read from ``--shopify-ids`` (None without)."""
    from core.bundles.platform import export_format, read_product_ids
    from core.errors import BundleLabError

    fmt, ids = getattr(args, "format", None), getattr(args, "shopify_ids", None)
    if not args.out:
        if fmt or ids:
            raise BundleLabError("--format and --shopify-ids need --out FILE "
                                 "(e.g. --format shopify --out bundles.json)")
        return None
    from pathlib import Path

    folder = Path(args.out).expanduser().parent
    if not folder.is_dir():  # said before the list is built, not after
        raise BundleLabError(f"the folder of --out {args.out} does not exist: create {folder} "
                             "or write somewhere else")
    if export_format(args.out, fmt) != "shopify" and ids:
        raise BundleLabError("--shopify-ids only applies to --format shopify")
    return read_product_ids(ids) if ids else None


def _export(result, out: str | None, fmt: str | None = None,
            product_ids: dict[str, str] | None = None) -> str | None:
    if not out:
        return None
    from core.bundles.platform import write_bundles

    return str(write_bundles(result.bundles, out, fmt, product_ids=product_ids))


def _print_bundles(result) -> None:
    for row in result.bundles.head(20).itertuples():
        price = f"{row.bundle_price:.2f}" if row.bundle_price is not None else "-"
        held = f"  {row.stability} {row.windows_held}/{row.windows}" \
            if "stability" in result.bundles else ""
        print(f"{row.bundle_id}  {row.name[:50]:<50} {row.orders_together:>6} orders  "
              f"price {price:>8}  [{row.provenance}]{held}")
    if len(result.bundles) > 20:
        print(f"... {len(result.bundles) - 20} more")
    for note in result.notes:
        print(f"note: {note}")


def run_bundles(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from dataclasses import replace

    from core.bundles.service import build_for_dataset
    from core.progress import sub_progress

    product_ids = _check_export(args)  # a bad --out/--format fails before any work
    if getattr(args, "stability", None):  # undated orders fail before the list is built
        from core.bundles.stability import check_dated

        check_dated(ws, args.dataset)
    params, fitted = _params(args), None
    if args.fit_weights:
        from core.bundles.fit import describe, fit_for_dataset

        fit = fit_for_dataset(ws, args.dataset, params, cut=args.cut,
                              progress=sub_progress(progress, 0.0, 0.6))
        params, fitted = replace(params, **fit.params), fit.as_dict()
        if not args.json:
            print(describe(fit))
        progress = sub_progress(progress, 0.6, 1.0)
    if getattr(args, "segment", None):
        return _run_segments(ws, args, params, product_ids, fitted, progress)
    result = build_for_dataset(ws, args.dataset, params, cut=args.cut, progress=progress)
    stability = _add_stability(ws, args, result) if getattr(args, "stability", None) else None
    out = _export(result, args.out, args.format, product_ids)
    if not args.json:
        _print_bundles(result)
        if out:
            print(f"written to {out}")
    summary = {"bundles": len(result.bundles), "seconds": result.seconds, "out": out,
               "list_id": result.list_id, "candidates": result.candidates,
               "notes": result.notes, "fitted_weights": fitted}
    if stability is not None:  # the JSON without --stability stays as scripts know it
        summary["stability"] = stability
    return summary


def _add_stability(ws: Workspace, args: argparse.Namespace, result) -> dict[str, int]:
    """Add stability, windows_held and windows to ``result.bundles`` (counted on the orders the
    list was built on); the label counts."""
    from core.bundles.stability import stability_for_dataset

    stab = stability_for_dataset(ws, args.dataset, result.bundles, args.stability,
                                 min_orders=result.params.get("min_orders_used"), cut=args.cut)
    for col in ("stability", "windows_held", "windows"):  # one row per bundle, in list order
        result.bundles[col] = stab.table[col].to_numpy()
    return {k: int(v) for k, v in stab.table["stability"].value_counts().items()}


def _run_segments(ws: Workspace, args: argparse.Namespace, params, product_ids, fitted,
                  progress: Callable) -> dict:
    """``bundles --segment COLUMN``: one list per segment value (``core.bundles.segments``)."""
    from types import SimpleNamespace

    from core.bundles.platform import export_format
    from core.bundles.segments import build_segment_lists
    from core.errors import BundleLabError

    if getattr(args, "stability", None):
        raise BundleLabError("--stability and --segment cannot be combined yet: run them one at "
                             "a time")
    if args.out and export_format(args.out, args.format) in ("parent-child", "shopify"):
        raise BundleLabError("--segment writes one list per segment with a segment column: "
                             "write it as .csv, .xlsx or .json; for the shop platform export "
                             "one segment's list at a time (without --segment)")
    seg = build_segment_lists(ws, args.dataset, args.segment, params, cut=args.cut,
                              progress=progress)
    out = _export(SimpleNamespace(bundles=seg.bundles), args.out, args.format, product_ids)
    if not args.json:
        for value, group in seg.bundles.groupby("segment", sort=False):
            print(f"== {args.segment} = {value}: {int(group['segment_orders'].iloc[0]):,} orders, "
                  f"{len(group)} bundles")
            for row in group.head(5).itertuples():
                print(f"  {row.bundle_id}  {row.name[:50]:<50} {row.orders_together:>6} orders")
        shared = seg.comparison[seg.comparison["shared"]]
        print(f"{len(shared)} bundle(s) in more than one segment's list, "
              f"{len(seg.comparison) - len(shared)} in one only")
        for row in shared.head(10).itertuples():
            print(f"  {row.name[:50]:<50} {row.segments}")
        for note in seg.notes:
            print(f"note: {note}")
        if out:
            print(f"written to {out}")
    return {**seg.summary(), "seconds": seg.seconds, "out": out, "notes": seg.notes,
            "fitted_weights": fitted}
