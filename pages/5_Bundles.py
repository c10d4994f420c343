"""Bundles: the list of product bundles worth promoting, with the evidence for each."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from core import foreground
from core.bundles.lists import save_list
from core.jobs import DONE, QUEUED, RUNNING
from core.bundles.params import BundleParams
from core.export import table_bytes
from ui.bundles_view import (KEY_QUICK, KEY_RESULT, MEASURES, NO_CUSTOMERS, NO_PRICES,
                             bundle_list, display_table, list_changes, page_note,
                             table_view)
from ui.common import data_version, md, require_dataset, user_errors, workspace
from ui.jobs_view import first_list_shown, models_panel
from ui.glossary import glossary_expander
from ui.nav import page_link
from ui.segments_view import segments_section
from ui.testplan_view import test_plan_section
from ui.stability_view import stability_option
from ui.weights_view import weights_panel

st.set_page_config(page_title="Bundles · BundleLab", page_icon="🧺", layout="wide")
st.title("Bundles")
st.write("Product bundles worth promoting: items your customers buy together (and new items "
         "whose description fits), chosen so the list touches as many orders as possible. Set "
         "the thresholds in business terms; every bundle says why it is there, what it would "
         "cost and, when the data has customers, which customers to show it to.")

ws = workspace()
name = require_dataset(ws)

d = BundleParams()
with user_errors():
    version = data_version(ws, name)
    info = ws.info(name)
    items = ws.items(name)
    has_customers = int(info.get("customers") or 0) > 0
    priced = bool(items["price"].notna().any()) if "price" in items else False
    text = st.toggle("Use product descriptions (a text model fine-tuned on your orders)",
                     value=True, key="bundles_text",
                     help="Finds complements and bundles new products by their text. The text "
                          "model trains in the background (minutes on a large shop) while the "
                          "quick list is shown; it is then reused.")
    # The quick list needs no model; the models train in the background and refine it.
    # (a finished job is found again: it reused the stored models, or trained them)
    job_state = models_panel(ws, name, version, text=text)
    ready = job_state == DONE
    training = job_state in (QUEUED, RUNNING)

    st.subheader("Settings")
    c1, c2, c3, c4 = st.columns(4)
    top = c1.slider("Number of bundles", 5, 100, d.top, 5, key="bundles_top")
    min_orders = c2.number_input("Bought together in at least N orders (0 = automatic)",
                                 min_value=0, value=0, step=5, key="bundles_min_orders")
    min_conf = c3.slider("Of orders with the anchor item, at least this share hold the rest",
                         0.0, 1.0, 0.0, 0.05, key="bundles_min_conf")
    discount = c4.slider("Bundle discount", 0.0, 0.5, d.discount, 0.05, key="bundles_discount",
                         format="%.2f")
    c1, c2, c3, c4 = st.columns(4)
    w_rules = c1.slider("Weight: bought together", 0.0, 1.0, d.w_rules, 0.05, key="bundles_w_rules")
    w_text = c2.slider("Weight: similar description", 0.0, 1.0, d.w_text, 0.05,
                       key="bundles_w_text", disabled=not text)
    w_rec = c3.slider("Weight: recommender affinity", 0.0, 1.0, d.w_rec, 0.05, key="bundles_w_rec")
    if not priced and st.session_state.get("bundles_objective") == "revenue":
        st.session_state["bundles_objective"] = "orders"  # another dataset had prices
    objective = c4.radio("Cover as many", ["orders", "revenue"] if priced else ["orders"],
                         horizontal=True, key="bundles_objective",
                         help=None if priced else "Covering revenue needs prices: map a price "
                         "or line-total column on the Upload page.")
    with st.expander("Items and categories, variants, limits"):
        labels = (items["item_id"].astype(str) + " · " + items["item_name"].astype(str)).tolist()
        cats = sorted(items["category"].dropna().astype(str).unique().tolist())
        include = st.multiselect("Bundles must hold one of (items or categories)", cats + labels,
                                 key="bundles_include")
        exclude = st.multiselect("Never bundle (e.g. discontinued items or categories)",
                                 cats + labels, key="bundles_exclude")
        allow_variants = st.checkbox("Allow variants (the same product in another colour or "
                                     "size) in one bundle", key="bundles_variants")
        per_item = st.slider("Bundles per item at most", 1, 5, d.max_per_item,
                             key="bundles_per_item")
        incremental = st.checkbox(
            "Prefer bundles bought together more than their popularity explains (not best "
            "sellers that merely meet often)", key="bundles_incremental",
            help="Each bundle's covered orders count only for the share that independent "
                 "purchases of its items would not give.")
        recency = st.number_input("Recent orders count more: an order's weight halves every N "
                                  "days before the last order (0 = every order the same)",
                                  min_value=0, value=0, step=30, key="bundles_recency")
        fill = st.number_input("When too few bundles pass the minimum orders, fill the list "
                               "with pairs bought together in at least N orders (0 = off)",
                               min_value=0, value=0, step=1, key="bundles_fill",
                               help="They come after every bundle that passes, and their "
                                    "explanation says they are weaker evidence. Fitting the "
                                    "weights switches this on where your own later orders "
                                    "bear it out.")

    def ids(chosen):
        return tuple(c.split(" · ")[0] for c in chosen)

    params = BundleParams(top=top, min_orders=int(min_orders), min_confidence=min_conf,
                          discount=discount, w_rules=w_rules, w_text=w_text, w_rec=w_rec,
                          text=text and ready, objective=objective, include=ids(include),
                          exclude=ids(exclude), allow_variants=allow_variants,
                          max_per_item=per_item, incremental=incremental,
                          recency_days=float(recency),
                          fill_min_orders=int(fill) if fill >= 2 else 0)
    # fitted with the settings above; the fitted weights then replace the sliders'
    fitted = weights_panel(ws, name, base=replace(params, text=text))
    if fitted:
        params = replace(params, **fitted)
    with foreground.busy():  # the background models wait while the user waits for this list
        result = bundle_list(str(ws.root), name, version, params, ready)
    first_list_shown(ws, name)
    settings = replace(params, text=False)
    if not ready:
        st.session_state[KEY_QUICK] = (name, version, settings, result.bundles)
    else:
        quick = st.session_state.get(KEY_QUICK)
        if quick is not None and quick[:3] == (name, version, settings):
            change = list_changes(quick[3], result.bundles)
            st.success(md("Refined with the models. " + (change or "The list did not change.")))
    st.session_state[KEY_RESULT] = result
    st.session_state["bundle_result_dataset"] = name

    t = result.bundles
    st.subheader(f"{len(t)} bundle{'' if len(t) == 1 else 's'}"
                 + ("" if ready else " (quick list: co-purchases only)"))
    if not has_customers:
        st.info(NO_CUSTOMERS)
    for note in result.notes:
        words, to_recommender = page_note(note, has_customers=has_customers, training=training)
        if words:
            st.info(md(words))
        if to_recommender:
            page_link("pages/4_Recommender.py", "Train a recommender on the Recommender page")
    if t.empty:
        st.stop()
    m1, m2, m3 = st.columns(3)
    m1.metric("Orders with 2+ items of a bundle", f"{t['cumulative_coverage'].iloc[-1]:.1%}")
    m2.metric("New items bundled by text", int(t["cold_start"].sum()))
    m3.metric("Candidates considered", f"{result.candidates:,}")
    used, why = result.params.get("min_orders_used"), result.params.get("min_orders_why")
    if used and why and why != "set":  # the size-aware automatic threshold, said in words
        st.caption(md(f"Bought together in at least {int(used):,} orders, chosen for this "
                      f"shop's size: {why}. Set your own above."))
    sort = st.selectbox("Sort by", ["coverage", "expected value"], key="bundles_sort",
                        help="Coverage: the order the list was chosen in. Expected value: per "
                        "week, what the bundle adds at a +20% take rate, less its discount to "
                        "orders that bought it whole anyway (see the glossary below).")
    table = display_table(t if sort == "coverage" else t.sort_values(
        "expected_value", ascending=False, na_position="last", kind="stable"),
        customers=has_customers)
    show_all = st.toggle("Show technical columns (item ids, text similarity, where each bundle "
                         "was found, score)", key="bundles_all_columns")
    order, config = table_view(table, show_all=show_all, priced=priced)
    table, order = stability_option(ws, name, version, t, table, order, config,
                                    result.params)
    st.dataframe(table, hide_index=True, width="stretch", column_order=order,
                 column_config=config)
    if not priced:
        st.caption(NO_PRICES)
    glossary_expander(MEASURES)

    st.subheader("Bundle detail")
    pick = st.selectbox("Bundle", t["bundle_id"] + " · " + t["name"], key="bundles_detail")
    row = t[t["bundle_id"] == pick.split(" · ")[0]].iloc[0]
    st.write(f"**{md(row['name'])}** — {md(row['explanation'])}")
    detail = items.set_index("item_id").reindex(row["items"]).reset_index()
    detail = detail[["item_id", "item_name", "category", "price", "n_orders"]].astype(
        {"item_id": "string", "category": "string"})  # ids and category codes are labels
    st.dataframe(detail, hide_index=True)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Orders together", f"{row['orders_together']:,}")
    c2.metric("Confidence", f"{row['confidence']:.0%}")
    c3.metric("Lift", f"{row['lift']:.1f}x")
    c4.metric("Bundle price", f"{row['bundle_price']:.2f}" if pd.notna(row["bundle_price"])
              else "—")
    c4.caption(f"list price {row['list_price']:.2f}" if pd.notna(row["list_price"])
               else "needs item prices")
    targets = ", ".join(map(str, row["target_customers"]))
    who = (f"show it to: {md(targets)}" if targets else "no customer is likely to take it yet") \
        if has_customers else "target customers need a customer column"
    st.caption(f"Evidence: {md(row['provenance'])} · price: {md(row['price_note'])} · {who}")
    test_plan_section(ws, name, version, row)
    if not result.flagged.empty:
        with st.expander(f"{len(result.flagged)} variant pairs left out (same product, other "
                         "colour or size)"):
            f = result.flagged.copy()
            f["items"] = f["item_names"].map(" | ".join)
            st.dataframe(f[["items", "orders_together", "lift"]], hide_index=True)
            st.caption("Tick 'Allow variants' above to bundle them anyway.")

    c1, c2 = st.columns(2)
    c1.download_button("Download this list (CSV)", table_bytes(t, "csv", sheet_name="bundles"),
                       file_name=f"{name}-bundles.csv", mime="text/csv", key="bundles_download")
    if c2.button("Save this list in the workspace", key="bundles_save"):
        list_id = save_list(ws, name, result, label=f"{len(t)} bundles, min orders "
                            f"{result.params['min_orders_used']}")
        st.success(f"Saved as list {md(list_id)} (see Evaluate & Export).")

    segments_section(ws, name, version, params, text=text and ready)
