"""Workspace-level mining (runs, cache), the ``mine`` command and rule export."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from core.cli.main import main
from core.export import write_table
from core.rules.itemsets import MiningParams
from core.rules.mining import clear_cache, mine
from core.rules.association import RuleParams


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A workspace with a small shop: tea + cups in most orders, jam always with scones, and a
    product whose name looks like a spreadsheet formula."""
    from core.ingest.load import ingest
    from core.workspace import Workspace

    root = tmp_path_factory.mktemp("rules_ws")
    rng = np.random.default_rng(3)
    names = {"T1": "Tea tin", "C1": "Tea cup", "S1": "Scones", "J1": "=HYPERLINK(jam)",
             "X1": "Napkins", "X2": "Candle", "X3": "Tray"}
    rows = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID"]
    for o in range(80):
        items = set(rng.choice(["X1", "X2", "X3"], size=rng.integers(0, 3), replace=False))
        if o % 4 != 3:
            items |= {"T1", "C1"} if o % 5 else {"T1"}
        if o % 6 == 0:
            items |= {"S1", "J1"}
        items = items or {"X1"}
        for it in sorted(items):
            rows.append(f"{1000 + o},{it},{names[it]},1,2011-01-{1 + o % 28:02d} 10:00,2.5,{o % 9}")
    path = root / "shop.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = Workspace(root / "ws")
    ingest(ws, path, dataset="shop")
    return ws


def test_mine_records_run_and_caches(shop):
    clear_cache()
    before = len(shop.runs("shop", "rules"))
    res = mine(shop, "shop", mining=MiningParams(min_support=5, max_len=3),
               rules=RuleParams(min_confidence=0.5, min_lift=1.0))
    assert not res.cached and res.run_id
    runs = shop.runs("shop", "rules")
    assert len(runs) == before + 1
    assert json.loads(runs.iloc[0]["metrics"])["rules"] == len(res.rules)
    s = res.summary()
    assert s["itemsets"][1] >= 5 and s["rules"] == len(res.rules) > 0
    top = res.rules.iloc[0]
    assert top["antecedents_names"] == tuple(res.names[i] for i in top["antecedents"])
    again = mine(shop, "shop", mining=MiningParams(min_support=5, max_len=3),
                 rules=RuleParams(min_confidence=0.9))
    assert again.cached and again.run_id is None and len(shop.runs("shop", "rules")) == before + 1
    assert len(again.rules) < len(res.rules)
    assert len(res.refilter(RuleParams(min_confidence=0.9))) == len(again.rules)


def test_cli_mine_json_and_exports(shop, tmp_path, capsys):
    out = tmp_path / "rules.json"
    code = main(["mine", "--workspace", str(shop.root), "--min-support", "5", "--max-len", "3",
                 "--min-confidence", "0.5", "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == {"itemsets", "rules", "seconds", "out"}
    assert summary["out"] == str(out) and summary["rules"] > 0
    assert summary["itemsets"]["1"] >= 5
    records = json.loads(out.read_text())
    assert len(records) == summary["rules"]
    sure = [r for r in records if r["antecedents"] == ["S1"] and r["consequents"] == ["J1"]]
    assert sure and sure[0]["confidence"] == 1.0 and sure[0]["conviction"] is None  # inf -> null
    assert sure[0]["consequents_names"] == ["=HYPERLINK(jam)"]  # JSON keeps text as it is
    assert isinstance(records[0]["antecedents"], list)


def test_csv_and_xlsx_join_lists_and_neutralise_formulas(shop, tmp_path):
    res = mine(shop, "shop", mining=MiningParams(min_support=5, max_len=3),
               rules=RuleParams(min_confidence=0.5))
    rules = res.rules
    write_table(rules, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(rules)
    multi = next(r for r, t in zip(rows, rules["antecedents"]) if len(t) > 1)
    assert " | " in multi["antecedents"]
    jam = [r for r in rows if r["consequents"] == "J1"]
    assert jam and jam[0]["consequents_names"] == "'=HYPERLINK(jam)" and jam[0]["conviction"] == "inf"
    from openpyxl import load_workbook

    write_table(rules, tmp_path / "r.xlsx", sheet_name="rules")
    sheet = load_workbook(tmp_path / "r.xlsx").active
    header = [c.value for c in sheet[1]]
    assert header[:14] == list(rules.columns[:14])
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    conv = header.index("conviction")
    names = header.index("consequents_names")
    jam_rows = [v for v in values if v[names] == "'=HYPERLINK(jam)"]
    assert jam_rows and jam_rows[0][conv] is None  # inf -> empty cell
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_user_errors_exit_2(shop, tmp_path, capsys):
    ws = ["--workspace", str(shop.root)]
    assert main(["mine", *ws, "--out", str(tmp_path / "rules.txt")]) == 2
    assert "must end in .csv, .xlsx, .json" in capsys.readouterr().err
    assert main(["mine", *ws, "--min-support", "1", "--max-len", "0", "--max-itemsets", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Raise min_support" in err and "Traceback" not in err
    assert main(["mine", *ws, "--dataset", "nope"]) == 2
    assert "no dataset named 'nope'" in capsys.readouterr().err
    assert main(["mine", *ws, "--min-support", "2.5"]) == 2
    assert "whole number" in capsys.readouterr().err


def test_cli_item_filter_human_output(shop, capsys):
    code = main(["mine", "--workspace", str(shop.root), "--min-support", "5", "--item", "J1",
                 "--item-side", "consequent", "--min-confidence", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "-> =HYPERLINK(jam)" in out and "rules in" in out
