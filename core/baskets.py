"""Baskets: the sparse orders x items matrix, the item index and the temporal split.

Every later stage (rules, embeddings, recommender, bundles, evaluation) starts from these, so
the orientation is fixed once: rows are orders (or customers), columns are items, and the item
index is an array of item ids whose position is the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import BundleLabError


@dataclass(frozen=True)
class Baskets:
    """Distinct items per order.

    - ``matrix``: CSR, shape (n_orders, n_items), dtype bool, True where the order holds the item;
    - ``order_ids``: array of order ids (row order = first appearance in the lines);
    - ``item_ids``: array of item ids (column order; sorted unless given explicitly).
    """

    matrix: sp.csr_matrix
    order_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_orders(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    def item_index(self) -> dict[str, int]:
        """item id -> column."""
        return {item: i for i, item in enumerate(self.item_ids)}

    def item_counts(self) -> np.ndarray:
        """Number of orders holding each item (column sums)."""
        return np.asarray(self.matrix.sum(axis=0)).ravel().astype(np.int64)

    def sizes(self) -> np.ndarray:
        """Distinct items per order (row sums)."""
        return np.diff(self.matrix.indptr)


def build_baskets(lines: pd.DataFrame, *, item_ids: Sequence[str] | None = None) -> Baskets:
    """Baskets from order lines (columns ``order_id``, ``item_id``). With ``item_ids`` the
    columns follow that index and lines of other items are ignored; otherwise columns are the
    sorted distinct item ids of ``lines``."""
    if lines.empty:
        items = np.asarray(list(item_ids) if item_ids is not None else [], dtype=object)
        return Baskets(sp.csr_matrix((0, len(items)), dtype=bool), np.asarray([], dtype=object), items)
    order_codes, order_uniques = pd.factorize(lines["order_id"], sort=False)
    if item_ids is None:
        item_codes, item_uniques = pd.factorize(lines["item_id"], sort=True)
        items = np.asarray(item_uniques, dtype=object)
    else:
        items = np.asarray(list(item_ids), dtype=object)
        index = pd.Index(items)
        item_codes = index.get_indexer(lines["item_id"])
    keep = item_codes >= 0
    rows, cols = order_codes[keep], item_codes[keep]
    m = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)),
                      shape=(len(order_uniques), len(items)), dtype=bool)
    m.sum_duplicates()
    m.data[:] = True
    return Baskets(m, np.asarray(order_uniques, dtype=object), items)


def order_table(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per order: order_id, customer_id (first non-null), timestamp (first), n_items
    (distinct), revenue (sum of quantity * unit_price, NaN-safe), in first-appearance order."""
    rev = (lines["quantity"].fillna(1) * lines["unit_price"]).fillna(0) \
        if "unit_price" in lines and "quantity" in lines else pd.Series(0.0, index=lines.index)
    df = lines.assign(_rev=rev)
    g = df.groupby("order_id", sort=False)
    out = pd.DataFrame({
        "customer_id": g["customer_id"].first() if "customer_id" in df else None,
        "timestamp": g["timestamp"].min() if "timestamp" in df else pd.NaT,
        "n_items": g["item_id"].nunique(),
        "revenue": g["_rev"].sum(),
    })
    return out.reset_index()


def order_sets(lines: pd.DataFrame) -> pd.Series:
    """Each order's set of item ids (as text), by order id in first-appearance order: what the
    held-out metrics and the weights' validation score lists against."""
    return lines.groupby("order_id", sort=False)["item_id"].agg(lambda s: set(map(str, s)))


def parse_cut(cut: str | date | datetime | None) -> pd.Timestamp | None:
    """A cut date as a Timestamp at 00:00 of that day; None stays None."""
    if cut is None or cut == "":
        return None
    try:
        ts = pd.Timestamp(cut)
    except (ValueError, TypeError):
        raise BundleLabError(f"cut date {cut!r} is not a date: write it as YYYY-MM-DD, "
                             "e.g. --cut 2011-09-01") from None
    if ts.tzinfo is not None:  # order times carry no zone: the day as written
        ts = ts.tz_localize(None)
    return ts.normalize()


def day(ts: pd.Timestamp) -> str:
    """``YYYY-MM-DD`` of a timestamp; safe where ``.date()`` is not (years beyond 9999)."""
    return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}"


def default_cut(lines: pd.DataFrame, test_share: float = 0.2) -> pd.Timestamp | None:
    """The day that leaves the last ~``test_share`` of orders (by first timestamp) for testing;
    None when the lines have no timestamps, or when no day can split them (fewer than two dated
    orders, or all on one day)."""
    if "timestamp" not in lines or lines["timestamp"].isna().all():
        return None
    first = lines.groupby("order_id")["timestamp"].min().dropna().sort_values()
    if len(first) < 2:
        return None
    first_day, last_day = first.iloc[0].normalize(), first.iloc[-1].normalize()
    if first_day == last_day:  # one day: every cut leaves one side empty
        return None
    return cut_on(first.iloc[n_train(len(first), test_share)].normalize(), first_day)


def n_train(n_orders: int, test_share: float) -> int:
    """How many of ``n_orders`` (sorted by time or file order) the training side keeps; the
    order at this position (from 0) is the first held out."""
    return int(n_orders * (1 - test_share))


def cut_on(held_day: pd.Timestamp, first_day: pd.Timestamp) -> pd.Timestamp:
    """The cut: the day of the first held-out order, but at least one day after the first day
    (a training day is kept; the caller checked that a later day exists)."""
    return held_day if held_day > first_day else first_day + pd.Timedelta(days=1)


def lines_before(lines: pd.DataFrame, cut: str | date | datetime | None) -> pd.DataFrame:
    """The training lines: orders before ``cut`` (see ``temporal_split``), or all lines when no
    cut is given. The one place that decides what "trained on orders before the cut" means."""
    return lines if parse_cut(cut) is None else temporal_split(lines, cut).train


NO_TIMESTAMP_CUT = ("this dataset has no timestamps, so --cut cannot be used; "
                    "leave it out to hold out the last 20% of orders in file order")


def no_split_day(dated: int, lo: pd.Timestamp) -> BundleLabError:
    """Timestamps, but no day splits them (``dated`` orders with a date, the earliest ``lo``)."""
    what = (f"only {dated} order has a date" if dated < 2 else
            f"all {dated:,} dated orders fall on one day, {day(lo)}")
    return BundleLabError(f"a held-out later period needs dated orders on at least two "
                          f"different days, but here {what}: load more order history (orders "
                          "from later days)")


def empty_side(cut_ts: pd.Timestamp, side: str, lo: pd.Timestamp,
               hi: pd.Timestamp) -> BundleLabError:
    """The cut leaves no ``side`` ("test" or "training") orders in data from ``lo`` to ``hi``."""
    return BundleLabError(f"cut date {day(cut_ts)} leaves no {side} orders: the data runs from "
                          f"{day(lo)} to {day(hi)}; pick a date inside it")


@dataclass(frozen=True)
class Split:
    """Train/test order lines. ``cut`` is None when the split fell back to file order."""

    train: pd.DataFrame
    test: pd.DataFrame
    cut: pd.Timestamp | None


def temporal_split(lines: pd.DataFrame, cut: str | date | datetime | None = None, *,
                   test_share: float = 0.2) -> Split:
    """docs/ARCHITECTURE.md §6: train = orders whose timestamp is before ``cut`` (00:00 of that
    day), test = orders from it on (an order belongs where its earliest line falls). Without
    ``cut`` the default leaves the last ~20% of orders; data without timestamps splits the last
    20% of orders in file order."""
    has_ts = "timestamp" in lines and lines["timestamp"].notna().any()
    cut_ts = parse_cut(cut)
    if has_ts:
        lo, hi = lines["timestamp"].min(), lines["timestamp"].max()
        if cut_ts is None:
            cut_ts = default_cut(lines, test_share)
            if cut_ts is None:  # timestamps, but no day splits them
                dated = lines.loc[lines["timestamp"].notna(), "order_id"].nunique()
                raise no_split_day(dated, lo)
        first = lines.groupby("order_id")["timestamp"].transform("min")
        is_test = (first >= cut_ts).to_numpy()
        if not is_test.any() or is_test.all():
            raise empty_side(cut_ts, "test" if not is_test.any() else "training", lo, hi)
        return Split(lines[~is_test], lines[is_test], cut_ts)
    if cut_ts is not None:
        raise BundleLabError(NO_TIMESTAMP_CUT)
    codes, uniques = pd.factorize(lines["order_id"], sort=False)
    is_test = codes >= n_train(len(uniques), test_share)
    return Split(lines[~is_test], lines[is_test], None)
