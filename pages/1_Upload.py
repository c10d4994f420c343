"""Upload: bring an order-lines export (and optionally a catalog), check the column mapping, load
it into the workspace and see what was cleaned."""

import pandas as pd
import streamlit as st

from core import foreground
from core.ingest.load import IngestOptions, default_name, ingest, reclean
from core.ingest.preview import preview
from ui.common import KEY_DATASET, dataset_picker, make_progress, md, user_errors, workspace
from ui.jobs_view import start_after_load
from ui.data_check import column_roles, data_check, run_check
from ui.upload import cleaning_report, discard_upload, finish_upload, mapping_editor, save_upload

UPLOAD_TYPES = ["csv", "tsv", "txt", "gz", "xlsx", "xlsm", "parquet", "pq"]
KEY_LOADED = "upload_loaded"  # the summary of the load just done, shown once after the rerun

st.set_page_config(page_title="Upload · BundleLab", page_icon="🧺", layout="wide")
st.title("Upload order lines")
st.write("Bring the order export from your shop, ERP or POS (CSV, TSV, semicolon CSV, gzip, "
         "Excel or Parquet; UTF-8, GBK or Latin-1). Check which column is which, load it, and "
         "see what was cleaned away and why. A product catalog adds names and categories, and "
         "lets new products without sales be bundled by their text.")

ws = workspace()
dataset_picker(ws)

data = st.file_uploader("Order lines (one row per item in an order, or one basket per line)",
                        type=UPLOAD_TYPES, key="upload_lines")
catalog = st.file_uploader("Product catalog (optional: item id + name, category, price, cost)",
                           type=UPLOAD_TYPES, key="upload_catalog")

if data is None:
    discard_upload(ws, "lines")
if catalog is None:
    discard_upload(ws, "catalog")
if data is not None:
    with user_errors():
        path = save_upload(ws, data, "lines")
        cat_path = save_upload(ws, catalog, "catalog") if catalog is not None else None
        layout = st.radio("Layout", ["auto", "lines", "baskets"], horizontal=True,
                          help="auto: detect; lines: a header and one row per order line; "
                               "baskets: one order per line, items separated by commas, no header")
        pv = preview(path, ws.tmp_dir, catalog=cat_path, layout=layout)
        st.caption(f"Read as {pv['layout']} · encoding {pv['encoding']} · delimiter "
                   f"{'tab' if pv['delimiter'] == chr(9) else md(repr(pv['delimiter']))}"
                   + "".join(f" · {md(n)}" for n in pv["notes"]))
        rows_box, roles_box = st.columns([5, 4])
        rows_box.dataframe(pd.DataFrame(pv["rows"]), hide_index=True)
        st.subheader("Column mapping")
        st.write("Detected automatically (the same detection the load runs); correct any field "
                 "with its selector.")
        overrides = mapping_editor(pv["columns"], pv["catalog_columns"], pv["mapping"],
                                   pv["catalog_mapping"])
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Dataset name", value=default_name(data.name))
        bad_dates = c2.radio("Rows whose date cannot be read", ["drop", "keep"], horizontal=True,
                             help="keep: the row stays, without a date")
        keep_dups = c3.checkbox("Keep exact duplicate rows", value=False)
        keep_placeholders = c3.checkbox(
            "Keep placeholder items", value=False,
            help="rows whose item is NONE, N/A, -, ? or null are not products and are dropped "
                 "unless you keep them")
        options = IngestOptions(mapping=overrides, bad_dates=bad_dates,
                                drop_duplicates=not keep_dups,
                                drop_placeholders=not keep_placeholders, layout=layout)
        st.subheader("Data check")
        st.caption("What loading with these settings would do. Nothing is stored until you "
                   "load.")
        result = run_check(ws, path, cat_path, options)
        with roles_box:
            column_roles(result)
        data_check(result)
        if not result["nothing_kept"] and st.button("Load with these settings", type="primary",
                                                     key="load_button"):
            progress, bar = make_progress(f"Loading {data.name}")
            path = save_upload(ws, data, "lines", for_ingest=True)
            cat_path = (save_upload(ws, catalog, "catalog", for_ingest=True)
                        if catalog is not None else None)
            with foreground.busy():  # a model job of another dataset waits meanwhile
                summary = ingest(ws, path, catalog=cat_path, dataset=name, progress=progress,
                                 options=options)
            bar.empty()
            # ingest copied the upload(s) to uploads/<dataset>/: drop the incoming copies
            stored = ws.info(summary["dataset"])
            finish_upload(ws, "lines", ws.root / stored["source"])
            if cat_path is not None and stored.get("catalog"):
                finish_upload(ws, "catalog", ws.root / stored["catalog"])
            st.session_state[KEY_DATASET] = summary["dataset"]
            st.session_state[KEY_LOADED] = summary
            start_after_load(ws, summary["dataset"])  # the models train while the user looks
            st.rerun()  # the sidebar (drawn above) then shows the new dataset
loaded = st.session_state.pop(KEY_LOADED, None)
if loaded:
    st.success(f"Loaded {md(loaded['dataset'])}: {loaded['orders']:,} orders, "
               f"{loaded['items']:,} items, {loaded['customers']:,} customers.")

st.divider()
current = st.session_state.get(KEY_DATASET)
names = ws.datasets()["name"].tolist() if ws.db_path.exists() else []
if current in names:
    st.subheader(f"Cleaning report: {md(current)}")
    with user_errors():
        info = ws.info(current)
        cleaning_report(info, ws.dropped_examples(current))
        with st.expander("Clean again with other choices (uses the stored upload)"):
            again = st.radio("Rows whose date cannot be read", ["drop", "keep"], horizontal=True,
                             key="reclean_dates",
                             index=0 if info["options"].get("bad_dates", "drop") == "drop" else 1)
            if st.button("Clean again"):
                opts = IngestOptions(**{**info["options"], "bad_dates": again})
                progress, bar = make_progress("Cleaning again")
                reclean(ws, current, options=opts, progress=progress)
                bar.empty()
                st.rerun()

st.subheader("Datasets in this workspace")
if names:
    table = ws.datasets()
    st.dataframe(table[["name", "created_at", "rows_kept", "orders", "items", "version"]],
                 hide_index=True)
    c1, c2 = st.columns([3, 1])
    victim = c1.selectbox("Delete a dataset", names, key="delete_choice")
    if c2.button("Delete", key="delete_button"):
        with user_errors():
            ws.delete(victim)
            if st.session_state.get(KEY_DATASET) == victim:
                st.session_state.pop(KEY_DATASET, None)
            st.rerun()
else:
    st.info(f"No datasets yet. Workspace: {md(ws.root)}")
