"""What every CLI command shares (docs/ARCHITECTURE.md §7): the common options, the terminal
progress bar, ``--map`` parsing, and ``execute``, which runs one command and turns its outcome
into the JSON line and the exit code.

Exit codes: 0 success, 2 user error (one ``error: ...`` line on stderr, no traceback: a
``BundleLabError``, or what ``core.errors.friendly`` recognises, e.g. a full disk or a damaged
workspace database), 1 bug (the traceback, then one line asking for a report), 130 cancelled
(Ctrl-C). With ``--json`` the last line on stdout is one JSON object.

Command modules (``core.cli.ingest``, ``core.cli.rules``, ...) import this module, never
``core.cli.main``, which only assembles them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from typing import Any, Callable

from core.errors import BundleLabError, friendly
from core.progress import Cancelled
from core.workspace import Workspace

# A command's work: (parsed arguments, workspace, progress callback) -> the JSON summary.
Runner = Callable[[argparse.Namespace, Workspace, Callable], dict]


class TerminalProgress:
    """Maps ``progress(fraction, message)`` to a one-line bar with an ETA on stderr."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and fraction < 1:
            return
        self.last = now
        elapsed = now - self.start
        eta = f" ~{elapsed * (1 - fraction) / fraction:.0f}s left" if 0.02 < fraction < 1 else ""
        bar = "#" * int(fraction * 30)
        sys.stderr.write(f"\r[{bar:<30}] {fraction:5.0%} {message[:60]:<60}{eta}")
        if fraction >= 1:
            sys.stderr.write("\n")
        sys.stderr.flush()


def parse_maps(pairs: list[str] | None) -> dict[str, str]:
    """``["field=Col", "timestamp=Date+Time"]`` -> ``{"field": "Col", ...}``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise BundleLabError(f"--map {pair!r} is not field=Column, e.g. --map item_id=SKU "
                                 "or --map timestamp=Date+Time")
        field, col = pair.split("=", 1)
        out[field.strip()] = col.strip()
    return out


# ---------------------------------------------------------------------------- options
def common_options(p: argparse.ArgumentParser) -> None:
    """``--workspace DIR`` and ``--json``: every command has both."""
    p.add_argument("--workspace", metavar="DIR", help="workspace directory "
                   "(default: $BUNDLELAB_WORKSPACE or ./workspace)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine duckdb|spark`` and ``--spark-master URL`` (docs/SPARK.md)."""
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                   help="where the data steps run: duckdb (default, this machine) or spark "
                        "(Apache Spark; needs Java and pyspark)")
    p.add_argument("--spark-master", metavar="URL", help="Spark master for the Spark engine "
                   "(default: $BUNDLELAB_SPARK_MASTER or local[*]; under spark-submit, its own)")


def dataset_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", metavar="NAME", help="dataset (default: the only or the last one)")


def map_option(p: argparse.ArgumentParser, **kwargs: Any) -> None:
    """``--map field=Col[+Col...]`` (repeatable), read with ``parse_maps``."""
    p.add_argument("--map", action="append", metavar="field=Col[+Col...]", default=[], **kwargs)


# ---------------------------------------------------------------------------- JSON and exit codes
def json_default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def clean_json(obj: Any) -> Any:
    """Infinite and NaN floats become null (JSON has no infinity)."""
    if isinstance(obj, float) and (math.isinf(obj) or math.isnan(obj)):
        return None
    if isinstance(obj, dict):
        return {k: clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    return obj


def dumps(obj: Any, indent: int | None = None) -> str:
    """``obj`` as JSON the way every command prints it (dates ISO, NaN/inf null)."""
    return json.dumps(clean_json(obj), indent=indent, default=json_default)


def user_error(exc: BaseException) -> int:
    """One ``error: ...`` line on stderr (no traceback) and exit status 2."""
    message = str(exc).replace("\r\n", " ").replace("\n", " ").strip() or type(exc).__name__
    print(f"error: {message}", file=sys.stderr)
    return 2


def execute(run: Runner, args: argparse.Namespace) -> int:
    """Run one command on ``args`` (which carry ``workspace`` and ``json``); print the JSON
    summary with ``--json``; return the exit code."""
    progress = TerminalProgress(enabled=not getattr(args, "json", False))
    ws = None
    try:
        ws = Workspace(args.workspace)
        result = run(args, ws, progress)
    except BundleLabError as exc:
        return user_error(exc)
    except Cancelled:
        print("error: cancelled; the workspace is unchanged", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nerror: interrupted; the workspace is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:
        mapped = friendly(exc, ws)  # a full disk, a damaged workspace file: the user's to fix
        if mapped is not None:
            return user_error(mapped)
        # a bug: say so plainly, keep the traceback for the report
        traceback.print_exc()
        print("error: internal error (a bug in BundleLab); please report the traceback above",
              file=sys.stderr)
        return 1
    if args.json:
        print(dumps(result))
    return 0
