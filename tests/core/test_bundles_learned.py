"""Issue 14, item 2: the score learned from the shop's own later orders
(``core.bundles.learned``). A synthetic shop where the pairs bought most over the whole history
are fading and others are rising: the rule strength (orders over all training orders) picks the
fading ones, the learned score (which sees that recent co-purchases predict later ones) picks the
rising ones, and those are what the held-out orders hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.baskets import order_sets, temporal_split
from core.bundles.build import build_bundles
from core.bundles.candidates import BundleInputs
from core.bundles.fit import order_hits, validation_matrix
from core.bundles.learned import learned_score
from core.bundles.params import BundleParams
from core.bundles.service import dataset_inputs
from core.ingest.load import ingest


def write(path):
    rng = np.random.default_rng(0)
    rows, order = [], 0
    fading = [(f"f{k}a", f"f{k}b") for k in range(40)]
    rising = [(f"r{k}a", f"r{k}b") for k in range(40)]
    for day in range(300):
        share = day / 300  # 0 -> 1 over the history
        for _ in range(30):
            order += 1
            u = rng.random()
            if u < 0.45 * max(0.0, 1 - 1.6 * share) + 0.01:  # gone after ~60% of the days
                basket = list(fading[rng.integers(40)])
            elif u < 0.5:
                basket = list(rising[rng.integers(40)]) if rng.random() < 0.25 + 0.75 * share \
                    else [f"x{rng.integers(40)}"]
            else:
                basket = [f"x{rng.integers(40)}", f"y{rng.integers(40)}"]
            for item in basket:
                rows.append({"order_id": f"o{order}", "item_id": item, "quantity": 1,
                             "timestamp": pd.Timestamp("2023-01-01") + pd.Timedelta(days=day)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def shop(ws, tmp_path):
    ingest(ws, write(tmp_path / "orders.csv"), dataset="shop")
    return ws


def test_learned_score_picks_what_the_later_orders_buy(shop):
    outer = temporal_split(shop.lines("shop"))
    inp, _ = dataset_inputs(shop, "shop", text=False, holdout=outer, recommender=False)
    test = validation_matrix(list(order_sets(outer.test)), inp.baskets.item_ids)
    idx = inp.baskets.item_index()
    rates, lists = {}, {}
    for learned in (False, True):
        r = build_bundles(inp, BundleParams(top=10, text=False, learned=learned, min_orders=5))
        lists[learned] = [tuple(sorted(i)) for i in r.bundles["items"]]
        rates[learned] = order_hits(test, [tuple(idx[str(i)] for i in its)
                                           for its in r.bundles["items"]]).mean()
        if learned:
            assert [n for n in r.notes if n.startswith("learned score: learned from")], r.notes
    assert sum(b[0].startswith("f") for b in lists[False]) >= 5  # most bought: fading
    assert sum(b[0].startswith("r") for b in lists[True]) >= 7  # learned: rising ones
    assert rates[True] > rates[False] + 0.02, rates


def test_learned_score_falls_back_without_dates_or_evidence(shop, monkeypatch):
    outer = temporal_split(shop.lines("shop"))
    inp, _ = dataset_inputs(shop, "shop", text=False, holdout=outer, recommender=False)
    from core.bundles.build import filter_candidates
    from core.bundles.candidates import build_candidates

    def pool(sub: BundleInputs):
        c = build_candidates(sub, min_orders=5, max_size=4, text_neighbours=0,
                             cold_max_orders=0, pool_size=4000, variant_similarity=0.9,
                             use_text=False, use_rules=True, use_rec=False)
        return c.subset(filter_candidates(c, sub, BundleParams(text=False), 5))

    c = pool(inp)
    score, note = learned_score(inp, c, pool)
    assert score is not None and len(score) == len(c) and "later orders" in note
    again, _ = learned_score(inp, c, pool)
    assert np.array_equal(score, again)  # seeded: the same list every time
    from dataclasses import replace

    undated, why = learned_score(replace(inp, order_time=None), c, pool)
    assert undated is None and "dates" in why
    import core.bundles.learned as learned_mod

    monkeypatch.setattr(learned_mod, "MIN_VALIDATION_ORDERS", 10 ** 6)  # too few later orders
    none, why = learned_score(inp, c, pool)
    assert none is None and "validation orders" in why


def test_the_fit_switches_the_learned_score_on_when_validation_says_so(shop):
    from core.bundles.fit import describe, fit_weights

    outer = temporal_split(shop.lines("shop"))
    inner = temporal_split(outer.train)
    inp, _ = dataset_inputs(shop, "shop", text=False, holdout=inner, recommender=False)
    fit = fit_weights(inp, list(order_sets(inner.test)),
                      BundleParams(top=10, text=False, min_orders=5))
    assert fit.fitted and fit.params["learned"] is True, fit.reason
    assert fit.validation_hit_rate["fitted"] > fit.validation_hit_rate["rules"]
    assert "scored by a model of this shop's later orders" in describe(fit)
