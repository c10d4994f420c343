"""``python -m core``: the command line (docs/ARCHITECTURE.md §7).

``core.cli.main`` assembles the commands, one module per command group (``ingest``, ``rules``,
``embed``, ``recommend``, ``bundles``, ``run``, ``evaluate``), which share ``core.cli.common``.
"""

from core.cli.main import main

__all__ = ["main"]
