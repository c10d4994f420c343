"""Bundle explanations say only what is true: text similarity is mentioned only where text was
used for that bundle (it found the bundle, or a text weight counted it with vectors present)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.baskets import build_baskets
from core.bundles.build import build_bundles
from core.bundles.candidates import BundleInputs
from core.bundles.params import BundleParams

# A and B are bought together (60 orders); their descriptions are alike (cosine 0.65) but each
# has five closer text neighbours (X1..X5 near A, Y1..Y5 near B, sold once each), so the
# default five text neighbours do not pair them.
ITEMS = ["A", "B"] + [f"X{k}" for k in range(1, 6)] + [f"Y{k}" for k in range(1, 6)] + ["Z"]
NAMES = ["GARDEN HOSE", "WATERING CAN"] + [f"HOSE PART {k}" for k in range(1, 6)] \
    + [f"CAN PART {k}" for k in range(1, 6)] + ["DOORMAT"]


def _vectors() -> np.ndarray:
    rng = np.random.default_rng(3)
    a = np.zeros(12)
    a[0] = 1.0
    b = np.zeros(12)
    b[0], b[1] = 0.65, np.sqrt(1 - 0.65 ** 2)
    vec = np.zeros((len(ITEMS), 12))
    vec[0], vec[1] = a, b
    for k, item in enumerate(ITEMS[2:12], start=2):
        near = a if item.startswith("X") else b
        v = near * 0.95 + 0.05 * np.abs(rng.normal(size=12)) * (np.arange(12) >= 2)
        vec[k] = v / np.linalg.norm(v)
    vec[12, 11] = 1.0
    return vec


def _inputs() -> BundleInputs:
    rows, oid = [], 0
    for _ in range(60):
        oid += 1
        rows += [(oid, "A"), (oid, "B")]
    for item in ITEMS[2:]:
        oid += 1
        rows.append((oid, item))
    for _ in range(30):
        oid += 1
        rows.append((oid, "Z"))
    lines = pd.DataFrame(rows, columns=["order_id", "item_id"]).astype({"order_id": str})
    b = build_baskets(lines, item_ids=ITEMS)
    items = pd.DataFrame({"item_id": ITEMS, "item_name": NAMES, "category": None,
                          "price": 2.0})
    return BundleInputs(b, items, vectors=_vectors())


def _ab(params: BundleParams) -> pd.Series:
    res = build_bundles(_inputs(), params)
    rows = res.bundles[res.bundles["items"].map(set) == {"A", "B"}]
    assert len(rows) == 1, res.bundles
    return rows.iloc[0]


BASE = dict(top=5, min_orders=10, cold_share=0.0)


@pytest.mark.parametrize("params", [
    BundleParams(**BASE, w_text=0.0),                    # hybrid, text weight 0 (the default)
    BundleParams(**BASE, strategy="rules"),             # rules only
    BundleParams(**BASE, w_text=0.5, text=False),       # descriptions switched off
], ids=["hybrid-text-weight-0", "rules-strategy", "text-off"])
def test_rules_only_bundle_does_not_claim_similarity(params):
    row = _ab(params)
    assert row["provenance"] == "rules"
    assert "Bought together in 60 orders" in row["explanation"]
    assert "similar" not in row["explanation"].lower(), row["explanation"]
    assert "0.65" not in row["explanation"]


def test_similarity_is_mentioned_when_the_text_weight_counts():
    row = _ab(BundleParams(**BASE, w_text=0.5))
    assert row["provenance"] == "rules"  # found by rules, but scored with the text weight
    assert "similar use by description" in row["explanation"]
    assert "similarity 0.65" in row["explanation"]


def test_similarity_is_mentioned_when_text_found_the_bundle():
    # with more text neighbours B is among A's: the pair is found by text as well
    row = _ab(BundleParams(**BASE, w_text=0.0, text_neighbours=6))
    assert "text" in row["provenance"].split("+")
    assert "similarity 0.65" in row["explanation"]
