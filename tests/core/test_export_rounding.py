"""Exports carry numbers a person can read: shares and confidences 4 decimals, lift 3, prices 2,
p-values 4 significant digits; ids stay text (never 24852.0, never a number cell)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from core.export import rounded, table_bytes, write_table


def _bundles() -> pd.DataFrame:
    return pd.DataFrame({
        "bundle_id": ["B001", "B002"],
        "items": [["24852", "13176"], ["21137", "47209"]],
        "item_names": [["Banana", "Bag of Organic Bananas"], ["Strawberries", "Avocado"]],
        "orders_together": [212, 96],
        "confidence": [0.13006134969325153, 0.5],
        "lift": [3.141592653589793, np.inf],
        "similarity": [0.6512345678, np.nan],
        "list_price": [12.345678, None],
        "bundle_price": [11.1111111, None],
        "coverage_gain": [0.0123456789, 0.000049],
        "target_customers": [[101, 202], []],
    })


def test_rounded_columns():
    out = rounded(_bundles())
    assert out["confidence"].tolist() == [0.1301, 0.5]
    assert out["lift"].iloc[0] == 3.142 and np.isinf(out["lift"].iloc[1])
    assert out["similarity"].iloc[0] == 0.6512 and np.isnan(out["similarity"].iloc[1])
    assert out["list_price"].iloc[0] == 12.35 and out["bundle_price"].iloc[0] == 11.11
    assert out["coverage_gain"].tolist() == [0.0123, 0.0]
    assert out["orders_together"].tolist() == [212, 96]
    assert out["target_customers"].tolist() == [["101", "202"], []]


def test_csv_json_xlsx_are_rounded_and_ids_are_text(tmp_path):
    df = _bundles()
    rows = list(csv.DictReader(io.StringIO(table_bytes(df, "csv").decode("utf-8"))))
    assert rows[0]["confidence"] == "0.1301" and rows[0]["lift"] == "3.142"
    assert rows[0]["list_price"] == "12.35" and rows[0]["items"] == "24852 | 13176"
    assert "0.13006134969325153" not in table_bytes(df, "csv").decode("utf-8")

    records = json.loads(table_bytes(df, "json"))
    assert records[0]["confidence"] == 0.1301 and records[0]["similarity"] == 0.6512
    assert records[0]["items"] == ["24852", "13176"]
    assert records[0]["target_customers"] == ["101", "202"]
    assert records[1]["lift"] is None

    from openpyxl import load_workbook

    write_table(df, tmp_path / "b.xlsx", sheet_name="bundles")
    sheet = load_workbook(tmp_path / "b.xlsx").active
    header = [c.value for c in sheet[1]]
    first = {h: c.value for h, c in zip(header, sheet[2])}
    assert first["confidence"] == 0.1301 and first["list_price"] == 12.35
    assert first["bundle_id"] == "B001" and isinstance(first["items"], str)


def test_numeric_ids_become_text_and_p_values_keep_their_digits():
    df = pd.DataFrame({"item_id": [24852.0, 13176.0], "customer_id": [7, None],
                       "p_adjusted": [1.23456789e-9, 0.0123456], "conviction": [1.23456, 2.0],
                       "support": [0.123456, 0.5]})
    records = json.loads(table_bytes(df, "json"))
    assert [r["item_id"] for r in records] == ["24852", "13176"]
    assert records[0]["customer_id"] == "7" and records[1]["customer_id"] is None
    assert records[0]["p_adjusted"] == pytest.approx(1.235e-9, rel=1e-12)
    assert records[1]["p_adjusted"] == 0.01235
    assert records[0]["conviction"] == 1.235 and records[0]["support"] == 0.1235


def test_rounding_leaves_the_input_alone():
    df = _bundles()
    before = df["confidence"].tolist()
    table_bytes(df, "csv")
    assert df["confidence"].tolist() == before
