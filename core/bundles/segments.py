"""Bundles per segment (issue 16, item 2): a grouping column of the uploaded file (store, region,
country, customer segment, channel: any column, mapped or not) gives one bundle list per segment
value, and a comparison: bundles shared by several segments and bundles that only hold in one.

The column is read from the raw upload the workspace keeps (``uploads/<dataset>/``), with the
reader ingest used (``core.ingest.sniff`` and ``core.ingest.rawread``: the same rows, the same
``line_no``), so no column has to be chosen before ingest. An order's segment is the value on
its first line. Segments with fewer than ``MIN_SEGMENT_ORDERS`` orders get no list of their own
(their bundles would be noise) and are named in a note.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pandas as pd

from core.baskets import lines_before
from core.bundles.build import build_bundles
from core.bundles.inputs import prepare_inputs
from core.bundles.params import BundleParams
from core.errors import BundleLabError
from core.progress import Progress, report, sub_progress
from core.workspace import Workspace

MIN_SEGMENT_ORDERS = 100
MAX_SEGMENTS = 20  # segment lists built at most (the largest segments first)


def segment_of_lines(ws: Workspace, dataset: str, column: str) -> pd.Series:
    """The value of ``column`` (a header of the uploaded order file, matched ignoring case and
    surrounding spaces) per stored line, indexed by ``line_no``. Raises ``BundleLabError`` when
    the upload is gone or has no such column (naming the columns it has)."""
    from core.ingest.rawread import configure, read_raw
    from core.ingest.sniff import sniff

    info = ws.info(dataset)
    src = ws.root / str(info["source"])
    if not src.exists():
        raise BundleLabError(f"the raw upload of {info['dataset']} is no longer in the workspace "
                             f"({src}): ingest the file again to use its columns as segments")
    layout = (info.get("options") or {}).get("layout", "auto") if isinstance(
        info.get("options"), dict) else "auto"
    sn = sniff(src, ws.tmp_dir, layout=layout)
    try:
        wanted = column.strip().lower()
        idx = [i for i, h in enumerate(sn.header) if str(h).strip().lower() == wanted]
        if not idx:
            raise BundleLabError(
                f"{src.name} has no column {column!r}; its columns are: "
                f"{', '.join(map(str, sn.header))}. Name one of them as the segment")
        con = duckdb.connect()
        try:
            configure(con)
            read_raw(con, sn, "raw", ws.tmp_dir)
            df = con.execute("SELECT * FROM raw").df()  # c0..cN, line_no: pick in pandas
            df = df[["line_no", f"c{int(idx[0])}"]].set_axis(["line_no", "segment"], axis=1)
        finally:
            con.close()
    finally:
        if sn.temp:
            sn.path.unlink(missing_ok=True)
    return df.set_index("line_no")["segment"]


def upload_columns(ws: Workspace, dataset: str) -> list[str]:
    """The header of the dataset's kept upload (the columns a segment can be read from); empty
    when the upload is gone."""
    from core.ingest.sniff import sniff

    info = ws.info(dataset)
    src = ws.root / str(info["source"])
    if not src.exists():
        return []
    sn = sniff(src, ws.tmp_dir)
    if sn.temp:
        sn.path.unlink(missing_ok=True)
    return [str(h) for h in sn.header]


def order_segments(lines: pd.DataFrame, by_line: pd.Series) -> pd.Series:
    """Each order's segment (the value on its first line; "(blank)" when empty), indexed by
    ``order_id``."""
    seg = lines["line_no"].map(by_line).fillna("").astype(str).str.strip()
    seg = seg.where(seg != "", "(blank)")
    first = lines.assign(segment=seg).sort_values("line_no").drop_duplicates("order_id")
    return first.set_index("order_id")["segment"]


@dataclass
class SegmentLists:
    """``bundles``: every segment's list in one table (column ``segment`` first); ``sizes``:
    orders per segment; ``skipped``: segments too small for a list; ``comparison``: one row per
    distinct item set (``items``, ``name``, ``segments`` holding it, ``n_segments``, ``shared``);
    ``notes``; ``seconds``."""

    column: str
    bundles: pd.DataFrame
    sizes: dict[str, int]
    skipped: list[str]
    comparison: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        shared = int(self.comparison["shared"].sum()) if len(self.comparison) else 0
        return {"segment": self.column, "segments": len(self.sizes) - len(self.skipped),
                "skipped": len(self.skipped), "skipped_first": self.skipped[:20], "bundles": int(len(self.bundles)),
                "shared_bundles": shared, "only_one_segment": int(len(self.comparison) - shared)}


def build_segment_lists(ws: Workspace, dataset: str | None, column: str,
                        params: BundleParams | None = None, *, cut: Any = None,
                        min_orders: int = MIN_SEGMENT_ORDERS,
                        progress: Progress | None = None) -> SegmentLists:
    """One bundle list per value of ``column`` (see the module docstring) with ``params`` (the
    recommender is not used: it is trained on the whole shop), on all orders or those before
    ``cut``."""
    t0 = time.perf_counter()
    params = params or BundleParams()
    name = ws.resolve(dataset)
    report(progress, 0.0, f"reading the column {column!r} of the upload")
    lines = lines_before(ws.lines(name), cut)
    segments = order_segments(lines, segment_of_lines(ws, name, column))
    sizes = Counter(segments.tolist())
    ordered = [s for s, _ in sizes.most_common()]
    kept = [s for s in ordered if sizes[s] >= min_orders][:MAX_SEGMENTS]
    skipped = [s for s in ordered if s not in kept]
    notes = []
    if skipped:
        notes.append(f"{len(skipped)} segment(s) without a list of their own (fewer than "
                     f"{min_orders} orders, or past the {MAX_SEGMENTS} largest): "
                     f"{', '.join(skipped[:10])}{' ...' if len(skipped) > 10 else ''}")
    if not kept:
        raise BundleLabError(f"no value of {column!r} has {min_orders} orders or more (largest: "
                             f"{ordered[0] if ordered else '-'} with "
                             f"{sizes[ordered[0]] if ordered else 0}); choose a coarser column")
    items = ws.items(name)
    order_seg = lines["order_id"].map(segments)
    tables = []
    for k, seg in enumerate(kept):
        part = sub_progress(progress, 0.05 + 0.9 * k / len(kept), 0.05 + 0.9 * (k + 1) / len(kept))
        report(part, 0.0, f"segment {seg}: {sizes[seg]:,} orders")
        inp = prepare_inputs(ws, name, lines[(order_seg == seg).to_numpy()], items, cut=cut,
                             text=params.text, recommender=False, progress=part)
        result = build_bundles(inp, replace(params), progress=part)
        tables.append(result.bundles.assign(segment=seg, segment_orders=sizes[seg]))
        notes += [f"{seg}: {n}" for n in result.notes]
    bundles = pd.concat(tables, ignore_index=True)
    bundles = bundles[["segment"] + [c for c in bundles.columns if c != "segment"]]
    out = SegmentLists(column, bundles, dict(sizes), skipped, compare_segments(bundles), notes)
    out.seconds = round(time.perf_counter() - t0, 3)
    report(progress, 1.0, f"{len(kept)} segment lists")
    return out


def compare_segments(bundles: pd.DataFrame) -> pd.DataFrame:
    """Per distinct item set of the segment lists: ``items`` (sorted ids), ``name``,
    ``segments`` ("A, B"), ``n_segments`` and ``shared`` (in more than one segment's list);
    shared bundles first."""
    cols = ["items", "name", "segments", "n_segments", "shared"]
    if bundles.empty:
        return pd.DataFrame(columns=cols)
    key = bundles["items"].map(lambda ids: tuple(sorted(map(str, ids))))
    grouped = bundles.assign(_key=key).groupby("_key", sort=False).agg(
        name=("name", "first"), segments=("segment", lambda s: ", ".join(dict.fromkeys(s))),
        n_segments=("segment", "nunique"))
    grouped = grouped.reset_index().rename(columns={"_key": "items"})
    grouped["items"] = grouped["items"].map(list)
    grouped["shared"] = grouped["n_segments"] > 1
    return grouped.sort_values(["n_segments"], ascending=False, kind="stable",
                               ignore_index=True)[cols]
