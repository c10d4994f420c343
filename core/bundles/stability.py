"""Will a bundle still work next month? Each bundle re-counted in calendar windows (months or
quarters) of the shop's order lines, and labelled ``steady``, ``seasonal``, ``rising``,
``fading`` or ``new``.

``stability_table(lines, bundles, window)`` returns ``Stability(table, series)``:

- ``series``, one row per bundle and window that has orders: bundle_id, window (``2011-03`` or
  ``2011Q1``), start, orders (the window's orders), together (orders holding all the bundle's
  items), anchor_orders (orders holding its anchor, the bundle's best-selling item), confidence
  (together / anchor_orders), share (together / orders) and held;
- ``table``, one row per bundle: bundle_id, stability, windows_held, windows, season (the calendar
  months or quarters of a seasonal bundle), evidence (how a label was told), trend (the fitted
  change of its share over the data, relative to its mean share), first_held, last_held.

**When a bundle holds in a window** (``StabilityRule``; ``s`` = the window's share of all
dated orders): it is bought together in at least
``max(floor, scale * min_orders * s, own_rate * together * s)`` of the window's orders, and its
confidence there is at least ``confidence_share`` of its confidence over all the windows.

- ``scale * min_orders * s``: the list asked a bundle for ``min_orders`` (its
  ``min_orders_used``) orders over the whole data; a window holding share ``s`` of the orders
  would ask for ``s * min_orders``. Half of it (``scale`` 0.5), because a bundle right at the
  list's floor, bought evenly, falls short of its full share in about half the windows by
  chance (Poisson noise) but of half its share in about one month in ten.
- ``own_rate * together * s``: at least half (``own_rate`` 0.5) of the bundle's *own* usual
  rate. Without it a best seller (hundreds of orders together) would "hold" in its dead season
  on a handful of orders, since the list's floor is far below it: on UCI Online Retail a hot
  water bottle pair bought together in 6-11 orders a month from March to August, against 56-93
  from September, held everywhere. Half, again, for the noise: a bundle with 150 orders over 13
  months misses half its usual rate in about 3% of the months by chance.
- ``floor`` 2: one order is not "bought together".
- confidence, counted the same way in a window and overall (orders with all its items / orders
  with its anchor, the best-selling item): a window where the anchor sells but the rest does not
  go with it fails even when the count is high; half its usual confidence leaves room for noise.

**Labels** (in this order; ``n`` windows with orders). A bundle whose items were not all on
sale from the first window (a launch) is judged on the windows from then on (the months before
would read as "not held" and make any launch look rising); its evidence says so.
1. ``steady`` when it holds in every window;
2. ``new`` when it first holds (or its items have all been sold at all) only in the last
   ``recent`` share of the windows (at least the last one);
3. ``seasonal`` when it holds in at least two windows whose calendar months (quarters) make at
   most ``season_max`` of the year, and in at least ``season_hit`` of all the windows in those
   months (quarters). The evidence is said: *repeats* when one calendar month (quarter) held in
   two different years; otherwise *one year only*: the held windows must then fall in one
   contiguous part of the calendar and not be one run at the start or the end of the data (that
   is fading or rising as much as seasonal). With ~13 months (UCI Online Retail, Dec 2010 - Dec
   2011) only December is seen twice, so "repeats" rests on December alone and the rest is "holds
   only in a contiguous part of the year": a real yearly pattern needs two years of data;
4. ``rising`` / ``fading`` when its share of orders has a clear trend: the least-squares line
   of the share per window (weighted by the window's orders) changes by at least
   ``trend_change`` of the mean share over the data, and the second half's share is at least
   ``trend_ratio`` times the first half's (or at most its inverse): both, so that one odd window
   does not make a trend;
5. ``steady`` when it holds in at least ``steady_share`` of the windows (no clear trend);
6. ``none`` when it holds in fewer than two windows (a similarity or new-item bundle never
   bought together often enough per window: no label would be true);
7. otherwise (it holds in scattered windows only: rare, since a list's bundles are well above
   its floor) the closest of the above: ``fading`` (``rising``) when it held more than twice as
   often in the first (second) half and its trend points that way, else ``steady``; the
   evidence then says "weak" and windows_held tells how few.

No dates, no windows: a ``BundleLabError`` says stability needs order dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import build_baskets
from core.errors import BundleLabError

WINDOWS = ("month", "quarter")
LABELS = ("steady", "seasonal", "rising", "fading", "new", "none")
NEEDS_DATES = ("stability over time needs order dates, and this dataset has none: load the "
               "orders with a date column (map one on the Upload page or with --map "
               "timestamp=Column)")


@dataclass(frozen=True)
class StabilityRule:
    """When a bundle holds in a window, and the label thresholds (module docstring)."""

    floor: int = 2
    scale: float = 0.5
    own_rate: float = 0.5
    confidence_share: float = 0.5
    recent: float = 0.25
    season_max: float = 0.5
    season_hit: float = 2 / 3
    trend_change: float = 0.5
    trend_ratio: float = 1.5
    steady_share: float = 0.75


class Stability(NamedTuple):
    table: pd.DataFrame
    series: pd.DataFrame


def _windows(lines: pd.DataFrame, order_ids: np.ndarray, window: str):
    """Per order (baskets row), the window number (-1: undated), and per window its key."""
    if window not in WINDOWS:
        raise BundleLabError(f"window must be one of {', '.join(WINDOWS)}, not {window!r}")
    if "timestamp" not in lines or lines["timestamp"].isna().all():
        raise BundleLabError(NEEDS_DATES)
    ts = pd.to_datetime(lines.groupby("order_id", sort=False)["timestamp"].min()
                        .reindex(order_ids))
    per_year = 12 if window == "month" else 4
    sub = ts.dt.month - 1 if window == "month" else ts.dt.quarter - 1
    key = (ts.dt.year * per_year + sub).to_numpy(dtype=float)
    dated = ~np.isnan(key)
    first = int(np.nanmin(key))
    w = np.where(dated, key - first, -1).astype(np.int64)
    keys = np.arange(first, int(np.nanmax(key)) + 1)
    return w, keys, per_year


def _per_window(w: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_w: int, n_b: int) -> np.ndarray:
    """(windows x bundles) counts of (order row, bundle) pairs; undated rows left out."""
    wr = w[rows]
    ok = wr >= 0
    flat = np.bincount(wr[ok] * n_b + cols[ok], minlength=n_w * n_b)
    return flat.reshape(n_w, n_b)


def window_counts(lines: pd.DataFrame, bundles: pd.DataFrame, window: str = "month"):
    """The counting, vectorised on the sparse baskets: (window keys, orders per window, together
    and anchor orders per window x bundle, the window where each bundle's items had all been
    sold, the anchors), over windows that have orders."""
    b = build_baskets(lines[["order_id", "item_id"]])
    w, keys, per_year = _windows(lines, b.order_ids, window)
    n_w, n_b = len(keys), len(bundles)
    index = b.item_index()
    x = b.matrix.astype(np.int32)
    counts = b.item_counts()
    sets = [[index[i] for i in its if i in index] for its in bundles["items"]]
    complete = np.array([len(c) == len(its) and len(c) > 0
                         for c, its in zip(sets, bundles["items"])], dtype=bool)
    r = np.concatenate([np.asarray(c, dtype=np.int64) for c in sets] + [np.zeros(0, np.int64)])
    c = np.repeat(np.arange(n_b), [len(s) for s in sets])
    incidence = sp.csr_matrix((np.ones(len(r), np.int32), (r, c)), shape=(b.n_items, n_b))
    held = (x @ incidence).tocoo()
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    full = (held.data == sizes[held.col]) & complete[held.col]
    together = _per_window(w, held.row[full], held.col[full], n_w, n_b)
    anchors = np.array([s[int(np.argmax(counts[s]))] if s else -1 for s in sets], dtype=np.int64)
    has = anchors >= 0
    a = x[:, anchors[has]].tocoo()
    anchor = _per_window(w, a.row, np.flatnonzero(has)[a.col], n_w, n_b)
    orders = np.bincount(w[w >= 0], minlength=n_w)
    # the first window in which every item of the bundle had been sold (n_w: never)
    u = np.unique(r)
    xs = x[:, u].tocoo()
    first_sale = np.full(len(u), n_w, dtype=np.int64)
    wr = w[xs.row]
    np.minimum.at(first_sale, xs.col[wr >= 0], wr[wr >= 0])
    pos = {col: k for k, col in enumerate(u)}
    ready = np.array([max(first_sale[pos[j]] for j in s) if ok else n_w
                      for s, ok in zip(sets, complete)], dtype=np.int64)
    active = orders > 0
    ready = np.searchsorted(np.flatnonzero(active), ready)  # in active-window positions
    ids = np.asarray(b.item_ids, dtype=object)
    anchor_ids = [ids[j] if j >= 0 else None for j in anchors]
    return keys[active], per_year, orders[active], together[active], anchor[active], ready, anchor_ids


def _trend(together: np.ndarray, orders: np.ndarray) -> tuple[float, float]:
    """(fitted change over the data / mean share, second-half share / first-half share)."""
    n = len(orders)
    share = together / orders
    mean = together.sum() / orders.sum()
    if n < 3 or mean == 0:
        return 0.0, 1.0
    t = np.arange(n, dtype=float)
    tw = np.average(t, weights=orders)
    slope = np.sum(orders * (t - tw) * (share - mean)) / np.sum(orders * (t - tw) ** 2)
    h = n // 2
    first = together[:h].sum() / orders[:h].sum()
    second = together[n - h:].sum() / orders[n - h:].sum()
    ratio = np.inf if first == 0 else second / first
    return float(slope * (n - 1) / mean), float(ratio)


def _seasonal(held: np.ndarray, slots: np.ndarray, years: np.ndarray, per_year: int, n: int,
              rule: StabilityRule) -> str | None:
    """The evidence when the bundle is seasonal (module docstring), else None."""
    if held.sum() < 2 or n < per_year:
        return None
    season = np.unique(slots[held])
    if len(season) > rule.season_max * per_year:
        return None
    in_season = np.isin(slots, season)
    if held.sum() < rule.season_hit * in_season.sum():
        return None
    years_per_slot = pd.Series(years[held]).groupby(slots[held]).nunique()
    repeated = years_per_slot[years_per_slot >= 2]
    if len(repeated):
        return (f"repeats in {int(repeated.max())} years "
                f"({_season_text(repeated.index.to_numpy(), per_year)})")
    gaps = np.diff(np.sort(season))
    circle = np.append(gaps, season.min() + per_year - season.max())
    if (circle > 1).sum() > 1:  # more than one part of the calendar
        return None
    pos = np.flatnonzero(held)
    one_run = pos[-1] - pos[0] + 1 == len(pos)
    if one_run and (pos[0] == 0 or pos[-1] == n - 1):
        return None  # a run at the start or end of the data: fading or rising as much
    return "one year only: holds in one part of the year"


def _season_text(slots: np.ndarray, per_year: int) -> str:
    names = ([pd.Timestamp(2000, m + 1, 1).strftime("%b") for m in range(12)] if per_year == 12
             else [f"Q{q + 1}" for q in range(4)])
    return ", ".join(names[s] for s in sorted(set(slots)))


def _halves(ratio: float) -> str:
    return ("not bought together in the first half" if np.isinf(ratio) else
            f"share of orders {ratio:.1f}x in the second half")


def label(held: np.ndarray, together: np.ndarray, orders: np.ndarray, slots: np.ndarray,
          years: np.ndarray, per_year: int, ready: int, rule: StabilityRule
          ) -> tuple[str, str, str, float]:
    """(label, season, evidence, trend) of one bundle from its windows (module docstring)."""
    n = len(held)
    change, ratio = _trend(together, orders)
    recent = max(1, round(rule.recent * n))
    first = int(np.argmax(held)) if held.any() else n
    if held.all():
        return "steady", "", f"holds in all {n} windows", change
    if 0 < ready < n - recent:  # launched after the data starts: judged from then on
        lab, season, why, change = label(held[ready:], together[ready:], orders[ready:],
                                         slots[ready:], years[ready:], per_year, 0, rule)
        return lab, season, f"{why} since its items were all on sale (window {ready + 1} of " \
            f"{n})", change
    if n > recent and (ready >= n - recent or (held.any() and first >= n - recent)):
        why = ("an item of it has not sold yet" if ready >= n else
               f"its items were all sold only in the last {recent} window(s)"
               if ready >= n - recent else f"it first held only in the last {recent} window(s)")
        return "new", "", why, change
    evidence = _seasonal(held, slots, years, per_year, n, rule)
    if evidence:
        return "seasonal", _season_text(slots[held], per_year), evidence, change
    if change >= rule.trend_change and ratio >= rule.trend_ratio:
        return "rising", "", _halves(ratio), change
    if change <= -rule.trend_change and ratio <= 1 / rule.trend_ratio:
        return "fading", "", _halves(ratio), change
    if held.sum() >= rule.steady_share * n:
        return "steady", "", f"holds in {int(held.sum())} of {n} windows", change
    if held.sum() < 2:  # no window (or one) to judge by: no label would be true
        return "none", "", f"holds in {int(held.sum())} of {n} windows: bought together too " \
            "rarely per window to tell", change
    h = n // 2
    early, late = held[:h].sum(), held[n - h:].sum()
    lean = "fading" if early > 2 * late and change < 0 else \
        "rising" if late > 2 * early and change > 0 else "steady"
    return lean, "", f"weak: holds in {int(held.sum())} of {n} windows", change


def stability_table(lines: pd.DataFrame, bundles: pd.DataFrame, window: str = "month", *,
                    min_orders: int | None = None, rule: StabilityRule | None = None
                    ) -> Stability:
    """Re-count ``bundles`` (bundle_id, items) in ``window`` windows of ``lines`` (order_id,
    item_id, timestamp) and label each (module docstring). ``min_orders``: the list's minimum
    orders together (default: the smallest orders_together of the list, or ``rule.floor``)."""
    rule = rule or StabilityRule()
    if min_orders is None:
        known = pd.to_numeric(bundles.get("orders_together", pd.Series(dtype=float)),
                              errors="coerce")
        known = known[known > 0]
        min_orders = int(known.min()) if len(known) else rule.floor
    keys, per_year, orders, together, anchor, ready, anchor_ids = window_counts(
        lines, bundles, window)
    n = len(orders)
    total_t, total_a = together.sum(axis=0), anchor.sum(axis=0)
    overall = np.divide(total_t, total_a, out=np.zeros(len(total_t)), where=total_a > 0)
    size = orders / max(orders.sum(), 1)  # the window's share of the orders
    need = np.maximum(np.maximum(rule.floor, rule.scale * min_orders * size)[:, None],
                      rule.own_rate * total_t[None, :] * size[:, None])
    conf = np.divide(together, anchor, out=np.zeros(together.shape, dtype=float),
                     where=anchor > 0)
    held = (together >= need) & (together > 0) & \
        (conf >= rule.confidence_share * overall[None, :])
    slots, years = keys % per_year, keys // per_year
    freq = "M" if per_year == 12 else "Q"
    periods = pd.PeriodIndex([pd.Period(year=int(y), month=int(s) * (12 // per_year) + 1,
                                        freq="M").asfreq(freq) for y, s in zip(years, slots)])
    labels = [str(p) if per_year == 4 else p.strftime("%Y-%m") for p in periods]
    rows = []
    for j, bid in enumerate(bundles["bundle_id"]):
        lab, season, evidence, change = label(held[:, j], together[:, j], orders, slots, years,
                                              per_year, int(ready[j]), rule)
        hw = np.flatnonzero(held[:, j])
        rows.append({"bundle_id": bid, "stability": lab, "windows_held": int(len(hw)),
                     "windows": n, "season": season, "evidence": evidence,
                     "trend": round(change, 3), "anchor": anchor_ids[j],
                     "first_held": labels[hw[0]] if len(hw) else None,
                     "last_held": labels[hw[-1]] if len(hw) else None})
    nb = len(bundles)
    series = pd.DataFrame({
        "bundle_id": np.repeat(bundles["bundle_id"].to_numpy(), n),
        "window": np.tile(labels, nb), "start": np.tile(periods.start_time, nb),
        "orders": np.tile(orders, nb), "together": together.T.ravel(),
        "anchor_orders": anchor.T.ravel(), "confidence": conf.T.ravel(),
        "share": (together / orders[:, None]).T.ravel(), "held": held.T.ravel()})
    return Stability(pd.DataFrame(rows, columns=["bundle_id", "stability", "windows_held",
                                                 "windows", "season", "evidence", "trend",
                                                 "anchor", "first_held", "last_held"]), series)


def stability_for_dataset(ws, dataset: str, bundles: pd.DataFrame, window: str = "month", *,
                          min_orders: int | None = None, cut=None,
                          rule: StabilityRule | None = None) -> Stability:
    """``stability_table`` on a workspace dataset's order lines (those before ``cut``: the
    orders a list built with that cut saw)."""
    from core.baskets import lines_before

    lines = ws.lines(dataset, columns=["order_id", "item_id", "timestamp"])
    return stability_table(lines_before(lines, cut), bundles, window, min_orders=min_orders,
                           rule=rule)


def check_dated(ws, dataset: str | None) -> None:
    """Raise ``BundleLabError`` (``NEEDS_DATES``) when the dataset's orders have no dates: the
    CLI checks it before building a list."""
    name = ws.resolve(dataset)
    if not ws.info(name).get("date_min"):
        raise BundleLabError(NEEDS_DATES)
