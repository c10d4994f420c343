"""Evaluate & Export: how the methods do on a later period they never saw, and the files to take
away."""

import json

import pandas as pd
import plotly.express as px
import streamlit as st

from core.baskets import default_cut
from core.bundles.fit import FittedWeights, describe
from core.bundles.lists import bundle_lists, load_list
from core.bundles.platform import platform_bytes
from core.errors import BundleLabError
from core.evaluate.run import BLOCKS, evaluate
from core.export import table_bytes
from ui.bundles_view import KEY_RESULT
from ui.common import make_progress, md, require_dataset, user_errors, workspace
from ui.glossary import GLOSSARY, column_config, glossary_expander, label

st.set_page_config(page_title="Evaluate & Export · BundleLab", page_icon="🧺", layout="wide")
st.title("Evaluate & Export")
st.write("Would these bundles have worked? Everything is trained on orders before a cut date and "
         "scored on the orders after it, against simpler methods. Each method fills a list of up "
         "to N bundles and stops early when it runs out of evidence (it never pads the list with "
         "bundles nobody bought), so the lists can differ in length: the table shows how many "
         "each method found. Then download the list as CSV, Excel or JSON, or in the "
         "formats shop platforms import.")

ws = workspace()
name = require_dataset(ws)


BLOCK_TITLES = {"bundles": "Bundles", "recommender": "Recommender (next order)",
                "embeddings": "Item similarity (text model)"}
MAIN_METRIC = {"bundles": "hit_rate", "recommender": "ndcg@10", "embeddings": "recall@10"}
# the bundle columns shown first; the others stay behind the toggle
BUNDLE_MAIN = ["method", "bundles", "hit_rate", "attach_rate", "attach_uplift", "coverage_orders",
               "cold_hit_rate", "tail_hit_rate"]
FORMATS = {k: "%.3f" for k in GLOSSARY} | {"bundles": "%d", "cold_orders": "%d",
                                           "tail_orders": "%d", "tail_items_bundled": "%d",
                                           "customers": "%d", "queries": "%d",
                                           "repeat_hits": "%d", "explore_hits": "%d"}


def _is_method(vals: dict) -> bool:
    """A method's row holds a main metric; other entries (the fitted weights, the chosen
    recommender) are said in words."""
    return any(isinstance(vals.get(m), (int, float)) for m in MAIN_METRIC.values())


def block_table(block: dict, priced: bool = True) -> pd.DataFrame:
    """One row per method with its numbers (the bundle count next to the method); revenue
    reached is left out when the orders have no prices (it would read 0)."""
    rows = [{"method": m, **{k: v for k, v in vals.items() if isinstance(v, (int, float))}}
            for m, vals in block.items() if isinstance(vals, dict) and _is_method(vals)]
    table = pd.DataFrame(rows)
    if not priced:
        table = table.drop(columns=["coverage_revenue"], errors="ignore")
    first = [c for c in ("method", "bundles") if c in table]
    return table[first + [c for c in table.columns if c not in first]]


def bundle_counts(table: pd.DataFrame, top: int | None) -> str:
    """What the bundle counts mean, per method."""
    counts = ", ".join(f"{m} {int(n)}" for m, n in zip(table["method"], table["bundles"]))
    short = [m for m, n in zip(table["method"], table["bundles"]) if top and n < top]
    text = f"Bundles found per method (up to N = {top}): {counts}." if top else \
        f"Bundles found per method: {counts}."
    if short:
        text += (f" {', '.join(short)} stopped early: no further bundle passed the thresholds "
                 "or covered an order the list did not cover yet.")
    if "rules_filled" in set(table["method"]):
        text += (" rules_filled is rules only with its short list filled as the fitted hybrid "
                 "fills it (weaker bundles after the others): what the filling alone gives, "
                 "without text or the recommender.")
    return text


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
        run_top = (json.loads(runs["params"].iloc[0] or "{}") or {}).get("top")
        items = ws.items(name)
        priced = bool(items["price"].notna().any()) if "price" in items else False
        period = last.get("cut") or "the last 20% of orders"
        when = runs["created_at"].iloc[0]
        st.caption(f"Latest evaluation: test period from {md(period)}, "
                   f"{last.get('seconds', 0):.0f} s, run {when:%Y-%m-%d %H:%M}.")
        for block in ("bundles", "recommender", "embeddings"):
            if block not in last:
                continue
            table = block_table(last[block], priced)
            st.markdown(f"**{BLOCK_TITLES[block]}**")
            order = list(table.columns)
            if block == "bundles":
                show_all = st.toggle("Show every measure", key="eval_all_columns")
                order = order if show_all else [c for c in BUNDLE_MAIN if c in table]
            st.dataframe(table, hide_index=True, column_order=order,
                         column_config=column_config(table.columns, FORMATS))
            if block == "embeddings" and isinstance(last[block].get("encoder"), dict):
                st.caption("Text model: " + md(last[block]["encoder"].get("why", "")))
            if block == "bundles" and "bundles" in table:
                st.caption(bundle_counts(table, run_top))
                if last[block].get("fitted_weights"):
                    st.caption("Hybrid weights: " + md(describe(FittedWeights(**last[block]["fitted_weights"]))))
                if not priced:
                    st.caption("Revenue reached is left out: the orders have no prices (map a "
                               "price or line-total column on the Upload page).")
            metric = MAIN_METRIC[block]
            if metric in table:
                fig = px.bar(table, x="method", y=metric,
                             title=f"{BLOCK_TITLES[block]}: {label(metric)} by method",
                             hover_data=[c for c in table.columns if c != "method"])
                fig.update_layout(xaxis_title="Method", yaxis_title=label(metric))
                fig.update_xaxes(type="category")
                st.plotly_chart(fig, width="stretch")
            glossary_expander([c for c in table.columns if c in GLOSSARY])

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
    plural = "" if len(bundles) == 1 else "s"
    st.caption(f"{len(bundles)} bundle{plural}. Cells that a spreadsheet could run as a formula "
               "are written as text; numbers are rounded (prices 2 decimals, lift 3, shares 4).")
    c1, c2, c3 = st.columns(3)
    for col, fmt, mime in ((c1, "csv", "text/csv"),
                           (c2, "xlsx", "application/vnd.openxmlformats-officedocument."
                                        "spreadsheetml.sheet"),
                           (c3, "json", "application/json")):
        col.download_button(f"Download {fmt.upper()}", table_bytes(bundles, fmt, sheet_name="bundles"),
                            file_name=f"{name}-bundles.{fmt}", mime=mime, key=f"export_{fmt}")
    st.caption("For the shop platform: a parent/child CSV (one row per bundle component, bundle "
               "SKUs like BUNDLE-B001, for bundle apps and ERPs) and Shopify productBundleCreate "
               "inputs (productId holds the shop's item id: map it to the Shopify product id).")
    c4, c5 = st.columns(2)
    for col, fmt, title, file, mime in (
            (c4, "parent-child", "parent/child CSV", "parent-child.csv", "text/csv"),
            (c5, "shopify", "Shopify JSON", "shopify.json", "application/json")):
        try:
            data = platform_bytes(bundles, fmt)
        except BundleLabError as exc:  # e.g. over Shopify's 30 components: say why, keep the rest
            col.warning(md(exc))
            continue
        col.download_button(f"Download {title}", data, file_name=f"{name}-bundles-{file}",
                            mime=mime, key=f"export_{fmt}")
    if not saved.empty:
        st.markdown("**Saved lists**")
        st.dataframe(saved, hide_index=True)
