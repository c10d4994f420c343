"""The command line, a thin front end over the core functions (DESIGN §7).

Every command takes ``--workspace DIR`` and ``--json``; with ``--json`` the last line on stdout is
one JSON object. Exit codes: 0 success, 2 user error (one ``error: ...`` line on stderr, no
traceback: a ``BundleLabError``, or what ``core.errors.friendly`` recognises, e.g. a full disk or
a damaged workspace database), 1 bug, 130 cancelled (Ctrl-C).

Each command is a pair: ``_add_<name>(subparsers)`` declares its arguments and
``_run_<name>(args, ws, progress) -> dict`` does the work and returns the JSON summary.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from typing import Any, Callable

from core.errors import BundleLabError, friendly
from core.progress import Cancelled
from core.workspace import Workspace


# ---------------------------------------------------------------------------- helpers
class TerminalProgress:
    """Maps ``progress(fraction, message)`` to a one-line bar with an ETA on stderr."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and fraction < 1:
            return
        self.last = now
        elapsed = now - self.start
        eta = f" ~{elapsed * (1 - fraction) / fraction:.0f}s left" if 0.02 < fraction < 1 else ""
        bar = "#" * int(fraction * 30)
        sys.stderr.write(f"\r[{bar:<30}] {fraction:5.0%} {message[:60]:<60}{eta}")
        if fraction >= 1:
            sys.stderr.write("\n")
        sys.stderr.flush()


def parse_maps(pairs: list[str] | None) -> dict[str, str]:
    """``["field=Col", "timestamp=Date+Time"]`` -> ``{"field": "Col", ...}``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise BundleLabError(f"--map {pair!r} is not field=Column, e.g. --map item_id=SKU "
                                 "or --map timestamp=Date+Time")
        field, col = pair.split("=", 1)
        out[field.strip()] = col.strip()
    return out


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _clean_json(obj: Any) -> Any:
    """Infinite and NaN floats become null (JSON has no infinity)."""
    if isinstance(obj, float) and (math.isinf(obj) or math.isnan(obj)):
        return None
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    return obj


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="DIR", help="workspace directory "
                   "(default: $BUNDLELAB_WORKSPACE or ./workspace)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def _dataset_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", metavar="NAME", help="dataset (default: the only or the last one)")


# ---------------------------------------------------------------------------- ingest
def _add_ingest(sub: Any) -> None:
    p = sub.add_parser("ingest", help="load order lines (CSV/TSV/XLSX/gzip or baskets) into the workspace")
    p.add_argument("data", metavar="DATA", help="order-lines or basket file")
    p.add_argument("--catalog", metavar="FILE", help="product catalog joined on item_id")
    _dataset_arg(p)
    p.add_argument("--map", action="append", metavar="field=Col[+Col...]", default=[],
                   help="map a field to a column (or several joined with +)")
    p.add_argument("--bad-dates", choices=["drop", "keep"], default="drop",
                   help="rows whose timestamp cannot be parsed: drop them (default) or keep them "
                        "without a timestamp")
    p.add_argument("--keep-duplicates", action="store_true", help="keep exact duplicate rows")
    p.add_argument("--layout", choices=["auto", "lines", "baskets"], default="auto",
                   help="order lines with a header, or one basket per line (default: detect)")
    _common(p)


def _run_ingest(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.ingest.load import IngestOptions, ingest

    opts = IngestOptions(mapping=parse_maps(args.map), bad_dates=args.bad_dates,
                         drop_duplicates=not args.keep_duplicates, layout=args.layout)
    summary = ingest(ws, args.data, catalog=args.catalog, dataset=args.dataset, options=opts,
                     progress=progress)
    if not args.json:
        print(f"dataset {summary['dataset']}: {summary['rows_kept']:,} of {summary['rows_read']:,} "
              f"rows kept, {summary['orders']:,} orders, {summary['items']:,} items, "
              f"{summary['customers']:,} customers")
        for reason, n in summary["dropped"].items():
            print(f"  dropped {n:,} rows: {reason}")
    return summary


# ---------------------------------------------------------------------------- evaluate
def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score rules, embeddings, recommender and bundles on a "
                       "held-out later period against baselines")
    _dataset_arg(p)
    p.add_argument("--cut", metavar="DATE", help="first day of the test period "
                   "(default: the day that leaves the last ~20%% of orders)")
    p.add_argument("--top", type=int, default=50, metavar="N", help="bundle list size N")
    p.add_argument("--only", action="append", metavar="BLOCK", help="run only this block "
                   "(bundles, recommender, embeddings); repeatable")
    _common(p)


def _run_evaluate(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.evaluate.run import evaluate

    result = evaluate(ws, args.dataset, cut=args.cut, top=args.top, blocks=args.only,
                      progress=progress)
    if not args.json:
        print(json.dumps(_clean_json(result), indent=2, default=_json_default))
    return result


# ---------------------------------------------------------------------------- embed
def _add_embed(sub: Any) -> None:
    from core.text.finetune import FinetuneParams  # no torch: defaults shown in --help stay in sync

    d = FinetuneParams()
    p = sub.add_parser("embed", help="fine-tune the item text encoder on co-purchases and encode "
                       "every item (reuses a model trained with the same settings)")
    _dataset_arg(p)
    p.add_argument("--model", metavar="PATH", help="local sentence-transformers directory to "
                   "start from (default: $BUNDLELAB_MODEL or the bundled all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int, metavar="N",
                   help=f"passes over the pairs (default {d.epochs})")
    p.add_argument("--max-pairs", type=int, metavar="N", help="most co-purchase pairs to train "
                   f"on (default {d.max_pairs})")
    p.add_argument("--seconds", type=float, metavar="S", help="training time budget in seconds "
                   f"(default {d.seconds:g})")
    p.add_argument("--cut", metavar="DATE", help="train on orders before this day only "
                   "(default: all orders)")
    _common(p)


def _run_embed(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from dataclasses import replace

    from core.text.encoder import embed
    from core.text.finetune import FinetuneParams

    overrides = {k: v for k, v in (("epochs", args.epochs), ("max_pairs", args.max_pairs),
                                   ("seconds", args.seconds)) if v is not None}
    result = embed(ws, args.dataset, cut=args.cut, model=args.model,
                   params=replace(FinetuneParams(), **overrides), progress=progress)
    if not args.json:
        how = "reused" if result["reused"] else f"trained on {result['pairs']:,} pairs"
        print(f"encoder {how}: {result['model']}\n{result['items']:,} item vectors ready in "
              f"{result['seconds']:.1f}s")
    return result


# ---------------------------------------------------------------------------- mine
def _add_mine(sub: Any) -> None:
    from core.rules.itemsets import MiningParams
    from core.rules.association import CORRECTIONS, ITEM_SIDES, SORT_METRICS, RuleParams

    m, r = MiningParams(), RuleParams()
    p = sub.add_parser("mine", help="frequent itemsets and association rules (mlxtend's metrics)")
    _dataset_arg(p)
    p.add_argument("--min-support", type=float, default=m.min_support, metavar="F",
                   help=f"below 1 a share of orders, a whole number >= 1 an order count "
                   f"(default {m.min_support:g})")
    p.add_argument("--min-confidence", type=float, default=r.min_confidence, metavar="F",
                   help=f"default {r.min_confidence:g}")
    p.add_argument("--min-lift", type=float, default=r.min_lift, metavar="F",
                   help=f"default {r.min_lift:g}")
    p.add_argument("--max-len", type=int, default=m.max_len, metavar="K",
                   help=f"longest itemset, 0 = no cap (default {m.max_len})")
    p.add_argument("--item", nargs="+", action="extend", default=[], metavar="ID",
                   help="keep rules holding any of these item ids")
    p.add_argument("--item-side", choices=ITEM_SIDES, default="any",
                   help="where --item must be: any side, antecedent or consequent")
    p.add_argument("--max-consequent-len", type=int, default=0, metavar="K",
                   help="longest consequent (0 = any, 1 = single items like arules)")
    p.add_argument("--prune", action="store_true", help="drop redundant rules (a smaller "
                   "antecedent with the same consequent has at least the confidence)")
    p.add_argument("--significance", type=float, metavar="ALPHA", help="keep rules whose "
                   "corrected Fisher exact p-value is at most ALPHA (e.g. 0.05)")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm",
                   help="multiple-testing correction for --significance (default holm)")
    p.add_argument("--sort", choices=SORT_METRICS, default="lift", help="sort metric")
    p.add_argument("--max-itemsets", type=int, default=m.max_itemsets, metavar="N",
                   help=f"stop when a setting would give more itemsets (default {m.max_itemsets:,})")
    p.add_argument("--out", metavar="FILE", help="write the rules to .csv, .xlsx or .json")
    _common(p)


def _run_mine(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.export import table_format, write_table
    from core.rules.itemsets import MiningParams
    from core.rules.mining import mine
    from core.rules.association import RuleParams

    if args.out:
        table_format(args.out)  # a bad suffix fails before mining
    mining = MiningParams(min_support=args.min_support, max_len=args.max_len,
                          max_itemsets=args.max_itemsets)
    rules = RuleParams(min_confidence=args.min_confidence, min_lift=args.min_lift,
                       items=tuple(args.item), item_side=args.item_side,
                       max_consequent_len=args.max_consequent_len, prune_redundant=args.prune,
                       significance=args.significance, correction=args.correction,
                       sort_by=args.sort)
    result = mine(ws, args.dataset, mining=mining, rules=rules, progress=progress)
    summary = {k: result.summary()[k] for k in ("itemsets", "rules", "seconds")}
    if args.out:
        summary["out"] = str(write_table(result.rules, args.out, sheet_name="rules"))
    if not args.json:
        s = result.summary()
        lengths = ", ".join(f"{n:,} of length {k}" for k, n in s["itemsets"].items())
        print(f"dataset {s['dataset']}: {s['orders']:,} orders, support >= {s['min_count']:,} "
              f"orders; itemsets: {lengths or 'none'}")
        print(f"{s['rules']:,} rules in {s['seconds']:.2f}s")
        for row in result.rules.head(10).itertuples(index=False):
            print(f"  {' + '.join(row.antecedents_names)} -> {' + '.join(row.consequents_names)}"
                  f"  (orders {row.orders_together:,}, confidence {row.confidence:.2f}, "
                  f"lift {row.lift:.1f})")
        if summary.get("out"):
            print(f"written to {summary['out']}")
    return summary


# ---------------------------------------------------------------------------- registry
# Later stages add their (_add_x, _run_x) pair here.
from core.cli.bundles import add_bundles, add_run, run_bundles, run_run  # noqa: E402
from core.cli.recommend import add_recommend, run_recommend  # noqa: E402

COMMANDS: dict[str, tuple[Callable, Callable]] = {
    "ingest": (_add_ingest, _run_ingest),
    "evaluate": (_add_evaluate, _run_evaluate),
    "mine": (_add_mine, _run_mine),
    "embed": (_add_embed, _run_embed),
    "bundles": (add_bundles, run_bundles),
    "run": (add_run, run_run),
    "recommend": (add_recommend, run_recommend),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="BundleLab: product "
                                     "bundles from order lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def _user_error(exc: BaseException) -> int:
    """One ``error: ...`` line on stderr (no traceback) and exit status 2."""
    message = str(exc).replace("\r\n", " ").replace("\n", " ").strip() or type(exc).__name__
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = TerminalProgress(enabled=not getattr(args, "json", False))
    ws = None
    try:
        ws = Workspace(args.workspace)
        result = COMMANDS[args.command][1](args, ws, progress)
    except BundleLabError as exc:
        return _user_error(exc)
    except Cancelled:
        print("error: cancelled; the workspace is unchanged", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nerror: interrupted; the workspace is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:
        mapped = friendly(exc, ws)  # a full disk, a damaged workspace file: the user's to fix
        if mapped is not None:
            return _user_error(mapped)
        # a bug: say so plainly, keep the traceback for the report
        traceback.print_exc()
        print("error: internal error (a bug in BundleLab); please report the traceback above",
              file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_clean_json(result), default=_json_default))
    return 0
