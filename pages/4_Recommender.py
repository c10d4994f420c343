"""Recommender: what each customer is likely to buy next, and add-ons for a basket."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from core.recommend import (TEXT_SOURCES, RecommenderParams, complete_basket, customer_history,
                            recommend_for, train_recommender, trained_models)
from ui.common import data_version, make_progress, md, require_dataset, user_errors, workspace
from ui.data import default_cut, evaluation_section
from ui.recommender_view import (METHOD_LABELS, choice_text, chosen_vs_test, comparison_figure,
                                 comparison_frame, customers_table, model_label, trained)

st.set_page_config(page_title="Recommender · BundleLab", page_icon="🧺", layout="wide")
st.title("Recommender")
st.write("Predicts what each customer will put in their **next order** from what they bought "
         "before. Most retail orders re-buy familiar products, so the model learns how much a "
         "customer's own favourites count, then adds products that customers with similar "
         "baskets went on to buy; use it for personal offers and for add-ons at checkout.")

TEXT_LABELS = {"finetuned": "Fine-tuned language model", "base": "Base language model",
               "none": "No product text"}

ws = workspace()
name = require_dataset(ws)

with user_errors():
    version = data_version(ws, name)
    root = str(ws.root)
    defaults = RecommenderParams()

    # ------------------------------------------------------------------ training
    st.subheader("1. Train on your customers' orders")
    c1, c2, c3 = st.columns(3)
    method = c1.selectbox("Method", list(METHOD_LABELS), format_func=METHOD_LABELS.get,
                          key="rec_method", help="Automatic (recommended): each method learns "
                          "from your orders before the last ~20%, predicts those last 20%, and "
                          "the best one (the simpler one when they are about as good) is "
                          "trained on all orders. Pick a method to train only that one.")
    text = c2.selectbox("Product text", list(TEXT_SOURCES), format_func=TEXT_LABELS.get,
                        key="rec_text", help="Lets new products with no sales get scores from "
                        "their names. The fine-tuned model is trained first if needed.")
    seconds = c3.slider("Training time budget (seconds)", 10, 600, int(defaults.max_seconds), 10,
                        key="rec_seconds", help="Training stops at this time and keeps the best "
                        "model so far (about 1 minute on 2 cores for 20,000 orders).")
    holdout = st.checkbox("Train on orders before a date only (to compare with later orders)",
                          key="rec_holdout")
    cut = None
    if holdout:
        suggested = default_cut(root, name, version)
        if suggested is None:
            st.caption("This dataset has no dates: all orders are used.")
        else:
            cut = st.date_input("First day not used for training", pd.Timestamp(suggested),
                                key="rec_cut").isoformat()
    if st.button("Train now", type="primary", key="rec_train"):
        progress, bar = make_progress("Training the recommender")
        params = replace(defaults, method=method, text=text, max_seconds=float(seconds))
        result = train_recommender(ws, name, cut=cut, params=params, progress=progress)
        bar.empty()
        if result["reused"]:
            st.success("A model with these settings was already trained on this data: reused it.")
        else:
            val = result.get("val_ndcg@10")
            extra = f", validation NDCG@10 {val:.3f}" if val is not None else ""
            st.success(f"Trained on {result['customers']:,} customers and {result['items']:,} "
                       f"products in {result['seconds']:.0f} s{extra}.")
        if result.get("choice"):
            st.info(md(choice_text(result["choice"])))

    # ------------------------------------------------------------------ comparison
    st.subheader("2. How well does each method predict the next order?")
    st.caption("Each method learns from orders before the test date only and predicts every "
               "returning customer's first later order. Recall@10: share of that order's products "
               "among the 10 recommended; NDCG@10 also rewards putting them first; Hit@10: at "
               "least one right. Repeat hits are products the customer had bought before, "
               "explore hits products new to them.")
    e2, latest = evaluation_section(
        ws, name, version, block="recommender", key="rec_eval", button="Run the comparison",
        running="Comparing methods (trains each on the earlier orders)", options={"text": text})
    if latest is None:
        e2.info("No comparison yet: run it to see the neural model next to the baselines.")
    else:
        block, about = latest
        frame = comparison_frame(block)
        e2.dataframe(frame.style.format({"NDCG@10": "{:.3f}", "Recall@10": "{:.3f}",
                                         "Hit@10": "{:.3f}"}), width="stretch")
        n = next((m.get("customers") for m in block.values() if isinstance(m, dict)), 0)
        stale = " (older data version)" if about["data_version"] != version else ""
        e2.caption(f"Test period from {md(about['cut'] or 'the last 20% of orders')}: {n:,} "
                   f"returning customers. Evaluated "
                   f"{pd.Timestamp(about['created_at']):%Y-%m-%d %H:%M}{stale}.")
        versus = chosen_vs_test(block)
        if versus:
            e2.caption(md(versus))
        st.plotly_chart(comparison_figure(frame, "Next-order prediction by method "
                                          "(hover for values)"), width="stretch")

    # ------------------------------------------------------------------ customer view
    st.subheader("3. One customer: history and recommendations")
    models = trained_models(ws, name)
    models = models[models["data_version"] == version].reset_index(drop=True)
    if models.empty:
        st.info("No recommender trained on this data yet: train one above.")
        st.stop()
    choice = st.selectbox("Model", range(len(models)), key="rec_model",
                          format_func=lambda i: model_label(models.iloc[i]))
    row = models.iloc[choice]
    if isinstance(row.get("choice"), dict):
        st.info(md(choice_text(row["choice"])))
    stamp = float(row["trained_at"].timestamp())
    model_cut = row["cut"] or None
    tr = trained(root, name, version, model_cut, stamp)
    customers = customers_table(root, name, version, model_cut, stamp)
    k = st.slider("Products to recommend", 3, 30, 10, key="rec_k")
    orders_of = dict(zip(customers["customer_id"], customers["orders"]))
    pick = st.selectbox("Customer", customers["customer_id"].tolist(), key="rec_customer",
                        format_func=lambda c: f"{c} ({orders_of[c]} orders)",
                        help="Customers with the most orders first.")
    left, right = st.columns(2)
    hist = customer_history(ws, name, pick, trained=tr)
    left.markdown(f"**Order history** ({hist['order_no'].nunique()} orders, newest first)")
    left.dataframe(hist, hide_index=True, width="stretch")
    right.markdown("**Recommended next** (with the reason)")
    right.dataframe(recommend_for(ws, name, pick, k, trained=tr), hide_index=True,
                    width="stretch")

    # ------------------------------------------------------------------ complete the basket
    st.subheader("4. Complete this basket")
    names = tr.names
    ids = [str(i) for i in tr.history.item_ids]
    basket = st.multiselect("Products in the basket", ids, key="rec_basket",
                            format_func=lambda i: f"{names.get(i, i)} [{i}]",
                            placeholder="Pick one or more products")
    if basket:
        st.dataframe(complete_basket(ws, name, basket, k, trained=tr), hide_index=True,
                     width="stretch")
    else:
        st.caption("Pick products to see the add-ons the model suggests for that basket.")
