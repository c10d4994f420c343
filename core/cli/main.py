"""The command line, a thin front end over the core functions (docs/ARCHITECTURE.md §7).

This module only assembles the commands: each command group is a module of ``core.cli`` with a
pair ``add_<name>(subparsers)`` (declares its arguments) and ``run_<name>(args, ws, progress) ->
dict`` (does the work and returns the JSON summary). What they share (common options, progress
bar, JSON printing and exit codes) is in ``core.cli.common``; command modules import that, never
this module.
"""

from __future__ import annotations

import argparse
from typing import Callable

from core.cli.bundles import add_bundles, run_bundles
from core.cli.common import execute
from core.cli.embed import add_embed, run_embed
from core.cli.evaluate import add_evaluate, run_evaluate
from core.cli.ingest import add_ingest, run_ingest
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
    "run": (add_run, run_run),
    "recommend": (add_recommend, run_recommend),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="BundleLab: product "
                                     "bundles from order lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return the exit code."""
    args = build_parser().parse_args(argv)
    return execute(COMMANDS[args.command][1], args)
