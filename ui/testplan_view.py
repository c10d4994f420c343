"""The Bundles page's A/B test plan for the bundle in detail (issue 16, item 5): its take rate
among the anchor item's buyers on the held-out later orders, and the orders a test needs to see
a given uplift (``core.bundles.testplan``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import BundleLabError
from ui.common import md


@st.cache_data(show_spinner=False, max_entries=4)
def _lines(root: str, dataset: str, version: int) -> pd.DataFrame:
    from core.workspace import Workspace

    return Workspace(root).lines(dataset, columns=["order_id", "item_id", "timestamp"])


def test_plan_section(ws, name: str, version: int, row: pd.Series) -> None:
    from core.bundles.testplan import bundle_test_plan

    with st.expander("A/B test plan for this bundle"):
        uplift = st.slider("Uplift of the take rate to detect", 0.05, 1.0, 0.2, 0.05,
                           key="bundles_plan_uplift", format="%.2f",
                           help="Relative: +20% turns a 10% take rate into 12%.")
        try:
            plan = bundle_test_plan(_lines(str(ws.root), name, version), list(row["items"]),
                                    uplift=float(uplift))
        except BundleLabError as exc:
            st.info(md(str(exc)))
            return
        h, e = plan["heldout"], plan["earlier"]
        when = f"orders from {plan['cut']} on" if plan["cut"] else "the last 20% of orders"
        c1, c2, c3 = st.columns(3)
        c1.metric("Take rate now", f"{plan['p1']:.1%}",
                  help=f"Of {h['anchor_orders']:,} held-out orders ({when}) with the anchor "
                  f"item, {h['took_bundle']:,} held the rest of the bundle.")
        c2.metric("Anchor orders per arm", f"{plan['orders_per_arm']:,}")
        c3.metric("Weeks at the recent rate", "—" if plan["weeks_needed"] is None
                  else f"{plan['weeks_needed']:.1f}")
        earlier = "—" if e["take_rate"] is None else f"{e['take_rate']:.1%}"
        st.caption(md(f"Anchor item {plan['anchor']}; earlier orders' take rate {earlier} "
                      f"({e['anchor_orders']:,} anchor orders). Detecting {plan['p1']:.1%} -> "
                      f"{plan['p2']:.1%} at {plan['alpha']:.0%} two-sided significance and "
                      f"{plan['power']:.0%} power needs {plan['orders_total']:,} anchor orders "
                      "in all, half shown the bundle offer, half not:"))
        st.code(plan["formula"], language=None)
