"""A short list filled with weaker bundles (``BundleParams.fill_min_orders``, issue 14): the
bundles that pass the floor come first and unchanged, the fill comes after them, each saying it
is weaker evidence; the per-shop fit switches the fill on only where the shop's own later
orders bear it out."""

from __future__ import annotations

import pandas as pd
import pytest

from core.baskets import build_baskets
from core.bundles.build import build_bundles
from core.bundles.candidates import BundleInputs
from core.bundles.fit import describe, fit_weights
from core.bundles.params import BundleParams
from core.errors import BundleLabError

STRONG, WEAK = 2, 20  # pairs bought together in 30 orders, and in 3


def fill_shop(weak_recur: bool, mid: int = 0) -> tuple[BundleInputs, list[set]]:
    """Two strong pairs and twenty weak ones (plus single-item orders, so lifts stay finite);
    validation orders repeat the strong pairs and, with ``weak_recur``, the weak ones too (else
    other items' weak pairs that were never bought together in training). ``mid``: that many of
    the weak pairs are bought together in 7 orders instead of 3."""
    n_items = 2 * (STRONG + WEAK) + 2 * WEAK
    items = [f"p{k:03d}" for k in range(n_items)]
    rows, oid = [], 0

    def order(*its: str) -> None:
        nonlocal oid
        oid += 1
        rows.extend((str(oid), i) for i in its)

    for p in range(STRONG + WEAK):
        for _ in range(30 if p < STRONG else 7 if p < STRONG + mid else 3):
            order(items[2 * p], items[2 * p + 1])
    for i in items:
        for _ in range(4):
            order(i)
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"])
    b = build_baskets(lines, item_ids=items)
    syll = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu"]
    names = [syll[k % 10] + syll[k // 10 % 10] + "dor" for k in range(n_items)]  # no variants
    table = pd.DataFrame({"item_id": items, "item_name": names,
                          "category": None, "price": 5.0, "cost": None})
    validation = []
    for r in range(300):
        if r % 3 == 0:
            p = r % STRONG
            validation.append({items[2 * p], items[2 * p + 1]})
        elif weak_recur:
            p = STRONG + r % WEAK
            validation.append({items[2 * p], items[2 * p + 1]})
        else:  # pairs of the unpaired items: nothing in training predicts them
            k = 2 * (STRONG + WEAK) + 2 * (r % WEAK)
            validation.append({items[k], items[k + 1]})
    return BundleInputs(b, table), validation


BASE = BundleParams(top=10, min_orders=10, strategy="rules", text=False, max_per_item=1,
                    cold_share=0.0)


def test_fill_comes_after_the_strong_bundles_and_says_so():
    inp, _ = fill_shop(weak_recur=True)
    plain = build_bundles(inp, BASE).bundles
    filled = build_bundles(inp, BundleParams(**{**BASE.__dict__, "fill_min_orders": 2})).bundles
    assert len(plain) == STRONG and len(filled) == BASE.top
    assert filled["items"].head(STRONG).tolist() == plain["items"].tolist()  # unchanged, first
    weak = filled.iloc[STRONG:]
    assert (weak["orders_together"] == 3).all()
    assert weak["explanation"].str.contains("Weaker evidence: fewer than 10 orders").all()
    assert not filled.head(STRONG)["explanation"].str.contains("Weaker").any()
    used = [i for its in filled["items"] for i in its]
    assert len(used) == len(set(used))  # max_per_item=1 holds across strong and fill
    assert filled["cumulative_coverage"].is_monotonic_increasing
    # a floor at or above the list's own: nothing to fill
    same = build_bundles(inp, BundleParams(**{**BASE.__dict__, "fill_min_orders": 10})).bundles
    assert same["items"].tolist() == plain["items"].tolist()
    # a fill floor above the weak pairs' 3 orders finds nothing
    assert len(build_bundles(inp, BundleParams(**{**BASE.__dict__,
                                                  "fill_min_orders": 4})).bundles) == STRONG


def test_fill_pool_is_not_crowded_out_by_strong_itemsets():
    """The pool keeps its most-bought itemsets among those below the floor: a small pool size
    filled with the strong ones would leave the fill nothing."""
    inp, _ = fill_shop(weak_recur=True)
    small = BundleParams(**{**BASE.__dict__, "fill_min_orders": 2, "pool_size": 2})
    filled = build_bundles(inp, small).bundles
    assert len(filled) > STRONG and (filled["orders_together"].iloc[STRONG:] == 3).all()


def test_fill_comes_after_the_lowered_minimum():
    """An automatic minimum that leaves fewer than 5 bundles is lowered first (here from 10 to
    5: the pairs bought together in 7 orders join); the fill then adds pairs below that."""
    inp, _ = fill_shop(weak_recur=True, mid=4)
    auto = BundleParams(**{**BASE.__dict__, "min_orders": 0})
    plain = build_bundles(inp, auto)
    filled = build_bundles(inp, BundleParams(**{**auto.__dict__, "fill_min_orders": 2}))
    assert plain.params["min_orders_used"] == filled.params["min_orders_used"] == 5
    n = len(plain.bundles)
    assert n == STRONG + 4 and len(filled.bundles) == BASE.top
    assert filled.bundles["items"].head(n).tolist() == plain.bundles["items"].tolist()
    assert (filled.bundles["orders_together"].iloc[n:] == 3).all()


def test_fill_leaves_the_own_bundles_new_items_and_names():
    """A new item joined to an own bundle stays there although a fill pair's text is closer
    (the fill gets what is left), and an own bundle keeps its name when fill pairs share it."""
    import numpy as np
    import scipy.sparse as sp

    from core.baskets import Baskets

    inp, _ = fill_shop(weak_recur=True)
    items = inp.items.copy()
    items.loc[len(items)] = ["new1", "bowl new", None, 5.0, None]  # a new item, no sales
    weak_firsts = [2 * p for p in range(STRONG, STRONG + WEAK)]
    for i in [2] + weak_firsts:  # every weak pair is named like the second strong pair
        items.loc[i, "item_name"], items.loc[i + 1, "item_name"] = "bowl", "plate"
    m = inp.baskets.matrix
    b = Baskets(sp.hstack([m, sp.csr_matrix((m.shape[0], 1), dtype=bool)]).tocsr(),
                inp.baskets.order_ids, np.append(inp.baskets.item_ids, "new1"))
    rng = np.random.default_rng(0)
    vec = rng.normal(size=(len(items), 8))
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    vec[-1] = vec[0] + 0.2 * vec[-1]  # close to the strong pair's first item...
    vec[-1] /= np.linalg.norm(vec[-1])
    vec[weak_firsts] = vec[-1]  # ...and the same as the weak pairs' first items
    rich = BundleInputs(b, items, vectors=vec, base_vectors=vec)
    base = BundleParams(top=10, min_orders=10, strategy="hybrid", max_per_item=1,
                        cold_share=0.1, cold_min_similarity=0.5, allow_variants=True)
    plain = build_bundles(rich, base).bundles
    filled = build_bundles(rich, BundleParams(**{**base.__dict__,
                                                 "fill_min_orders": 2})).bundles
    assert len(plain) == STRONG and len(filled) == base.top
    assert "new1" in plain["items"].iloc[0]  # joined to the first strong bundle
    assert filled["items"].head(STRONG).tolist() == plain["items"].tolist()
    assert filled["name"].head(STRONG).tolist() == plain["name"].tolist()
    assert filled["name"].is_unique


def test_fill_floor_is_zero_or_at_least_two():
    with pytest.raises(BundleLabError, match="fill_min_orders must be 0"):
        BundleParams(fill_min_orders=1)
    assert BundleParams(fill_min_orders=2).fill_min_orders == 2


@pytest.mark.parametrize("weak_recur", [True, False])
def test_the_fit_fills_only_where_later_orders_bear_it_out(weak_recur):
    inp, val = fill_shop(weak_recur)
    f = fit_weights(inp, val, BundleParams(top=10, min_orders=10, max_per_item=1,
                                           cold_share=0.0, text=False))
    if weak_recur:
        assert f.fitted and f.params["fill_min_orders"] in (2, 3)
        # 8 of the 20 weak pairs fit the list of 10: 2/3 of the orders x 8/20 more hits
        assert f.validation_hit_rate["fitted"] == pytest.approx(f.validation_hit_rate["rules"] + 0.8 / 3)
        assert "filled with pairs bought together in at least" in describe(f)
    else:
        assert not f.fitted and f.params["fill_min_orders"] == 0
        assert "filled" not in describe(f)
