"""Evaluate & Export: how the methods do on a later period they never saw, and the files to take
away."""

import json

import pandas as pd
import plotly.express as px
import streamlit as st

from core.baskets import default_cut
from core.bundles.lists import bundle_lists, load_list
from core.evaluate.run import BLOCKS, evaluate
from core.export import table_bytes
from ui.bundles_view import KEY_RESULT
from ui.common import make_progress, md, require_dataset, user_errors, workspace

st.set_page_config(page_title="Evaluate & Export · BundleLab", page_icon="🧺", layout="wide")
st.title("Evaluate & Export")
st.write("Would these bundles have worked? Everything is trained on orders before a cut date and "
         "scored on the orders after it, against simpler methods, with the same number of "
         "bundles for each. Then download the list as CSV, Excel or JSON.")

ws = workspace()
name = require_dataset(ws)


def block_table(block: dict) -> pd.DataFrame:
    rows = [{"method": m, **{k: v for k, v in vals.items() if isinstance(v, (int, float))}}
            for m, vals in block.items() if isinstance(vals, dict)]
    return pd.DataFrame(rows)


with user_errors():
    st.subheader("Held-out evaluation")
    lines_ts = ws.lines(name, columns=["order_id", "timestamp"])
    suggested = default_cut(lines_ts)
    c1, c2, c3 = st.columns(3)
    cut = c1.date_input("Test period starts on", value=suggested.date() if suggested is not None
                        else None, key="eval_cut", disabled=suggested is None,
                        help="Default: the day that leaves the last ~20% of orders for testing")
    top = c2.number_input("Bundles per list (N)", 5, 200, 50, 5, key="eval_top")
    blocks = c3.multiselect("What to evaluate", [b for b, _ in BLOCKS],
                            default=["bundles"], key="eval_blocks")
    if st.button("Run evaluation", type="primary", key="eval_run"):
        progress, bar = make_progress("Evaluating")
        evaluate(ws, name, cut=str(cut) if suggested is not None else None, top=int(top),
                 blocks=blocks, progress=progress)
        bar.empty()
    runs = ws.runs(name, kind="evaluate")
    if runs.empty:
        st.info("No evaluation yet for this dataset. Run one above (fine-tuning and training "
                "make it take a few minutes on a large shop).")
    else:
        last = json.loads(runs["metrics"].iloc[0])
        period = last.get("cut") or "the last 20% of orders"
        when = runs["created_at"].iloc[0]
        st.caption(f"Latest evaluation: test period from {md(period)}, "
                   f"{last.get('seconds', 0):.0f} s, run {when:%Y-%m-%d %H:%M}.")
        for block in ("bundles", "recommender", "embeddings"):
            if block not in last:
                continue
            table = block_table(last[block])
            st.markdown(f"**{block.capitalize()}**")
            st.dataframe(table, hide_index=True)
            metric = {"bundles": "hit_rate", "recommender": "ndcg@10",
                      "embeddings": "recall@10"}[block]
            if metric in table:
                fig = px.bar(table, x="method", y=metric, title=f"{block}: {metric} by method",
                             hover_data=[c for c in table.columns if c != "method"])
                fig.update_layout(xaxis_title="Method", yaxis_title=metric)
                st.plotly_chart(fig, width="stretch")

    st.subheader("Export")
    result = st.session_state.get(KEY_RESULT)
    saved = bundle_lists(ws, name)
    options = []
    if result is not None and st.session_state.get("bundle_result_dataset") == name:
        options.append("the list on the Bundles page")
    options += [f"saved {r.list_id} · {r.label} · {r.created_at:%Y-%m-%d %H:%M}"
                for r in saved.itertuples()]
    if not options:
        st.info("No bundle list yet: build one on the Bundles page.")
        st.stop()
    choice = st.selectbox("List", options, key="export_choice")
    if choice.startswith("saved"):
        bundles, _ = load_list(ws, choice.split()[1])
    else:
        bundles = result.bundles
    st.caption(f"{len(bundles)} bundles. Cells that a spreadsheet could run as a formula are "
               "written as text.")
    c1, c2, c3 = st.columns(3)
    for col, fmt, mime in ((c1, "csv", "text/csv"),
                           (c2, "xlsx", "application/vnd.openxmlformats-officedocument."
                                        "spreadsheetml.sheet"),
                           (c3, "json", "application/json")):
        col.download_button(f"Download {fmt.upper()}", table_bytes(bundles, fmt, sheet_name="bundles"),
                            file_name=f"{name}-bundles.{fmt}", mime=mime, key=f"export_{fmt}")
    if not saved.empty:
        st.markdown("**Saved lists**")
        st.dataframe(saved, hide_index=True)
