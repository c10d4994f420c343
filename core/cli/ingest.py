"""CLI command ``ingest`` (docs/ARCHITECTURE.md §7): load order lines (CSV/TSV/XLSX/gzip or one
basket per line) into the workspace. JSON: the ingest summary (``dataset, rows_read, rows_kept,
orders, items, customers, dropped, ...``)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli.common import (common_options, dataset_option, engine_options, map_option,
                             parse_maps)
from core.workspace import Workspace


def add_ingest(sub: Any) -> None:
    p = sub.add_parser("ingest", help="load order lines (CSV/TSV/XLSX/gzip or baskets) into the workspace")
    p.add_argument("data", metavar="DATA", help="order-lines or basket file")
    p.add_argument("--catalog", metavar="FILE", help="product catalog joined on item_id")
    dataset_option(p)
    map_option(p, help="map a field to a column (or several joined with +)")
    p.add_argument("--bad-dates", choices=["drop", "keep"], default="drop",
                   help="rows whose timestamp cannot be parsed: drop them (default) or keep them "
                        "without a timestamp")
    p.add_argument("--keep-duplicates", action="store_true", help="keep exact duplicate rows")
    p.add_argument("--keep-placeholders", action="store_true",
                   help="keep rows whose item is a placeholder (NONE, N/A, -, ?, null)")
    p.add_argument("--layout", choices=["auto", "lines", "baskets"], default="auto",
                   help="order lines with a header, or one basket per line (default: detect)")
    engine_options(p)
    common_options(p)


def run_ingest(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from core.engines import start_engine
    from core.ingest.engines import engine_ingest
    from core.ingest.load import IngestOptions

    opts = IngestOptions(mapping=parse_maps(args.map), bad_dates=args.bad_dates,
                         drop_duplicates=not args.keep_duplicates,
                         drop_placeholders=not args.keep_placeholders, layout=args.layout)
    engine = start_engine(args.engine, args.spark_master)
    summary = engine_ingest(engine, ws, args.data, catalog=args.catalog, dataset=args.dataset,
                            options=opts, progress=progress)
    if not args.json:
        print(f"dataset {summary['dataset']}: {summary['rows_kept']:,} of {summary['rows_read']:,} "
              f"rows kept, {summary['orders']:,} orders, {summary['items']:,} items, "
              f"{summary['customers']:,} customers")
        for reason, n in summary["dropped"].items():
            print(f"  dropped {n:,} rows: {reason}")
    return summary
