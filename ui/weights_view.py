"""The Bundles page's "weights fitted to this shop" panel (``core.bundles.fit``): the latest fit
said in words, a switch to use it, and a button that fits (again)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import foreground
from core.bundles.fit import describe, fit_for_dataset, latest_fit
from core.bundles.params import BundleParams
from core.workspace import Workspace
from ui.common import make_progress, md

KEY_USE = "bundles_use_fitted"


def weights_panel(ws: Workspace, name: str, *, base: BundleParams) -> dict[str, Any] | None:
    """Draw the panel; return the fitted settings to build with (strength, w_text, w_rec and,
    with text, how new items join), or None to use the sliders. ``base``: the page's settings,
    which a fit keeps (list size, thresholds, filters, objective)."""
    fit = latest_fit(ws, name)
    with st.expander("Weights fitted to this shop" + ("" if fit is None else
                                                      " (in use)" if fit.fitted and
                                                      st.session_state.get(KEY_USE, True)
                                                      else "")):
        st.write("Instead of the default weights, try settings on this shop's own history: "
                 "lists built on the earlier orders are scored on the last 20% of orders (the "
                 "text model and the recommender are trained on the earlier orders for this, "
                 "which takes a few minutes on a large shop). A setting is kept only when it "
                 "clearly beats the defaults there.")
        if fit is not None:
            st.caption(md(describe(fit)))
        use = st.toggle("Use the fitted weights (the weight sliders are then ignored)",
                        value=True, key=KEY_USE, disabled=fit is None or not fit.fitted)
        if st.button("Fit the weights on this shop's orders" if fit is None else
                     "Fit the weights again", key="bundles_fit"):
            progress, bar = make_progress("Fitting the weights")
            with foreground.busy():  # the background models wait while the user waits
                fit = fit_for_dataset(ws, name, base, progress=progress)
            bar.empty()
            st.rerun()
    return dict(fit.params) if fit is not None and fit.fitted and use else None
