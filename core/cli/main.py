"""The command line, a thin front end over the core functions (docs/ARCHITECTURE.md §7).

This module only assembles the commands: each command group is a module of ``core.cli`` with a
pair ``add_<name>(subparsers)`` (declares its arguments) and ``run_<name>(args, ws, progress) ->
dict`` (does the work and returns the JSON summary). What they share (common options, progress
bar, JSON printing and exit codes) is in ``core.cli.common``; command modules import that, never
this module.
"""

from __future__ import annotations

import argparse
import os
from typing import Callable

from core.cli.bundles import add_bundles, run_bundles
from core.cli.common import execute, user_error
from core.cli.embed import add_embed, run_embed
from core.cli.evaluate import add_evaluate, run_evaluate
from core.cli.ingest import add_ingest, run_ingest
from core.cli.plan import add_plan, run_plan
from core.cli.recommend import add_recommend, run_recommend
from core.cli.rules import add_mine, run_mine
from core.cli.run import add_run, run_run

# name -> (add to the parser, run); the order is the order of ``--help``.
COMMANDS: dict[str, tuple[Callable, Callable]] = {
    "ingest": (add_ingest, run_ingest),
    "evaluate": (add_evaluate, run_evaluate),
    "mine": (add_mine, run_mine),
    "embed": (add_embed, run_embed),
    "bundles": (add_bundles, run_bundles),
    "plan": (add_plan, run_plan),
    "run": (add_run, run_run),
    "recommend": (add_recommend, run_recommend),
}


def _machine_options(p: argparse.ArgumentParser, default) -> None:
    """``--device`` and ``--threads``: where the heavy steps run (``core.device``)."""
    p.add_argument("--device", metavar="auto|cpu|cuda[:N]", default=default,
                   help="torch device for the text model and the recommender (default: "
                   "$BUNDLELAB_DEVICE or auto = a CUDA GPU when there is one)")
    p.add_argument("--threads", type=int, metavar="N", default=default,
                   help="CPU threads for torch and DuckDB (default: $BUNDLELAB_THREADS or "
                   "every core)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="BundleLab: product "
                                     "bundles from order lines")
    _machine_options(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    for p in sub.choices.values():  # also accepted after the command
        _machine_options(p, argparse.SUPPRESS)
    return parser


def apply_machine_options(args: argparse.Namespace) -> None:
    """Check ``--device`` / ``--threads`` and pass them on through ``$BUNDLELAB_DEVICE`` /
    ``$BUNDLELAB_THREADS`` (read by ``core.device``) before any work starts."""
    from core.device import ENV_DEVICE, ENV_THREADS, cpu_threads, requested_device
    from core.errors import BundleLabError

    if getattr(args, "device", None):
        device = requested_device(args.device)
        if device.startswith("cuda"):  # no GPU: say so now, not after ingest and mining
            from core.device import torch_device

            torch_device(device)
        os.environ[ENV_DEVICE] = device
    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            raise BundleLabError(f"--threads must be a whole number >= 1, got {args.threads}")
        os.environ[ENV_THREADS] = str(cpu_threads(args.threads))


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return the exit code."""
    from core.device import tune_allocators
    from core.errors import BundleLabError

    tune_allocators()
    args = build_parser().parse_args(argv)
    try:
        apply_machine_options(args)
    except BundleLabError as exc:
        return user_error(exc)
    return execute(COMMANDS[args.command][1], args)
