"""Bundle prices: the list price less a discount, with shop-style endings and a floor above cost.
Pure function over numbers."""

from __future__ import annotations

import math

MIN_PRICE = 0.01  # one cent: a bundle is never free


def bundle_price(list_price: float, *, discount: float, cost: float | None = None,
                 min_margin: float = 0.1) -> tuple[float, str]:
    """Suggested bundle price: the list price less ``discount``, rounded down to .x9 endings,
    never below ``cost * (1 + min_margin)`` when the cost is known. Returns (price, note)."""
    # list_price * 10 (the rounding below) must stay finite: 1e308 is "no price", not a crash
    if list_price is None or not math.isfinite(list_price * 10) or list_price <= 0:
        return float("nan"), "no price data"
    raw = list_price * (1.0 - discount)
    # 17.99 / 9.49: down to the tenth, minus a cent; under 1 the cents stay as they are
    price = math.floor(raw * 10) / 10 - 0.01 if raw >= 1 else round(raw, 2)
    price = max(price, MIN_PRICE)
    note = f"{discount:.0%} off the list price"
    if cost is not None and math.isfinite(cost) and cost > 0:
        floor = round(cost * (1.0 + min_margin), 2)
        if price < floor:
            price, note = floor, f"held at the price floor (cost + {min_margin:.0%})"
    return round(price, 2), note
