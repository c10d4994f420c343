"""Every number the pages show, in plain words: one dict (``GLOSSARY``: column or metric key ->
(label, one-line explanation)), read by the tables' column tooltips (``column_config``) and by
the "What do these numbers mean?" expander (``glossary_expander``) of the Rules, Bundles,
Coverage and Evaluate pages."""

from __future__ import annotations

from typing import Iterable

import streamlit as st

GLOSSARY: dict[str, tuple[str, str]] = {
    # rules and bundles
    "orders_together": ("Orders together", "How many orders hold all of these products."),
    "support": ("Support", "Share of all orders that hold all of these products."),
    "confidence": ("Confidence", "Of the orders holding the 'if' product(s) (for a bundle: its "
                   "anchor item), the share that also hold the rest."),
    "lift": ("Lift", "How many times more often the products are bought together than if "
             "shoppers picked them independently; above 1 means they go together."),
    "leverage": ("Leverage", "Share of orders with the products together minus the share "
                 "expected by chance; above 0 means together more often than chance."),
    "conviction": ("Conviction", "How much rarer the rule fails than it would by chance; above 1 "
                   "is good, empty means it never fails."),
    "zhangs_metric": ("Zhang's metric", "From -1 (the products avoid each other) through 0 "
                      "(unrelated) to +1 (they always come together)."),
    "jaccard": ("Jaccard", "Orders holding both sides divided by orders holding either side, "
                "from 0 to 1."),
    "certainty": ("Certainty", "How much the 'if' products raise the chance of the 'then' "
                  "products, from -1 to 1; 0 means not at all."),
    "kulczynski": ("Kulczynski", "The average of the confidences in both directions, from 0 to "
                   "1."),
    "p (corrected)": ("p (corrected)", "The chance of a link this strong between unrelated "
                      "products, corrected for testing many rules; smaller is more trustworthy."),
    "similarity": ("Text similarity", "How alike the product descriptions are to the text "
                   "model, from 0 to 1; counts only where the bundle used text."),
    "affinity": ("Recommender affinity", "How strongly the recommender expects buyers of one "
                 "item to want the others."),
    "score": ("Score", "The combined ranking score of the weighted signals, from 0 to 1."),
    "provenance": ("Found by", "Where the bundle came from: rules (bought together), text "
                   "(similar descriptions), recommender."),
    "list_price": ("List price", "Sum of the items' prices."),
    "bundle_price": ("Bundle price", "List price less the bundle discount (never below cost "
                     "plus the minimum margin when costs are known)."),
    "expected_value": ("Expected value", "Per week (per 1,000 orders without dates), on recent "
                       "orders: the margin (revenue where costs are unknown) of the extra "
                       "bundles sold if showing the bundle to the anchor item's buyers raised its "
                       "take rate by 20%, less the discount given to the orders that bought the "
                       "whole bundle anyway. Negative: the discount costs more than it brings."),
    "coverage_gain": ("Coverage gain", "Share of orders this bundle newly covers (2+ of its "
                      "items) beyond the bundles above it."),
    "cumulative_coverage": ("Cumulative coverage", "Share of orders covered by this bundle and "
                            "the ones above it."),
    # coverage page
    "orders_share": ("Orders with 2+ bundle items", "Share of all orders holding at least two "
                     "items of one bundle: orders the list could have turned into a bundle sale."),
    "revenue_share": ("Revenue of those orders", "Share of all revenue in those orders."),
    "reach_share": ("Orders with any bundle item", "Share of all orders holding at least one "
                    "item of some bundle: where a bundle offer could be shown."),
    "band_share": ("Share of the band's revenue", "Of the revenue of items in a price band, the "
                   "share that comes from items in a bundle."),
    # evaluation, bundles
    "bundles": ("Bundles found", "How many bundles the method found: up to N, fewer when it ran "
                "out of evidence (it never pads the list)."),
    "hit_rate": ("Hit rate", "Of the later orders with 2+ products, the share holding at least "
                 "two products of some bundle."),
    "attach_rate": ("Attach rate", "For an average bundle: of the later orders holding one of "
                    "its products, the share holding two or more."),
    "coverage_orders": ("Orders reached", "Share of later orders holding at least one bundle "
                        "product."),
    "coverage_revenue": ("Revenue reached", "Share of later revenue in orders holding at least "
                         "one bundle product."),
    "coverage_items": ("Products reached", "Share of the products sold later that are in a "
                       "bundle."),
    "cold_hit_rate": ("New-product hit rate", "Of the later orders holding a new product (no "
                      "sales before the test period) that is in a bundle, the share also holding "
                      "another product of that bundle."),
    "cold_orders": ("Orders with a new product", "Later orders holding a new product that is in "
                    "a bundle."),
    "independent_attach_rate": ("Attach rate by chance", "The attach rate the same bundles would "
                                "have if their products were bought independently of each "
                                "other, each as often as it sold later: what popularity alone "
                                "gives."),
    "attach_uplift": ("Uplift over chance", "A bundle's attach rate divided by its attach rate by "
                      "chance, averaged over the bundles: how many times more often its products "
                      "are bought together than their popularity explains (1 = no more than "
                      "chance). Best sellers that merely meet often score near 1."),
    "tail_hit_rate": ("Long-tail hit rate", "Of the later orders holding a rarely sold product "
                      "(1 to 4 orders before the test period) that is in a bundle, the share also "
                      "holding another product of that bundle."),
    "tail_orders": ("Orders with a long-tail product", "Later orders holding a rarely sold "
                    "product that is in a bundle."),
    "tail_items_bundled": ("Long-tail products bundled", "Rarely sold products (1 to 4 orders "
                           "before the test period) in the list."),
    # evaluation, recommender and text model
    "ndcg@10": ("NDCG@10", "Like recall@10, but a right product counts more the higher it is "
                "in the list of 10."),
    "recall@10": ("Recall@10", "Share of the products actually bought that are among the 10 "
                  "suggested."),
    "hit@10": ("Hit@10", "Share of cases where at least one of the 10 suggestions was bought."),
    "mrr": ("MRR", "1 / the position of the first right suggestion, averaged (1 = always "
            "first)."),
    "cold_recall@10": ("Recall@10, new products", "Recall@10 for products with no sales before "
                       "the test period."),
    "repeat_hits": ("Repeat hits", "Right suggestions the customer had bought before."),
    "explore_hits": ("Explore hits", "Right suggestions new to the customer."),
    "customers": ("Customers", "Customers scored (returning customers with a later order)."),
    "queries": ("Checks", "Product-in-order checks scored."),
}
TEXT_KEYS = {"provenance"}


def label(key: str) -> str:
    return GLOSSARY.get(key, (key, ""))[0]


def explain(key: str) -> str:
    return GLOSSARY.get(key, (key, ""))[1]


def column_config(columns: Iterable[str], formats: dict[str, str] | None = None) -> dict:
    """``st.dataframe`` column settings for ``columns``: the glossary's label and one-line
    explanation as the header tooltip, and a number format where ``formats`` gives one."""
    formats = formats or {}
    out = {}
    for col in columns:
        if col not in GLOSSARY:
            continue
        name, text = GLOSSARY[col]
        if col in TEXT_KEYS:
            out[col] = st.column_config.TextColumn(name, help=text)
        else:
            out[col] = st.column_config.NumberColumn(name, help=text, format=formats.get(col))
    return out


def glossary_expander(keys: Iterable[str], title: str = "What do these numbers mean?") -> None:
    """An expander listing ``keys`` with their plain explanations (code-owned text, no user
    values)."""
    with st.expander(title):
        st.markdown("\n".join(f"- **{GLOSSARY[k][0]}**: {GLOSSARY[k][1]}" for k in keys
                              if k in GLOSSARY))
