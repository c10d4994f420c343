"""Rules: which products sell together, as association rules with mlxtend's metrics."""

import streamlit as st

from core.errors import BundleLabError
from core.export import table_bytes
from core.rules.itemsets import DEFAULT_MAX_ITEMSETS, min_count_for
from core.rules.association import SORT_METRICS, RuleParams, association_rules, explain_no_rules
from core.rules.levels import item_groups
from ui.common import data_version, md, require_dataset, user_errors, workspace
from ui.glossary import glossary_expander
from ui.rules_view import (MEASURES, category_drivers_section, display_table, item_table, match_items, mined_itemsets,
                           rule_graph, scatter, table_columns, table_config)

st.set_page_config(page_title="Rules · BundleLab", page_icon="🧺", layout="wide")
st.title("Association rules")
st.write("Which products sell together? Each rule reads: *orders that hold the 'if' products "
         "often also hold the 'then' products*. Choose how many orders must back a combination, "
         "how reliable it must be (confidence) and how far above chance (lift); the list, the "
         "chart and the graph follow at once.")

ws = workspace()
name = require_dataset(ws)

with user_errors():
    version = data_version(ws, name)
    n_orders = int(ws.info(name)["orders"])

    st.subheader("What to mine")
    level = st.radio("Mine on", ["item", "category"], horizontal=True, key="rules_level",
                     format_func={"item": "Products", "category": "Categories"}.get,
                     help="Categories: rules between the products' categories, for shops whose "
                     "single products are too sparse. Without a category column, rough product "
                     "types are taken from the names.")
    items = item_table(str(ws.root), name, version, level)
    if level == "category":
        st.caption(md(item_groups(ws.items(name), name).note) + ".")
    c1, c2, c3 = st.columns(3)
    unit = c1.radio("Support given as", ["orders", "share of orders"], horizontal=True,
                    key="rules_support_unit",
                    help="Support = how many orders hold all products of a rule.")
    # categories sit in many more orders than single products: a higher default support
    default_count = max(5, round((0.05 if level == "category" else 0.01) * n_orders))
    if unit == "orders":
        count = c2.number_input("At least N orders together", min_value=1, value=default_count,
                                step=1, key=f"rules_min_orders{'_category' * (level == 'category')}")
        min_support = float(count)
        c2.caption(f"= {count / n_orders:.2%} of {n_orders:,} orders")
    else:
        min_support = c2.number_input("At least this share of orders", min_value=0.0001,
                                      max_value=0.9999, value=round(default_count / n_orders, 4),
                                      step=0.001, format="%.4f",
                                      key=f"rules_min_share{'_category' * (level == 'category')}")
        c2.caption(f"= at least {min_count_for(min_support, n_orders):,} of {n_orders:,} orders")
    length = c3.selectbox("Longest itemset (products per rule)", ["2", "3", "4", "5", "6", "no cap"],
                          index=2, key="rules_max_len",
                          help="Bundles have 2-4 products; longer itemsets take longer to mine.")
    max_len = 0 if length == "no cap" else int(length)

    st.subheader("Which rules to show")
    f1, f2, f3, f4 = st.columns(4)
    min_conf = f1.slider("Minimum confidence", 0.0, 1.0, 0.2, 0.05, key="rules_min_conf",
                         help="Share of the orders holding the 'if' products that also hold "
                              "the 'then' products.")
    min_lift = f2.slider("Minimum lift (times more often than chance)", 0.0, 20.0, 1.0, 0.1,
                         key="rules_min_lift")
    query = f3.text_input("Category (part of its name)" if level == "category"
                          else "Product (id or part of the name)", key="rules_item_query")
    side = f3.radio("where", ["anywhere", "in 'if'", "in 'then'"], horizontal=True,
                    key="rules_item_side")
    sort_by = f4.selectbox("Sort by", SORT_METRICS, key="rules_sort")
    with st.expander("More options"):
        single = st.checkbox("Only one product on the 'then' side", key="rules_single")
        prune = st.checkbox("Drop redundant rules (a shorter 'if' gives the same 'then' at least "
                            "as reliably)", key="rules_prune")
        significant = st.checkbox("Only statistically significant rules (Fisher's exact test, "
                                  "Holm-corrected, 5% level)", key="rules_significant")

    itemsets = mined_itemsets(str(ws.root), name, version, float(min_support), max_len,
                              DEFAULT_MAX_ITEMSETS, level)

    matched = match_items(items, query)
    if query.strip() and not matched:
        raise BundleLabError(f"no product id or name contains {query.strip()!r}: check the "
                             "spelling or search for a shorter part of the name")
    params = RuleParams(min_confidence=min_conf, min_lift=min_lift, items=tuple(matched),
                        item_side={"in 'if'": "antecedent", "in 'then'": "consequent"}.get(side, "any"),
                        max_consequent_len=1 if single else 0, prune_redundant=prune,
                        significance=0.05 if significant else None, sort_by=sort_by)
    names = dict(zip(items["item_id"].astype(str), items["item_name"].astype(str)))
    rules = association_rules(itemsets, params, names=names)

    lengths = itemsets.lengths()
    m = st.columns(4)
    m[0].metric("Rules", f"{len(rules):,}")
    m[1].metric("Frequent itemsets", f"{len(itemsets):,}",
                help=", ".join(f"{n:,} of {k} products" for k, n in lengths.items()) or None)
    m[2].metric("Support threshold", f"{itemsets.min_count:,} orders")
    m[3].metric("Mining time", f"{itemsets.seconds:.2f} s")

    if level == "category":
        category_drivers_section(ws, name)
    if rules.empty:
        st.info("No rules with these settings. " + md(explain_no_rules(itemsets, params)))
        st.stop()

    table = display_table(rules)
    if len(rules) > len(table):
        st.caption(f"Showing the top {len(table):,} of {len(rules):,} rules by {sort_by}; the "
                   "download holds all of them.")
    show_all = st.toggle("Show every measure and the product ids", key="rules_all_columns",
                         help="Leverage, conviction, Zhang's metric, Jaccard, certainty, "
                              "Kulczynski and the ids: hover a column header for its meaning.")
    st.dataframe(table, hide_index=True, width="stretch", column_config=table_config(table),
                 column_order=table_columns(table, show_all))
    glossary_expander([m for m in MEASURES if m in table or m == "orders_together"])
    d1, d2 = st.columns([1, 3])
    fmt = d1.selectbox("File format", ["csv", "xlsx", "json"], key="rules_export_fmt")
    d2.download_button(f"Download {len(rules):,} rules", key="rules_download",
                       data=lambda: table_bytes(rules, fmt, sheet_name="rules"),
                       file_name=f"rules_{name}{'_categories' * (level == 'category')}.{fmt}",
                       on_click="ignore")
    st.plotly_chart(scatter(rules), key="rules_scatter")
    st.plotly_chart(rule_graph(rules, top=25), key="rules_graph")
