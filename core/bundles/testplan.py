"""A test plan for a bundle (issue 16, item 5): its anchor item, the expected take rate measured
on held-out later orders, and how many orders an A/B test needs to see a given uplift of it.

- **anchor**: the bundle's best-selling item (most orders over all the dataset's orders; the
  list's order breaks ties), or one of its items named by the user;
- **take rate** p1: of the held-out orders holding the anchor (the last ~20% of orders,
  ``core.baskets.temporal_split``), the share that also hold every other item of the bundle;
  the same rate on the earlier orders is given for comparison, each with its anchor orders;
- **sample size**: the standard two-proportion test (two-sided significance ``alpha``, power
  ``power``) for p1 against p2 = p1 x (1 + uplift), per arm (``FORMULA``), rounded up; the
  units are anchor orders (the orders that would see the offer), the total is both arms;
- **weeks**: the total over the anchor orders per week of the held-out period (its days from
  the cut to the last order's day); none when the orders have no dates.

``plan_columns`` adds ``take_rate`` and ``test_orders_per_arm`` to a bundle table (used by
``python -m core plan --out``; any export of a list can call it). ``plan_for_dataset`` reads the
latest saved list of a dataset (or builds one with the default settings when none is saved).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from core.baskets import Split, build_baskets, day, temporal_split
from core.errors import BundleLabError

ALPHA, POWER, UPLIFT = 0.05, 0.8, 0.2
FORMULA = ("n per arm = (z_{1-a/2} * sqrt(2 * pbar * (1 - pbar)) + z_{1-b} * sqrt(p1 * (1 - p1) "
           "+ p2 * (1 - p2)))^2 / (p2 - p1)^2, p2 = p1 * (1 + uplift), pbar = (p1 + p2) / 2, "
           "rounded up")


def sample_size(p1: float, uplift: float = UPLIFT, *, alpha: float = ALPHA,
                power: float = POWER) -> int:
    """Orders per arm to detect p1 -> p1 x (1 + uplift) (``FORMULA``). Raises ``BundleLabError``
    when no test can be sized: p1 not strictly between 0 and 1, uplift not above 0, p2 >= 1."""
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise BundleLabError("significance and power must be shares between 0 and 1")
    if not (math.isfinite(uplift) and uplift > 0):
        raise BundleLabError(f"--uplift {uplift} must be above 0 (0.2 = a 20% higher take rate)")
    if not 0 < p1 < 1:
        raise BundleLabError(f"a take rate of {p1:.0%} leaves nothing to test: it must be above "
                             "0% and below 100%")
    p2 = p1 * (1 + uplift)
    if p2 >= 1:
        raise BundleLabError(f"a {uplift:.0%} uplift of a {p1:.1%} take rate would reach "
                             f"{p2:.0%}: choose an uplift below {1 / p1 - 1:.2f}")
    pbar = (p1 + p2) / 2
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
         ) ** 2 / (p2 - p1) ** 2
    return math.ceil(n - 1e-9)  # 3841.0000000001 is 3841, not 3842


def _baskets(lines: pd.DataFrame, ids: list[str]):
    """The baskets of ``lines`` over the items ``ids`` (columns in that order)."""
    return build_baskets(lines.assign(item_id=lines["item_id"].astype(str)), item_ids=ids)


def _rate(b, anchor: int, cols: list[int]) -> tuple[int, int]:
    """(orders with the anchor, those also holding every item of ``cols``)."""
    m = b.matrix.tocsc()
    rows = m.indices[m.indptr[anchor]:m.indptr[anchor + 1]]
    if not len(rows):
        return 0, 0
    held = m[:, cols][rows].toarray().astype(bool)
    return len(rows), int(held.all(axis=1).sum())


def _weeks(split: Split) -> float | None:
    """Weeks of the held-out period: from the cut day to the last held-out order's day."""
    if split.cut is None or "timestamp" not in split.test:
        return None
    last = split.test["timestamp"].max()
    return None if pd.isna(last) else ((last.normalize() - split.cut).days + 1) / 7.0


def choose_anchor(ids: list[str], counts: np.ndarray, anchor: str | None = None) -> str:
    """The named ``anchor`` (one of ``ids``), or the best seller (``counts`` per id; ties: the
    first in ``ids``)."""
    if anchor is None:
        return ids[int(np.argmax(counts))]
    if str(anchor) not in ids:
        raise BundleLabError(f"item {anchor} is not in this bundle; its items are "
                             f"{', '.join(ids)}")
    return str(anchor)


def bundle_test_plan(lines: pd.DataFrame, items: list, *, anchor: str | None = None,
              uplift: float = UPLIFT, cut: Any = None, alpha: float = ALPHA,
              power: float = POWER) -> dict:
    """The test plan of the bundle of item ids ``items`` on order ``lines`` (see the module
    docstring). ``cut``: the first day of the held-out period (default: the last ~20%)."""
    ids = [str(x) for x in items]
    split = temporal_split(lines, cut)
    test, train = _baskets(split.test, ids), _baskets(split.train, ids)
    a = choose_anchor(ids, test.item_counts() + train.item_counts(), anchor)
    ai = ids.index(a)
    rest = [i for i in range(len(ids)) if i != ai]
    n_test, took_test = _rate(test, ai, rest)
    n_train, took_train = _rate(train, ai, rest)
    period = f"from {day(split.cut)}" if split.cut is not None else "(the last 20% of orders)"
    if n_test == 0:
        raise BundleLabError(f"the anchor item {a} never sold in the held-out period {period}: "
                             "no take rate to plan with; name another of the bundle's items "
                             "with --anchor, or pick another bundle")
    p1 = took_test / n_test
    if p1 == 0:
        raise BundleLabError(f"none of the {n_test:,} held-out orders with the anchor item {a} "
                             f"({period}) took the rest of the bundle: a take rate of 0 cannot "
                             "be tested for an uplift; try another anchor (--anchor) or bundle")
    if p1 == 1:
        raise BundleLabError(f"all {n_test:,} held-out orders with the anchor item {a} "
                             f"({period}) already took the rest of the bundle: there is no "
                             "room for an uplift to test")
    per_arm = sample_size(p1, uplift, alpha=alpha, power=power)
    weeks = _weeks(split)
    per_week = n_test / weeks if weeks else None
    return {
        "anchor": a, "items": ids, "cut": day(split.cut) if split.cut is not None else None,
        "heldout": {"anchor_orders": n_test, "took_bundle": took_test, "take_rate": p1,
                    "weeks": weeks},
        "earlier": {"anchor_orders": n_train, "took_bundle": took_train,
                    "take_rate": took_train / n_train if n_train else None},
        "uplift": uplift, "p1": p1, "p2": p1 * (1 + uplift), "alpha": alpha, "power": power,
        "z_alpha": float(norm.ppf(1 - alpha / 2)), "z_power": float(norm.ppf(power)),
        "orders_per_arm": per_arm, "orders_total": 2 * per_arm,
        "anchor_orders_per_week": per_week,
        "weeks_needed": 2 * per_arm / per_week if per_week else None,
        "formula": FORMULA,
    }


def plan_columns(bundles: pd.DataFrame, lines: pd.DataFrame, *, uplift: float = UPLIFT,
                 cut: Any = None) -> pd.DataFrame:
    """``bundles`` with ``take_rate`` (held-out, anchor = best seller) and
    ``test_orders_per_arm`` (empty where no test can be sized: no held-out anchor order, a take
    rate of 0 or 1, or p2 >= 1)."""
    out = bundles.copy()
    split = temporal_split(lines, cut)
    ids = sorted({str(x) for its in bundles["items"] for x in its})
    test, train = _baskets(split.test, ids), _baskets(split.train, ids)
    counts, col = test.item_counts() + train.item_counts(), {x: i for i, x in enumerate(ids)}
    rates, sizes = [], []
    for its in bundles["items"]:
        cols = [col[str(x)] for x in its]
        a = cols[int(np.argmax(counts[cols]))]
        n, took = _rate(test, a, [c for c in cols if c != a])
        p1 = took / n if n else float("nan")
        rates.append(round(p1, 4) if n else None)
        ok = n and 0 < p1 < 1 and p1 * (1 + uplift) < 1 and uplift > 0
        sizes.append(sample_size(p1, uplift) if ok else None)
    out["take_rate"] = rates
    out["test_orders_per_arm"] = pd.array(sizes, dtype="Int64")
    return out


def plan_for_dataset(ws, dataset: str | None, bundle_id: str, *, anchor: str | None = None,
                     uplift: float = UPLIFT, with_table: bool = False, progress=None
                     ) -> tuple[dict, pd.DataFrame | None]:
    """The test plan of bundle ``bundle_id`` of the latest saved list of ``dataset``'s current
    data version (built with the default settings and saved when none is), and, with
    ``with_table``, that list with ``plan_columns``."""
    from core.bundles.lists import bundle_lists, load_list
    from core.bundles.service import build_for_dataset

    name = ws.resolve(dataset)
    saved = bundle_lists(ws, name)
    saved = saved[saved["data_version"] == ws.info(name)["version"]]  # lists of the data now
    if len(saved):
        list_id = str(saved["list_id"].iloc[0])
        table, _ = load_list(ws, list_id)
        source = f"the latest saved list {list_id} ({saved['label'].iloc[0]})"
    else:
        result = build_for_dataset(ws, name, progress=progress)
        table, list_id = result.bundles, result.list_id
        source = (f"no saved list: built and saved one with the default settings "
                  f"(list {list_id})")
    if table.empty:
        raise BundleLabError(f"the bundle list {list_id} holds no bundles")
    ids = table["bundle_id"].astype(str)
    match = table[ids.str.upper() == str(bundle_id).strip().upper()]
    if match.empty:
        raise BundleLabError(f"no bundle {bundle_id} in {source}: its bundles are "
                             f"{ids.iloc[0]} to {ids.iloc[-1]}")
    row = match.iloc[0]
    lines = ws.lines(name)
    plan = bundle_test_plan(lines, list(row["items"]), anchor=anchor, uplift=uplift)
    names = ws.items(name).set_index("item_id")["item_name"].astype(str)
    plan.update({"dataset": name, "list_id": list_id, "source": source,
                 "bundle_id": str(row["bundle_id"]), "name": str(row["name"]),
                 "anchor_name": names.get(plan["anchor"])})
    return plan, (plan_columns(table, lines, uplift=uplift) if with_table else None)
