"""A fitted hybrid setting (``core.bundles.fit.FittedWeights``) in words, for the Bundles and
Evaluate pages and the CLI."""

from __future__ import annotations

from typing import Any


def describe(f: Any) -> str:
    """The fitted setting and its validation gain over rules only, in words (plain text)."""
    p = f.params
    parts = [f"rule strength: {p['strength']}", f"text similarity weight {p['w_text']:g}",
             f"recommender weight {p['w_rec']:g}"]
    if p.get("recency_days"):
        parts.append(f"recent orders count more (weight halves every {p['recency_days']:g} days)")
    if p.get("learned"):
        parts.append("bundles scored by a model of this shop's later orders")
    if p.get("cold_share"):
        sold = (f"new items and items sold in at most {p['cold_max_orders']} orders"
                if p.get("cold_max_orders") else "new items (no sales yet)")
        parts.append(f"{sold} join up to {p['cold_share']:.0%} of the bundles by their text")
    elif "cold_share" in p:
        parts.append("no new item joins a bundle by its text")
    if p.get("fill_min_orders"):
        parts.append(f"a short list is filled with pairs bought together in at least "
                     f"{p['fill_min_orders']} orders (weaker evidence, after the others)")
    head = ("Weights fitted on this shop's own orders" if f.fitted
            else "Default weights kept")
    text = f"{head}: {', '.join(parts)}."
    rate = f.validation_hit_rate
    if rate:
        diff = rate["fitted"] - rate["rules"]
        text += (f" On the {f.validation_orders:,} validation orders (the last ~20% of the "
                 f"orders, with the models trained on the earlier ones) the list held 2 or more "
                 f"items of {rate['fitted']:.1%} of them, against {rate['rules']:.1%} "
                 f"for co-purchase rules only ({diff * 100:+.1f} points; measured on the orders "
                 "the setting was chosen on, so a later period may gain less).")
    return text + f" ({f.reason}.)"


def fit_reason(clear: bool, unchanged: bool, gain: int, loss: int, n_val: int) -> str:
    """Why the fit kept what it kept: ``clear`` (the sign test passed), ``unchanged`` (no other
    setting hit more), ``gain``/``loss`` (validation orders the best setting hits that the
    defaults miss, and the reverse) of ``n_val``."""
    if clear:
        return (f"fitted on {n_val:,} validation orders: it hits {gain - loss:,} more of them "
                f"than the default weights ({gain:,} gained, {loss:,} lost)")
    if unchanged:
        return (f"no other setting hit more of the {n_val:,} validation orders: the default "
                "weights are used")
    return (f"the best setting hit {gain - loss:,} more of the {n_val:,} validation orders "
            f"than the default weights ({gain:,} gained, {loss:,} lost), within chance: "
            "the default weights are used")
