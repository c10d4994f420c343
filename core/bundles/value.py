"""What a bundle is worth: an expected value per bundle, so a list can be sorted by value and not
only by coverage (issue 16, item 6). Pure: the training baskets, the item prices and costs, the
bundle table.

For each bundle, with its **anchor** = its best-selling item (the first of ``items``: the table
lists a bundle's items best seller first) and only the **recent** training orders (the last
``RECENT_SHARE`` of them by date, from the day that starts them; the last rows in file order when
the orders have no dates):

- ``ev_anchor_orders``: recent orders holding the anchor, per week (per 1,000 recent orders when
  undated; ``ev_per`` says which);
- ``ev_take_rate`` = p1: of those, the share that already hold every other item of the bundle;
- ``ev_extra_bundles`` = anchor orders x (p2 - p1), p2 = min(1, p1 x (1 + uplift)): the orders
  the offer converts, **assuming** it raises the take rate by the relative ``uplift`` (default
  +20%, the uplift ``python -m core plan`` sizes an A/B test for). The converted orders are drawn
  from the anchor orders that did not hold the whole bundle;
- ``ev_discount_cost`` = anchor orders x p1 x (list price - bundle price): **assuming** every
  order that bought the whole bundle anyway now pays the bundle price (pure cannibalisation, no
  extra sale);
- ``ev_extra`` = ev_extra_bundles x the mean gain of one converted order: it pays the bundle
  price for the whole bundle instead of the list prices of the bundle items it already held
  (the anchor, maybe some others), so the gain is bundle price - those prices; with costs for
  every item of the bundle (the catalog's ``cost`` column, the same ``margin`` basis as the
  table's ``margin``) each side is taken less its cost, i.e. margin; otherwise it is revenue,
  and ``ev_basis`` says ``revenue`` (the discount cost is the same money on either basis);
- ``expected_value`` = ev_extra - ev_discount_cost, per week (or per 1,000 orders).

Not modelled: orders the offer brings that would not have held the anchor, customers who would
have come back for the rest later, returns, stock, and any change in the anchor's sales. Prices
are the catalog's item prices (a line's own price may differ). A bundle no recent order took
(a new item, too little history) has p1 = 0: no evidence, not a loss, so its value is empty
(``ev_basis`` ``no evidence``; sorted last). A bundle
without prices has no value (empty) and ``ev_basis`` ``no prices``. Most bundles that are often
bought whole anyway come out negative: the discount then mostly goes to orders that needed
none, which is the point of showing it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.baskets import Baskets

RECENT_SHARE = 0.2  # the recent orders: the last ~20% of the training orders
VALUE_UPLIFT = 0.2  # assumed relative uplift of the take rate when the bundle is offered
VALUE_COLUMNS = ["expected_value", "ev_anchor_orders", "ev_take_rate", "ev_extra_bundles",
                 "ev_discount_cost", "ev_extra", "ev_basis", "ev_per"]


def recent_rows(order_time: np.ndarray | None, n_orders: int,
                share: float = RECENT_SHARE) -> tuple[np.ndarray, float | None]:
    """(rows of the recent orders, the weeks they span or None when undated). Dated: the orders
    from the day of the order that leaves the last ``share`` of the dated orders (undated
    orders are left out); undated: the last ``share`` of the rows, at least one."""
    t = None if order_time is None else pd.to_datetime(pd.Series(order_time))
    if t is None or t.isna().all():
        first = min(int(n_orders * (1 - share)), max(n_orders - 1, 0))
        return np.arange(first, n_orders), None
    dated = t.dropna().sort_values()
    start = dated.iloc[min(int(len(dated) * (1 - share)), len(dated) - 1)].normalize()
    rows = np.flatnonzero((t >= start).to_numpy())
    days = (dated.iloc[-1].normalize() - start).days + 1
    return rows, days / 7.0


def bundle_value(baskets: Baskets, items: pd.DataFrame, bundles: pd.DataFrame, *,
                 order_time: np.ndarray | None = None, uplift: float = VALUE_UPLIFT,
                 share: float = RECENT_SHARE) -> pd.DataFrame:
    """``bundles`` with the ``VALUE_COLUMNS`` added (see the module docstring). ``items`` is
    aligned to ``baskets.item_ids`` (columns ``price``, optional ``cost``); ``bundles`` has
    ``items`` (ids, best seller first) and ``bundle_price``."""
    out = bundles.copy()
    rows, weeks = recent_rows(order_time, baskets.n_orders, share)
    recent = baskets.matrix[rows].tocsc()
    per_unit = weeks if weeks else max(len(rows), 1) / 1000.0
    col = {str(x): i for i, x in enumerate(baskets.item_ids)}
    price = pd.to_numeric(items.get("price"), errors="coerce").to_numpy(dtype=float) \
        if "price" in items else np.full(len(col), np.nan)
    cost = pd.to_numeric(items["cost"], errors="coerce").to_numpy(dtype=float) \
        if "cost" in items else np.full(len(col), np.nan)
    values = [_one(recent, [col.get(str(x), -1) for x in ids], bp, price, cost, per_unit, uplift)
              for ids, bp in zip(bundles["items"], bundles.get("bundle_price",
                                                               [None] * len(bundles)))]
    names = VALUE_COLUMNS[:-1]
    for k, name in enumerate(names):
        out[name] = [v[k] for v in values]
    out["ev_per"] = "week" if weeks else "1,000 orders"
    return out


def _one(recent, cols: list[int], bundle_price, price: np.ndarray, cost: np.ndarray,
         per_unit: float, uplift: float) -> tuple:
    """(expected_value, anchor orders, p1, extra bundles, discount cost, extra, basis) of one
    bundle on the recent orders' CSC matrix."""
    if not cols or min(cols) < 0:  # an item the baskets do not know
        return (float("nan"), 0.0, float("nan"), 0.0, float("nan"), float("nan"), "no prices")
    anchor_rows = recent.indices[recent.indptr[cols[0]]:recent.indptr[cols[0] + 1]]
    held = recent[:, cols][anchor_rows].toarray().astype(bool)  # anchor orders x bundle items
    n_anchor = len(anchor_rows)
    full = held.all(axis=1) if n_anchor else np.zeros(0, dtype=bool)
    p1 = float(full.mean()) if n_anchor else 0.0
    p2 = min(1.0, p1 * (1.0 + uplift))
    rate = n_anchor / per_unit
    extra_bundles = rate * (p2 - p1)
    bp = float(bundle_price) if bundle_price is not None and not pd.isna(bundle_price) \
        else float("nan")
    p, c = price[cols], cost[cols]
    if not math.isfinite(bp) or np.isnan(p).all():
        return (float("nan"), round(rate, 3), p1, round(extra_bundles, 3), float("nan"),
                float("nan"), "no prices")
    p = np.nan_to_num(p)  # as the list price: the sum of the known prices
    margin = not np.isnan(c).any()
    discount = max(0.0, float(p.sum()) - bp)
    partial = held[~full]
    if margin:
        gains = (bp - c.sum()) - partial.astype(float) @ (p - c)
    else:
        gains = bp - partial.astype(float) @ p
    gain = float(gains.mean()) if len(gains) else 0.0
    discount_cost = rate * p1 * discount
    extra = extra_bundles * gain
    if n_anchor == 0 or p1 == 0:  # no recent evidence: unknown, not 0 (0 would sort first)
        return (float("nan"), round(rate, 3), p1, round(extra_bundles, 3),
                round(discount_cost, 2), round(extra, 2), "no evidence")
    return (round(extra - discount_cost, 2), round(rate, 3), p1, round(extra_bundles, 3),
            round(discount_cost, 2), round(extra, 2), "margin" if margin else "revenue")
