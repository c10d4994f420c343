"""CLI command ``mine`` (docs/ARCHITECTURE.md §7): frequent itemsets and association rules with
mlxtend's metrics, optionally written to ``--out``. JSON: ``itemsets`` (count per length),
``rules``, ``seconds`` (+ ``out``; + ``level``, ``note`` with ``--level category``)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli.common import engine_options, common_options, dataset_option
from core.workspace import Workspace


def add_mine(sub: Any) -> None:
    from core.rules.itemsets import MiningParams
    from core.rules.association import CORRECTIONS, ITEM_SIDES, SORT_METRICS, RuleParams
    from core.rules.levels import LEVELS

    m, r = MiningParams(), RuleParams()
    p = sub.add_parser("mine", help="frequent itemsets and association rules (mlxtend's metrics)")
    dataset_option(p)
    p.add_argument("--min-support", type=_support, default=m.min_support, metavar="F|auto",
                   help=f"below 1 a share of orders, a whole number >= 1 an order count, or auto "
                   f"(chosen from the shop's size, as `run` does; core.rules.defaults) "
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
    p.add_argument("--level", choices=LEVELS, default="item",
                   help="mine on items (default) or on their categories (a catalog without "
                   "categories: product types from the names)")
    p.add_argument("--out", metavar="FILE", help="write the rules to .csv, .xlsx or .json")
    engine_options(p)
    common_options(p)


def run_mine(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.export import table_format, write_table
    from core.rules.itemsets import MiningParams
    from core.rules.mining import mine
    from core.rules.association import RuleParams

    from core.engines import start_engine

    if args.out:
        table_format(args.out)  # a bad suffix fails before mining
    engine = start_engine(args.engine, args.spark_master)
    rules = RuleParams(min_confidence=args.min_confidence, min_lift=args.min_lift,
                       items=tuple(args.item), item_side=args.item_side,
                       max_consequent_len=args.max_consequent_len, prune_redundant=args.prune,
                       significance=args.significance, correction=args.correction,
                       sort_by=args.sort)
    choice = None
    if args.min_support == "auto":
        from core.rules.mining import mine_auto

        result, choice, _ = mine_auto(ws, args.dataset, max_len=args.max_len, rules=rules,
                                      progress=progress, level=args.level, engine=engine)
    else:
        mining = MiningParams(min_support=args.min_support, max_len=args.max_len,
                              max_itemsets=args.max_itemsets)
        result = mine(ws, args.dataset, mining=mining, rules=rules, progress=progress,
                      level=args.level, engine=engine)
    summary = {k: result.summary()[k] for k in ("itemsets", "rules", "seconds")}
    if args.level != "item":  # the item level's JSON stays as scripts know it
        summary.update(level=args.level, note=result.note)
    if choice is not None:
        summary["support"] = choice.as_dict()
    if args.out:
        summary["out"] = str(write_table(result.rules, args.out, sheet_name="rules"))
    if not args.json:
        _print_rules(result, summary.get("out"))
    return summary


def _support(value: str) -> float | str:
    """``--min-support``: a number or ``auto``."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number or auto") from None


def _print_rules(result: Any, out: str | None) -> None:
    s = result.summary()
    lengths = ", ".join(f"{n:,} of length {k}" for k, n in s["itemsets"].items())
    print(f"dataset {s['dataset']}: {s['orders']:,} orders, support >= {s['min_count']:,} "
          f"orders; itemsets: {lengths or 'none'}")
    print(f"{s['rules']:,} rules in {s['seconds']:.2f}s")
    if result.note:
        print(f"note: {result.note}")
    for row in result.rules.head(10).itertuples(index=False):
        print(f"  {' + '.join(row.antecedents_names)} -> {' + '.join(row.consequents_names)}"
              f"  (orders {row.orders_together:,}, confidence {row.confidence:.2f}, "
              f"lift {row.lift:.1f})")
    if out:
        print(f"written to {out}")
