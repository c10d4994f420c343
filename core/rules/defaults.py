"""Size-aware defaults (issue 18): the support of the pipeline's rules step, chosen from the
shop's size and sparsity instead of a fixed share of orders.

A fixed 1% of orders fits a few thousand orders over a few thousand products; on 155,000 baskets
over 92,000 products it asks 1,550 orders of an itemset and finds 2 rules. The rule here speaks
in orders, as a merchandiser does ("bought together in at least N orders"):

1. an itemset needs at least ``MIN_ORDERS`` (20) orders, and at least one in
   ``ORDERS_PER_COUNT`` (5,000) orders of a very large shop;
2. but no more than ``MAX_FREQUENT_ITEMS`` (2,000) items may reach it, so the pair counting
   stays small whatever the catalog (a higher count where more items would);
3. and never more than the former 1% of orders: a shop of fewer than 2,000 orders keeps it.

Dense baskets (dozens of items per order) can still give too many itemsets at that count: the
rules step then raises it by half until the mining fits ``RULES_MAX_ITEMSETS``
(``core.pipeline.mine_step``), and says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from core.rules.itemsets import min_count_for

MIN_ORDERS = 20
ORDERS_PER_COUNT = 5000
MAX_FREQUENT_ITEMS = 2000
MAX_SHARE = 0.01
# the rules step reports rules; exploring millions of itemsets is the Rules page's job
RULES_MAX_ITEMSETS = 50_000
RAISE_FACTOR = 1.5


@dataclass(frozen=True)
class SupportChoice:
    """The rules step's support: ``min_count`` orders (``min_support`` of ``n_orders``), the
    ``frequent_items`` reaching it and ``why`` in one sentence."""

    min_count: int
    n_orders: int
    frequent_items: int
    why: str

    @property
    def min_support(self) -> float:
        return self.min_count / max(self.n_orders, 1)

    def as_dict(self) -> dict:
        return {**asdict(self), "min_support": round(self.min_support, 6)}


def rules_support(item_counts: np.ndarray, n_orders: int) -> SupportChoice:
    """The rules step's minimum order count for a shop whose items are each held by
    ``item_counts`` of its ``n_orders`` orders (see the module docstring)."""
    counts = np.sort(np.asarray(item_counts, dtype=np.int64))[::-1]
    n = max(int(n_orders), 1)
    cap = min_count_for(MAX_SHARE, n)
    floor = max(MIN_ORDERS, math.ceil(n / ORDERS_PER_COUNT))
    count, why = floor, (f"at least {MIN_ORDERS} orders" if floor == MIN_ORDERS else
                         f"at least 1 in {ORDERS_PER_COUNT:,} orders")
    reaching = int((counts >= count).sum())
    if reaching > MAX_FREQUENT_ITEMS:
        count = int(counts[MAX_FREQUENT_ITEMS]) + 1  # the 2,001st item falls below
        why = (f"{reaching:,} items are in {floor:,}+ orders: raised so that at most "
               f"{MAX_FREQUENT_ITEMS:,} items are frequent")
    if count >= cap:
        why = (f"{MAX_SHARE:.0%} of orders (at most {MIN_ORDERS} orders in a shop this small)"
               if floor >= cap
               else f"{MAX_SHARE:.0%} of orders, the most this rule asks ({why})")
        count = cap
    frequent = int((counts >= count).sum())
    return SupportChoice(count, n, frequent, f"{count:,} orders ({count / n:.3%} of {n:,}): "
                         f"{why}; {frequent:,} frequent items")


def raised(choice: SupportChoice, counts: np.ndarray, itemsets_limit: int) -> SupportChoice | None:
    """The next count to try when ``choice`` gave more than ``itemsets_limit`` itemsets: half
    again as many orders (at most the 1% cap); None when it is at the cap already."""
    cap = min_count_for(MAX_SHARE, choice.n_orders)
    if choice.min_count >= cap:
        return None
    count = min(cap, max(choice.min_count + 1, math.ceil(choice.min_count * RAISE_FACTOR)))
    frequent = int((np.asarray(counts) >= count).sum())
    n = choice.n_orders
    return SupportChoice(count, n, frequent, f"{count:,} orders ({count / n:.3%} of {n:,}): "
                         f"{choice.min_count:,} orders gave more than {itemsets_limit:,} "
                         f"itemsets (dense baskets); {frequent:,} frequent items")


CATEGORY_MAX_SHARE = 0.5  # categories: raise the support up to half the orders


def raised_category(choice: SupportChoice, counts: np.ndarray,
                    itemsets_limit: int) -> SupportChoice | None:
    """``raised`` for category-level mining (``core.rules.levels``): a few hundred categories
    sit in most orders, so the support may rise past the items' 1% cap, up to
    ``CATEGORY_MAX_SHARE`` of the orders; None beyond."""
    n = choice.n_orders
    cap = min_count_for(CATEGORY_MAX_SHARE, n)
    if choice.min_count >= cap:
        return None
    count = min(cap, max(choice.min_count + 1, math.ceil(choice.min_count * RAISE_FACTOR)))
    frequent = int((np.asarray(counts) >= count).sum())
    return SupportChoice(count, n, frequent, f"{count:,} orders ({count / n:.3%} of {n:,}): "
                         f"{choice.min_count:,} orders gave more than {itemsets_limit:,} "
                         f"itemsets (categories are in many orders); {frequent:,} frequent "
                         "categories")
