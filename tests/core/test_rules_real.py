"""Checks against published numbers and full-size real data (skip without ../shared)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.rules.itemsets import frequent_itemsets
from core.rules.association import RuleParams, association_rules
from tests.conftest import ROOT, shared_file
from tests.core.rules_data import groceries_baskets


def test_groceries_reproduces_arules():
    """R arules, apriori(Groceries, parameter = list(supp = 0.001, conf = 0.5)) with its default
    maxlen = 10 and single-item right-hand sides: 5,668 rules; top three by lift as published."""
    b, _ = groceries_baskets(shared_file("groceries", "groceries_long.csv.gz"))
    mined = frequent_itemsets(b, min_support=0.001, max_len=10)
    rules = association_rules(mined, RuleParams(min_confidence=0.5, min_lift=0.0,
                                                max_consequent_len=1))
    assert len(rules) == 5668
    top = [(set(r.antecedents), set(r.consequents), round(r.lift, 3))
           for r in rules.head(3).itertuples()]
    assert top == [({"Instant food products", "soda"}, {"hamburger meat"}, 18.996),
                   ({"soda", "popcorn"}, {"salty snack"}, 16.698),
                   ({"flour", "baking powder"}, {"sugar"}, 16.408)]


GUARD_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from core.baskets import build_baskets
from core.errors import TooManyItemsets
from core.rules.itemsets import frequent_itemsets
from tests.core.rules_data import clean_online_retail
b = build_baskets(clean_online_retail({path!r}))
t = time.perf_counter()
try:
    frequent_itemsets(b, min_support=0.002, max_len=0)
    msg = None
except TooManyItemsets as exc:
    msg = str(exc)
with open("/proc/self/status") as fh:  # this process's own peak RSS (not the parent's)
    peak = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
print(json.dumps({{"message": msg, "seconds": time.perf_counter() - t, "peak_mb": peak}}))
"""


@pytest.mark.slow
def test_online_retail_without_length_cap_stops_early(online_retail):
    script = GUARD_SCRIPT.format(root=str(ROOT), path=str(online_retail))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["message"] is not None
    assert "millions" in res["message"] and "max_len" in res["message"]
    assert res["peak_mb"] < 1024, res
