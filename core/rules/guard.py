"""The guard rail of frequent-itemset mining: stop a setting that would give too many itemsets.

``Guard`` counts the itemsets found per length. Before a level is counted, its estimated size
(candidates times the survival rate of the previous level) is checked against the limit; while
counting, the running total is. Either way the ``TooManyItemsets`` error says how many itemsets
the setting gives and proposes one that fits (a higher ``min_support`` or a shorter ``max_len``).
"""

from __future__ import annotations

from core.errors import TooManyItemsets

# a level is refused before counting only when the estimate overshoots the limit by this factor;
# closer calls are counted, and the hard stop while counting still holds the limit
_ESTIMATE_MARGIN = 1.5


def _millions(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f} million"
    return f"{int(n):,}"


class Guard:
    """Counts itemsets as they are found and stops a setting that would produce too many."""

    def __init__(self, limit: int, min_support: float, min_count: int, n_orders: int, max_len: int):
        self.limit = int(limit)
        self.min_support, self.min_count, self.n_orders = min_support, min_count, n_orders
        self.max_len = max_len
        self.done: dict[int, int] = {}

    @property
    def total(self) -> int:
        return sum(self.done.values())

    def fail(self, k: int, amount: float, counted: bool) -> None:
        """Raise ``TooManyItemsets``: ``amount`` is the running total when counting stopped
        (``counted``) or the estimated number of new k-itemsets."""
        below = self.total
        if self.min_support >= 1:
            support = (f"{self.min_count:,} orders ({self.min_count / max(self.n_orders, 1):.2%} "
                       f"of {self.n_orders:,})")
        else:
            support = f"{self.min_support:g} ({self.min_count:,} of {self.n_orders:,} orders)"
        cap = f"max_len {self.max_len}" if self.max_len else "no length cap"
        if counted:
            what = (f"counting passed the limit of {_millions(self.limit)} itemsets at length {k} "
                    f"({_millions(below)} up to length {k - 1})")
            size = "millions of" if amount >= 1e6 else "too many"
        else:
            what = (f"{_millions(below)} itemsets up to length {k - 1} and about "
                    f"{_millions(amount)} more of length {k} (estimated before counting them), "
                    f"more than the limit of {_millions(self.limit)}")
            size = "millions of" if below + amount >= 1e6 else "too many"
        fits = [j for j in range(2, k) if sum(v for i, v in self.done.items() if i <= j) <= self.limit]
        hint = ""
        if fits:
            best = max(fits)
            n_best = sum(v for i, v in self.done.items() if i <= best)
            hint = f" or set max_len to {best} ({_millions(n_best)} itemsets)"
        raise TooManyItemsets(
            f"min_support {support} with {cap} would produce {size} itemsets: {what}. "
            f"Raise min_support (e.g. to "
            f"{_suggest_support(self.min_support, self.min_count, self.n_orders)}){hint}, "
            "or raise the limit (max_itemsets) if you have the memory and time.")

    def check_estimate(self, k: int, estimate: float) -> None:
        if self.total + estimate > self.limit * _ESTIMATE_MARGIN:
            self.fail(k, estimate, counted=False)

    def check_count(self, k: int, running: int) -> None:
        if self.total + running > self.limit:
            self.fail(k, self.total + running, counted=True)


def _suggest_support(min_support: float, min_count: int, n_orders: int) -> str:
    if min_support >= 1:  # given as a count
        return f"{max(min_count * 2, min_count + 1)} orders"
    return f"{min(min_support * 2, (min_support + 1) / 2):.3g}"
