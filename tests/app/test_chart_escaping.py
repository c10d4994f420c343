"""Item names reach Plotly charts as text, never as HTML (Plotly renders <a href>, <b>, <br>)."""

from __future__ import annotations

import pandas as pd

from ui.bundles_view import network_chart
from ui.common import chart_text
from ui.rules_view import display_table, rule_graph, scatter

EVIL = '<a href="http://host/x">click</a>'


def _rules() -> pd.DataFrame:
    return pd.DataFrame({
        "antecedents": [("A",), ("B",)], "consequents": [("B",), ("A",)],
        "antecedents_names": [(EVIL,), ("Bread",)], "consequents_names": [("Bread",), (EVIL,)],
        "support": [0.1, 0.1], "confidence": [0.5, 0.4], "lift": [2.0, 2.0],
        **{m: [0.1, 0.1] for m in ("leverage", "conviction", "zhangs_metric", "jaccard",
                                   "certainty", "kulczynski")},
        "orders_together": [10, 10]})


def _strings(fig) -> str:
    return fig.to_json()


def test_chart_text():
    assert chart_text(EVIL) == '&lt;a href="http://host/x"&gt;click&lt;/a&gt;'
    assert chart_text(pd.Series([EVIL])).tolist() == [chart_text(EVIL)]


def test_rule_charts_escape_names_and_tables_do_not():
    rules = _rules()
    for fig in (scatter(rules), rule_graph(rules)):
        text = _strings(fig)
        assert "<a href" not in text and "&lt;a href" in text
    assert EVIL in display_table(rules).iloc[0, 0]  # tables are plain text: shown as written


def test_network_chart_escapes_names():
    nodes = pd.DataFrame({"item_id": ["A", "<b>B</b>"], "item_name": [EVIL, "Bread"],
                          "x": [0.0, 1.0], "y": [0.0, 1.0], "orders": [3, 4], "bundles": [1, 1]})
    edges = pd.DataFrame({"source": ["A"], "target": ["<b>B</b>"]})
    text = _strings(network_chart(nodes, edges))
    assert "<a href" not in text and "<b>B" not in text
