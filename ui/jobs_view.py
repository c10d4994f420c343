"""Background model training on the pages (``core.jobs``): the panel on the Bundles page and the
sidebar line every page shows while models train, each with its progress, the time left and a
Cancel button. Both redraw themselves every few seconds while a job runs, and rerun the whole
page once it ends (so the Bundles page refines its list)."""

from __future__ import annotations

import streamlit as st

from core import foreground, jobs
from core.jobs import CANCELLED, DONE, FAILED, FINISHED, JobStatus, ModelJob
from core.workspace import Workspace
from ui.common import md

POLL_SECONDS = 2.0
# after a load the models wait (at most this long) until the first bundle list is on the screen
# (core.foreground: pages first); measured on UCI in the browser: 13.5 s -> 3.4 s for that list
FIRST_LIST_WAIT = 30.0
STEP_WORDS = {"text model": "fine-tuning the text model and encoding the items",
              "recommender": "training the recommender",
              "bundle inputs": "preparing the refined list"}


def start_models(ws: Workspace, name: str, *, text: bool, again: bool = False) -> ModelJob:
    """The background job training ``name``'s models for the pages (started when needed); its
    last step puts the refined list's inputs into the Bundles pages' store."""
    from ui.bundles_view import inputs_store

    return jobs.start(ws, name, text=text, cache=inputs_store(), again=again)


def start_after_load(ws: Workspace, name: str) -> None:
    """After a dataset is loaded: start training its models in the background (with the text
    model, the Bundles page's default) unless the app is set to leave that to a button."""
    if jobs.auto_start():
        foreground.hold(first_list_key(ws, name), FIRST_LIST_WAIT)
        start_models(ws, name, text=True)


def first_list_key(ws: Workspace, name: str) -> tuple:
    """The hold that keeps the models waiting until ``name``'s first list is shown."""
    return ("first list", str(ws.root), name)


def first_list_shown(ws: Workspace, name: str) -> None:
    """The Bundles page has shown a list of ``name``: the models may take the cores."""
    foreground.release(first_list_key(ws, name))


def eta_words(s: JobStatus) -> str:
    """``"about 2 min left"``, ``"about 40 s left"``, or ``"estimating the time left"``."""
    left, where = s.eta_seconds, "left"
    if left is None and s.step_eta_seconds is not None:
        left, where = s.step_eta_seconds, "left in this step"
    if left is None:
        return "estimating the time left"
    left = max(0.0, left)
    if left >= 90:
        return f"about {left / 60:.0f} min {where}"
    return f"about {max(5, round(left / 5) * 5):.0f} s {where}"


def _line(s: JobStatus) -> str:
    if s.state == jobs.QUEUED:  # another job runs, or the first list is still being shown
        return "waiting to start (your pages go first)"
    what = STEP_WORDS.get(s.step, s.step or "starting")
    return f"{what} ({s.fraction:.0%}, {eta_words(s)}; {s.elapsed:.0f} s so far)"


def _cancel_button(job: ModelJob, key: str, where=st) -> None:
    if where.button("Cancel training", key=key,
                    help="Stops the step in progress; the workspace stays as it was before it. "
                         "The quick list stays."):
        job.cancel()
        st.rerun(scope="app")


@st.fragment(run_every=POLL_SECONDS)
def _live_panel(root: str, key: tuple) -> None:
    job = jobs.find(Workspace(root), *key)
    if job is None:
        return
    s = job.status()
    if s.state in FINISHED:
        st.rerun(scope="app")  # the page draws the refined list
    st.progress(s.fraction, text=md(f"Models for the refined list: {_line(s)}"))
    _cancel_button(job, key=f"jobs_cancel_{key[0]}_{key[1]}_{key[2]}")


def models_panel(ws: Workspace, name: str, version: int, *, text: bool) -> str | None:
    """The Bundles page's panel for the models of ``name`` (at ``version``, with or without the
    text model): started here when the app starts them by itself (``core.jobs.auto_start``),
    else a button; live progress while they train; a failure or a cancellation with a button to
    train again. Returns the job's state (None: not started)."""
    job = jobs.find(ws, name, version, text)
    if jobs.auto_start() and (job is None or job.superseded):
        job = start_models(ws, name, text=text)  # (again, when another dataset took its turn)
    if job is None:
        offer = st.empty()
        with offer.container():
            st.info("**Quick list**: bundles from co-purchases alone. Train the models (the text "
                    "model and the recommender, in the background) to refine it.")
            clicked = st.button("Train the models", key="jobs_start", type="primary")
        if not clicked:
            return None
        offer.empty()
        job = start_models(ws, name, text=text)
    s = job.status()
    if s.active:
        st.info("**Quick list**: bundles from co-purchases alone, ready in seconds. The text "
                "model and the recommender are training in the background; the list is refined "
                "when they are ready (you can keep working, also on other pages).")
        _live_panel(job.root, job.key)
    elif s.state == FAILED:
        st.warning(md(f"Training the models failed: {s.error}. This is the quick list "
                      "(co-purchases only)."))
    elif s.state == CANCELLED:
        st.info("Model training was cancelled: this is the quick list (co-purchases only).")
    if s.state in (FAILED, CANCELLED) and st.button("Train the models again", key="jobs_again"):
        start_models(ws, name, text=text, again=True)
        st.rerun()
    if s.state == DONE:
        for note in s.notes:
            st.caption(md(note))
    return s.state


@st.fragment(run_every=POLL_SECONDS)
def _live_sidebar(root: str) -> None:
    running = jobs.active(Workspace(root))
    if not running:
        if st.session_state.get("jobs_sidebar_seen"):
            st.session_state["jobs_sidebar_seen"] = False
            st.rerun(scope="app")  # a job ended: the page shows its results
        return
    st.session_state["jobs_sidebar_seen"] = True
    for job in running:
        s = job.status()
        st.caption(md(f"Models for {s.dataset}: {_line(s)}"))
        st.progress(s.fraction)
        _cancel_button(job, key=f"jobs_sidebar_cancel_{s.dataset}_{s.version}_{s.text}")


def sidebar_status(ws: Workspace) -> None:
    """Every page: the workspace's running and queued jobs in the sidebar (nothing when none)."""
    if not jobs.active(ws) and not st.session_state.get("jobs_sidebar_seen"):
        return
    with st.sidebar:
        _live_sidebar(str(ws.root))
