"""Item similarity: a language model fine-tuned on the shop's own co-purchases."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from core.text import default_params, item_texts
from core.text.finetune import encoders, finetune, read_meta
from core.text.encoder import model_key
from core.text.engine import is_engine_dir
from core.text.language import NAMES, dataset_choice, dataset_encoder, set_dataset_encoder
from core.text.similarity import neighbour_table
from ui.common import data_version, make_progress, md, require_dataset, user_errors, workspace
from ui.data import default_cut, evaluation_section
from ui.similarity_view import (ENCODER_LABELS, base_vectors, copurchases, encoder_label,
                                item_map, items_table, map_figure, metrics_frame, tuned_vectors)

st.set_page_config(page_title="Item similarity · BundleLab", page_icon="🧺", layout="wide")
st.title("Item similarity")
st.write("A language model reads every product name and places products that sound alike close "
         "together. Fine-tuning teaches it which products your customers **buy together**, so it "
         "can suggest partners even for new products that have never sold.")

ws = workspace()
name = require_dataset(ws)

with user_errors():
    version = data_version(ws, name)
    root = str(ws.root)
    items = items_table(root, name, version)
    defaults = default_params()  # with the environment's budget overrides, if any

    # ------------------------------------------------------------------ which model
    setting = dataset_encoder(ws, name)
    picked = st.selectbox("Text model", NAMES, index=NAMES.index(setting),
                          format_func=ENCODER_LABELS.get, key=f"sim_encoder_{name}",
                          help="Automatic: the English model for names in Latin letters, the "
                          "multilingual one for Chinese (and other scripts). Kept for this "
                          "dataset: the bundles and the recommender use it too.")
    if picked != setting:
        set_dataset_encoder(ws, name, picked)
    in_use = dataset_choice(ws, name)
    st.caption(f"In use: {md(in_use.why)}.")

    # ------------------------------------------------------------------ training
    st.subheader("1. Fine-tune on your co-purchases")
    c1, c2, c3 = st.columns(3)
    seconds = c1.slider("Training time budget (seconds)", 5, 600,
                        min(600, max(5, int(defaults.seconds))), 5,
                        key="sim_seconds", help="Training stops at this time whatever is left. "
                        "The defaults take about 1.5 minutes on 4,000 products with 2 CPU cores.")
    max_pairs = c2.number_input("Most product pairs to learn from", 2, 100_000,
                                defaults.max_pairs, 512, key="sim_max_pairs")
    epochs = c3.number_input("Passes over the pairs", 1, 10, defaults.epochs, key="sim_epochs")
    holdout = st.checkbox("Train on orders before a date only (to compare with later orders)",
                          key="sim_holdout")
    cut = None
    if holdout:
        suggested = default_cut(root, name, version)
        if suggested is None:
            st.caption("This dataset has no dates: the evaluation below holds out the last 20% of "
                       "orders instead.")
        else:
            cut = st.date_input("First day not used for training", pd.Timestamp(suggested),
                                key="sim_cut").isoformat()
    params = replace(defaults, seconds=float(seconds), max_pairs=int(max_pairs),
                     epochs=int(epochs))
    if is_engine_dir(in_use.path):
        st.caption("The multilingual model itself stays as it is: fine-tuning trains a small "
                   "adapter on its vectors (seconds; the passes are set automatically).")
    st.caption(f"Estimated time: at most {seconds} s of training plus about "
               f"{max(2, len(items) // 300)} s to encode {len(items):,} products.")
    if st.button("Fine-tune now", type="primary", key="sim_train"):
        progress, bar = make_progress("Fine-tuning")
        result = finetune(ws, name, cut=cut, params=params, texts=item_texts(items),
                          progress=progress)
        bar.empty()
        if result.reused:
            st.success("A model with these settings was already trained: reused it.")
        else:
            stop = " (stopped at the time budget)" if result.stopped_early else ""
            st.success(f"Fine-tuned on {result.pairs:,} product pairs in {result.seconds:.0f} s, "
                       f"{result.steps} training steps{stop}.")

    # ------------------------------------------------------------------ metrics
    st.subheader("2. How well does it predict what sells together?")
    st.caption("Scored on later orders the models never saw: for each product in an order, are "
               "the order's other products among its 10 nearest neighbours (Recall@10), and how "
               "high is the first one (MRR)? 'New items' are products with no sales before the date.")
    e2, latest = evaluation_section(
        ws, name, version, block="embeddings", key="sim_eval", button="Run the evaluation",
        running="Evaluating (trains the model on the earlier orders if needed)",
        options={"params": params})
    if latest is None:
        e2.info("No evaluation yet: run it to compare the fine-tuned model with the base model "
                "and with plain co-purchase counts.")
    else:
        block, about = latest
        e2.dataframe(metrics_frame(block).style.format("{:.3f}", na_rep="—"), width="stretch")
        n = block.get("n", {})
        if isinstance(block.get("encoder"), dict):
            e2.caption(f"Text model of this evaluation: {md(block['encoder'].get('why', ''))}.")
        stale = " (older data version)" if about["data_version"] != version else ""
        e2.caption(f"Test period from {md(about['cut'] or 'the last 20% of orders')}: "
                   f"{n.get('queries', 0):,} product-in-order checks, {n.get('cold_queries', 0):,} "
                   f"on new products. Evaluated {pd.Timestamp(about['created_at']):%Y-%m-%d %H:%M}"
                   f"{stale}.")

    # ------------------------------------------------------------------ explorer
    st.subheader("3. Neighbours before and after fine-tuning")
    trained = encoders(ws, name)
    trained = trained[(trained["data_version"] == version)
                      & (trained["base_key"] == model_key(in_use.path))].reset_index(drop=True)
    base = base_vectors(root, name, version, str(in_use.path))
    tuned = None
    if trained.empty:
        st.info("No fine-tuned model yet: fine-tune above to see what it learned.")
    else:
        choice = st.selectbox("Fine-tuned model", range(len(trained)), key="sim_model",
                              format_func=lambda i: encoder_label(trained.iloc[i]))
        row = trained.iloc[choice]
        tuned = tuned_vectors(root, name, version, row["path"], read_meta(row["path"])["model_id"])
    labels = (items["item_name"].fillna(items["item_id"]) + "  [" + items["item_id"] + "]").tolist()
    pick = st.selectbox("Product", range(len(items)), format_func=lambda i: labels[i],
                        key="sim_item")
    k = st.slider("Neighbours", 5, 30, 10, key="sim_k")
    co = copurchases(root, name, version)
    sold = 0 if pd.isna(items["n_orders"].iloc[pick]) else int(items["n_orders"].iloc[pick])
    st.caption(f"{md(labels[pick])}: in {sold:,} orders. 'Orders together' counts orders "
               "holding both products (all orders).")
    left, right = st.columns(2)
    left.markdown("**Base model** (names only)")
    left.dataframe(neighbour_table(items, base, pick, k=k, cocounts=co), hide_index=True,
                   width="stretch")
    right.markdown("**Fine-tuned** (names + co-purchases)")
    if tuned is not None:
        right.dataframe(neighbour_table(items, tuned, pick, k=k, cocounts=co), hide_index=True,
                        width="stretch")
    else:
        right.write("—")

    # ------------------------------------------------------------------ map
    st.subheader("4. Map of the products")
    which = "fine-tuned" if tuned is not None else "base"
    key = f"{which}:{row['path'] if tuned is not None else in_use.path}"
    table, ratio = item_map(root, name, version, key, tuned if tuned is not None else base)
    has_category = "category" in items and items["category"].notna().any()
    legend = "Category" if has_category else "Product type (last word of the name)"
    st.plotly_chart(map_figure(table, ratio, f"Products placed by the {which} model "
                               "(close = similar); hover for names", legend), width="stretch")
