"""CLI commands ``bundles`` and ``run`` (the whole pipeline), registered in ``core.cli.main``."""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

from core.errors import BundleLabError, ModelNotTrained
from core.progress import report, sub_progress
from core.workspace import Workspace


def _bundle_args(p: argparse.ArgumentParser) -> None:
    from core.bundles.build import BundleParams

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
    p.add_argument("--include", nargs="+", action="extend", default=[], metavar="ID_OR_CATEGORY",
                   help="bundles must hold one of these items or categories")
    p.add_argument("--exclude", nargs="+", action="extend", default=[], metavar="ID_OR_CATEGORY",
                   help="never bundle these items or categories (e.g. discontinued)")
    p.add_argument("--allow-variants", action="store_true",
                   help="bundle near-duplicates (same product in another colour/size) anyway")
    p.add_argument("--no-text", action="store_true",
                   help="skip the text model (rules only; faster)")
    p.add_argument("--out", metavar="FILE", help="write the bundles to .csv, .xlsx or .json")


def _params(args: argparse.Namespace):
    from core.bundles.build import BundleParams

    return BundleParams(top=args.top, min_orders=args.min_orders,
                        min_confidence=args.min_confidence, w_rules=args.w_rules,
                        w_text=0.0 if args.no_text else args.w_text, w_rec=args.w_rec,
                        discount=args.discount, objective=args.objective,
                        include=tuple(args.include), exclude=tuple(args.exclude),
                        allow_variants=args.allow_variants)


def add_bundles(sub: Any) -> None:
    p = sub.add_parser("bundles", help="choose bundles worth promoting (hybrid score, coverage)")
    p.add_argument("--dataset", metavar="NAME", help="dataset (default: the only or the last one)")
    p.add_argument("--cut", metavar="DATE", help="use orders before this day only")
    _bundle_args(p)
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
    from core.bundles.inputs import make_bundles

    result, list_id = make_bundles(ws, args.dataset, params=_params(args), cut=args.cut,
                                   text=not args.no_text, progress=progress)
    out = _export(result, args.out)
    if not args.json:
        _print_bundles(result)
        if out:
            print(f"written to {out}")
    return {"bundles": len(result.bundles), "seconds": result.seconds, "out": out,
            "list_id": list_id, "candidates": result.candidates, "notes": result.notes}


def add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="the whole pipeline: ingest -> mine -> embed -> recommend -> "
                       "bundles -> export")
    p.add_argument("data", metavar="DATA", help="order-lines or basket file")
    p.add_argument("--catalog", metavar="FILE", help="product catalog joined on item_id")
    p.add_argument("--dataset", metavar="NAME", help="dataset name (default: the file's stem)")
    p.add_argument("--map", action="append", metavar="field=Col[+Col...]", default=[])
    _bundle_args(p)
    p.add_argument("--workspace", metavar="DIR", help="workspace directory")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run_run(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    """Each step reports into its slice of the bar; steps that need what the data lacks
    (customers, dates) are skipped with a note and bundles still come out."""
    from core.bundles.inputs import make_bundles
    from core.cli.main import parse_maps
    from core.ingest.load import IngestOptions, ingest

    t0 = time.perf_counter()
    notes: list[str] = []
    summary = ingest(ws, args.data, catalog=args.catalog, dataset=args.dataset,
                     options=IngestOptions(mapping=parse_maps(args.map)),
                     progress=sub_progress(progress, 0.0, 0.1))
    name = summary["dataset"]
    report(progress, 0.1, "mining rules")
    rules = _mine_summary(ws, name)
    text = not args.no_text
    if summary["customers"] == 0:
        notes.append("no customer ids: the recommender step and target customers are skipped")
    else:
        notes.extend(_recommend_step(ws, name, text, sub_progress(progress, 0.15, 0.35)))
    try:
        result, list_id = make_bundles(ws, name, params=_params(args), text=text,
                                       progress=sub_progress(progress, 0.35, 0.98))
    except ModelNotTrained as exc:
        notes.append(f"text model skipped: {exc}")
        result, list_id = make_bundles(ws, name, params=_params(args), text=False,
                                       progress=sub_progress(progress, 0.35, 0.98))
    out = _export(result, args.out)
    notes.extend(n for n in result.notes if n not in notes)
    report(progress, 1.0, "done")
    if not args.json:
        print(f"dataset {name}: {summary['orders']:,} orders, {summary['items']:,} items; "
              f"{rules.get('rules', 0):,} rules")
        _print_bundles(result)
        for note in notes:
            print(f"note: {note}")
        if out:
            print(f"written to {out}")
    return {"bundles": len(result.bundles), "seconds": round(time.perf_counter() - t0, 2),
            "out": out, "dataset": name, "list_id": list_id, "rules": rules.get("rules"),
            "notes": notes}


def _mine_summary(ws: Workspace, name: str) -> dict:
    """Rules at a sensible default support (the Rules page explores them further)."""
    from core.rules.itemsets import MiningParams
    from core.rules.mining import mine
    from core.rules.association import RuleParams

    try:
        res = mine(ws, name, mining=MiningParams(min_support=0.01, max_len=3), rules=RuleParams())
    except BundleLabError as exc:
        return {"rules": 0, "note": str(exc)}
    return {"rules": int(len(res.rules))}


def _recommend_step(ws: Workspace, name: str, text: bool, progress) -> list[str]:
    """Train (or reuse) the recommender on all orders (affinity and target customers); without
    the text model (``--no-text``) it reads no item text either."""
    from core.recommend.store import RecommenderParams, train_recommender

    try:
        train_recommender(ws, name, params=RecommenderParams(text="finetuned" if text else "none"),
                          progress=progress)
    except BundleLabError as exc:
        return [f"recommender skipped: {exc}"]
    return []
