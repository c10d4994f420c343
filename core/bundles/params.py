"""Bundle settings (``BundleParams``) and what a build returns (``BundleResult``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import BundleLabError
from core.text.variants import VARIANT_SIMILARITY

STRATEGIES = ("rules", "similarity", "hybrid")
# the automatic minimum orders keeps at most this many items frequent (a huge catalog)
MAX_BUNDLE_ITEMS = 10_000
# the rule measures a bundle can be ranked by (``Candidates.strength``)
STRENGTHS = ("confidence", "all_confidence", "lift", "orders")

# the words of a ``DatasetChanged`` raised while a list is built from a workspace dataset
BUILDING, AGAIN = "bundles were being built", "run bundles again"


@dataclass(frozen=True)
class BundleParams:
    """Bundle settings, in business words where the UI shows them.

    ``min_orders``: a bundle's items must be bought together in at least this many training
    orders (0 = automatic: 0.3% of orders, at least 10 and at most 50);
    ``min_confidence``/``min_lift``: floors for rule evidence; ``w_*``: hybrid weights (a signal
    that is absent, no text vectors or no trained recommender, gets weight 0 and a note);
    ``text``: use the item texts at all (text neighbours, similarity, new items; False = rules
    and recommender only, faster); ``strength``: the rule measure (confidence, all_confidence,
    lift, orders); ``objective``: cover ``orders`` or ``revenue``; ``recency_days``: a
    training order's weight in the coverage halves every this many days before the last one (0 =
    every order counts the same); ``incremental``: weigh a bundle's covered orders by the share
    that independent purchases of its items would not explain (prefers bundles bought together
    more than their popularity says over best sellers that meet by chance); ``max_per_item``: how many
    bundles one item may be in; ``cold_share``: at most this share of the bundles gets a new item
    (no sales yet) whose text is close to their items (``cold_min_similarity``: the least cosine
    similarity); ``include``/``exclude``: item ids or category names that must / must not be in
    bundles; ``allow_variants``: bundle near-duplicates (same product, other colour/size) anyway;
    ``discount``: bundle price = list price less this share; ``min_margin``: price floor over
    cost when a cost column exists; ``fill_min_orders``: when fewer than ``top`` bundles pass
    ``min_orders``, fill the list with pairs bought together in at least this many orders,
    ranked after every bundle that passes (weaker evidence, said in their explanation; 0 = off,
    else at least 2)."""

    top: int = 50
    strategy: str = "hybrid"
    min_orders: int = 0
    min_confidence: float = 0.0
    min_lift: float = 1.0
    max_size: int = 4
    # defaults chosen on a validation period inside the training data (bench/bundle_weights.py:
    # UCI Online Retail, train < 2011-07-01, validation 2011-07-01..2011-08-31): ranking by lift
    # and no text weight gave the best hit rate; text still brings candidates and new items
    w_rules: float = 1.0
    w_text: float = 0.0
    w_rec: float = 0.0
    text: bool = True
    strength: str = "lift"
    objective: str = "orders"
    recency_days: float = 0.0
    incremental: bool = False
    learned: bool = False  # score by a model of the shop's later orders (core.bundles.learned)
    max_per_item: int = 2
    cold_share: float = 0.1
    cold_min_similarity: float = 0.5
    cold_max_orders: int = 0
    text_neighbours: int = 5
    variant_similarity: float = VARIANT_SIMILARITY
    allow_variants: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    discount: float = 0.1
    min_margin: float = 0.1
    pool_size: int = 4000
    n_customers: int = 5
    fill_min_orders: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise BundleLabError(f"strategy must be one of {', '.join(STRATEGIES)}, not "
                                 f"{self.strategy!r}")
        if self.strength not in STRENGTHS:
            raise BundleLabError(f"strength must be one of {', '.join(STRENGTHS)}")
        if not math.isfinite(self.recency_days) or self.recency_days < 0:
            raise BundleLabError("recency_days must be 0 (off) or a number of days")
        if self.objective not in ("orders", "revenue"):
            raise BundleLabError("objective must be 'orders' or 'revenue'")
        if self.top < 1:
            raise BundleLabError("--top must be at least 1 bundle")
        if not 0 <= self.discount < 1:
            raise BundleLabError(f"discount {self.discount} must be a share between 0 and 1, "
                                 "e.g. 0.1 for 10% off")
        if min(self.w_rules, self.w_text, self.w_rec) < 0:
            raise BundleLabError("weights must be zero or positive")
        if self.fill_min_orders != 0 and self.fill_min_orders < 2:
            raise BundleLabError("fill_min_orders must be 0 (off) or at least 2 orders together")
        if not 2 <= self.max_size <= 6:
            raise BundleLabError("bundles hold 2 to 6 items: set max_size between 2 and 6")

    def resolved_min_orders(self, n_orders: int, item_counts: np.ndarray | None = None) -> int:
        return self.min_orders_choice(n_orders, item_counts)[0]

    def min_orders_choice(self, n_orders: int, item_counts: np.ndarray | None = None
                          ) -> tuple[int, str]:
        """(minimum orders together, why). Automatic (``min_orders`` 0): 0.3% of orders, but at
        least 10 and at most 50 (50 orders together is solid evidence in any shop, and a big
        catalog's long tail needs a count, not a share); raised when more than
        ``MAX_BUNDLE_ITEMS`` items (``item_counts``: orders per item) would reach it, so the
        itemset mining stays bounded in a huge catalog (the rules step's idea,
        ``core.rules.defaults``)."""
        if self.min_orders:
            return int(self.min_orders), "set"
        n = min(50, max(10, round(0.003 * n_orders)))
        why = ("0.3% of orders" if 10 < n < 50 else
               f"{'at least' if n == 10 else 'at most'} {n} orders (0.3% of orders would be "
               f"{0.003 * n_orders:.0f})")
        if item_counts is not None:
            counts = np.sort(np.asarray(item_counts))[::-1]
            if len(counts) > MAX_BUNDLE_ITEMS and counts[MAX_BUNDLE_ITEMS] >= n:
                reaching = int((counts >= n).sum())
                n = int(counts[MAX_BUNDLE_ITEMS]) + 1
                why = (f"{reaching:,} items are in enough orders: raised so that at most "
                       f"{MAX_BUNDLE_ITEMS:,} items can be in bundles")
        return n, why


@dataclass
class BundleResult:
    """``bundles`` (the table, one row per bundle: bundle_id, name, items, item_names, size,
    orders_together, confidence, lift, similarity, affinity, score, provenance, explanation,
    list_price, bundle_price, price_note, margin, target_customers, cold_start, variant,
    coverage_gain, cumulative_coverage, and the expected value (``core.bundles.value``:
    expected_value, ev_anchor_orders, ev_take_rate, ev_extra_bundles, ev_discount_cost, ev_extra,
    ev_basis, ev_per), ``coverage`` (bundles, covered orders share),
    ``flagged`` (variant candidates left out), ``candidates`` (how many), ``notes``, ``params``
    (the settings, ``min_orders_used`` and ``weights_used``), ``seconds``, and ``list_id`` when
    the list was saved in the workspace."""

    bundles: pd.DataFrame
    coverage: pd.DataFrame
    flagged: pd.DataFrame
    candidates: int
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    list_id: str | None = None
