"""Every real export under ``../shared/datasets`` goes through the CLI with no ``--map``:
``python -m core ingest FILE`` then the quick bundle list (``bundles --no-text``), each in a
subprocess on a fresh workspace. Each file must ingest (exit 0, the row counts add up), give at
least 5 bundles, and the bundles must carry item names, not ids. The whole file takes well under a
minute on 2 cores (the full UCI Online Retail, 541,909 lines, is the biggest: ~10 s).
``bench/corpus_first_bundles.py`` times the same steps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest

from tests.conftest import ROOT, shared_file

pytestmark = pytest.mark.slow

# (file under ../shared/datasets, does it have an item-name column besides the item id?)
CORPUS = [
    (("online_retail", "online_retail.csv.gz"), True),
    (("groceries", "groceries_baskets.csv.gz"), False),  # one basket per line: the name is the id
    (("groceries", "groceries_long.csv.gz"), True),
    (("groceries_member_date", "Groceries_dataset.csv.gz"), False),  # itemDescription only
    (("pharmacy_cn", "sales.csv.gz"), True),
    (("restaurant_cn", "meal_order_detail.csv.gz"), True),
    (("superstore_us", "orders.csv.gz"), True),
]
MIN_BUNDLES = 5
TIMEOUT = 300


def cli(*args) -> tuple[dict, str]:
    """Run ``python -m core ARGS``; assert exit 0; return the JSON summary and stderr."""
    proc = subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT,
                          check=False, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, (f"python -m core {' '.join(map(str, args))} exited "
                                  f"{proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last), proc.stderr


def split(cell: str) -> list[str]:
    return [x.strip() for x in cell.split(" | ")]


@pytest.mark.parametrize("parts,has_names", CORPUS, ids=[p[-1] for p, _ in CORPUS])
def test_corpus_file_ingests_and_gives_named_bundles(parts, has_names, tmp_path):
    data = shared_file(*parts)
    ws = tmp_path / "ws"
    summary, _ = cli("ingest", data, "--workspace", ws, "--json")
    assert summary["rows_read"] == summary["rows_kept"] + sum(summary["dropped"].values())
    assert summary["rows_kept"] > 0 and summary["orders"] > 0 and summary["items"] > 0
    if has_names:
        assert "item_name" in summary["mapping"], summary["mapping"]

    out = ws / "b.csv"
    result, _ = cli("bundles", "--workspace", ws, "--json", "--no-text", "--top", 20, "--out", out)
    assert result["bundles"] >= MIN_BUNDLES, (
        f"{parts[-1]}: {result['bundles']} bundles ({result['candidates']} candidates); "
        f"notes: {result['notes']}")
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(table) == result["bundles"]

    for _, row in table.iterrows():
        ids, names = split(row["items"]), split(row["item_names"])
        assert len(ids) == len(names) == int(row["size"]) >= 2, row.to_dict()
        assert row["name"].strip(), row.to_dict()
        # a name is words, never a bare code (digits and punctuation only)
        assert all(re.search(r"[^\W\d_]", n) for n in names), row.to_dict()
        if has_names:
            assert ids != names, f"bundle shows ids, not names: {row.to_dict()}"
            assert not any(i == n for i, n in zip(ids, names)), row.to_dict()

    # a list where (nearly) every bundle holds the same item is not a list of bundles
    counts = Counter(i for cell in table["items"] for i in set(split(cell)))
    item, n = counts.most_common(1)[0]
    assert n <= len(table) / 2, f"{item!r} is in {n} of {len(table)} bundles"
