"""CLI command ``plan`` (issue 16): a test plan for one bundle of the latest saved list (built
with the default settings when none is saved): its anchor item, the expected take rate on the
held-out later orders (and on the earlier ones), and the orders an A/B test needs to detect an
uplift of it (``core.bundles.testplan``). JSON: the plan (``orders_per_arm``, ``orders_total``,
``weeks_needed``, ``heldout``, ``earlier``, ...) and ``out``."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli.common import common_options, dataset_option
from core.workspace import Workspace


def add_plan(sub: Any) -> None:
    p = sub.add_parser("plan", help="a test plan for a bundle: take rate on later orders and the "
                       "orders an A/B test needs")
    p.add_argument("--bundle", required=True, metavar="ID", help="bundle id, e.g. B001")
    p.add_argument("--uplift", type=float, default=0.2, metavar="F",
                   help="relative uplift of the take rate to detect (0.2 = +20%%)")
    p.add_argument("--anchor", metavar="ITEM", help="the bundle's item whose buyers are shown "
                   "the offer (default: its best seller)")
    p.add_argument("--out", metavar="FILE", help="also write the list with the columns "
                   "take_rate and test_orders_per_arm to .csv, .xlsx or .json")
    dataset_option(p)
    common_options(p)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _print(plan: dict) -> None:
    h, e = plan["heldout"], plan["earlier"]
    anchor = plan["anchor"] + (f" ({plan['anchor_name']})" if plan.get("anchor_name") else "")
    when = f"orders from {plan['cut']} on" if plan["cut"] else "the last 20% of orders"
    print(f"bundle {plan['bundle_id']}: {plan['name']}")
    print(f"  list: {plan['source']}")
    print(f"  anchor item: {anchor}")
    print(f"  take rate, held-out ({when}): {_pct(h['take_rate'])} "
          f"({h['took_bundle']:,} of {h['anchor_orders']:,} anchor orders)")
    print(f"  take rate, earlier orders: {_pct(e['take_rate'])} "
          f"({e['took_bundle']:,} of {e['anchor_orders']:,} anchor orders)")
    print(f"  A/B test for a {plan['uplift']:+.0%} uplift ({_pct(plan['p1'])} -> "
          f"{_pct(plan['p2'])}), {plan['alpha']:.0%} two-sided significance, "
          f"{plan['power']:.0%} power:")
    print(f"    {plan['orders_per_arm']:,} anchor orders per arm, "
          f"{plan['orders_total']:,} in total")
    if plan["weeks_needed"] is not None:
        print(f"    about {plan['weeks_needed']:.1f} weeks at the held-out rate of "
              f"{plan['anchor_orders_per_week']:.1f} anchor orders a week")
    else:
        print("    weeks: unknown (the orders have no dates)")
    print(f"  {plan['formula']}")
    print(f"  z_(1-a/2) = {plan['z_alpha']:.4f}, z_(1-b) = {plan['z_power']:.4f}")


def run_plan(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.bundles.testplan import plan_for_dataset

    plan, table = plan_for_dataset(ws, args.dataset, args.bundle, anchor=args.anchor,
                                   uplift=args.uplift, with_table=bool(args.out),
                                   progress=progress)
    out = None
    if args.out:
        from core.export import write_table

        out = str(write_table(table, args.out, sheet_name="bundles"))
    if not args.json:
        _print(plan)
        if out:
            print(f"  the list with take_rate and test_orders_per_arm written to {out}")
    return {**plan, "out": out}
