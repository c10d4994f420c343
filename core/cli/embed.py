"""CLI command ``embed`` (docs/ARCHITECTURE.md §7): fine-tune the item text encoder on
co-purchases and encode every item (reusing a model trained with the same settings). JSON:
``model, reused, pairs, items, seconds, ...``."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli.common import common_options, dataset_option
from core.workspace import Workspace


def add_embed(sub: Any) -> None:
    from core.text.finetune import FinetuneParams  # no torch: defaults shown in --help stay in sync

    d = FinetuneParams()
    p = sub.add_parser("embed", help="fine-tune the item text encoder on co-purchases and encode "
                       "every item (reuses a model trained with the same settings)")
    dataset_option(p)
    p.add_argument("--model", metavar="NAME|DIR", help="the text model to start from: minilm "
                   "(English), multilingual, auto (by the script of the item names) or a local "
                   "sentence-transformers directory (default: $BUNDLELAB_MODEL, else the "
                   "dataset's setting, else auto)")
    p.add_argument("--epochs", type=int, metavar="N",
                   help=f"passes over the pairs (default {d.epochs})")
    p.add_argument("--max-pairs", type=int, metavar="N", help="most co-purchase pairs to train "
                   f"on (default {d.max_pairs})")
    p.add_argument("--seconds", type=float, metavar="S", help="training time budget in seconds "
                   f"(default {d.seconds:g})")
    p.add_argument("--cut", metavar="DATE", help="train on orders before this day only "
                   "(default: all orders)")
    common_options(p)


def run_embed(args: argparse.Namespace, ws: Workspace, progress: Callable) -> dict:
    from dataclasses import replace

    from core.text import FinetuneParams, embed

    overrides = {k: v for k, v in (("epochs", args.epochs), ("max_pairs", args.max_pairs),
                                   ("seconds", args.seconds)) if v is not None}
    result = embed(ws, args.dataset, cut=args.cut, model=args.model,
                   params=replace(FinetuneParams(), **overrides), progress=progress)
    if not args.json:
        how = "reused" if result["reused"] else f"trained on {result['pairs']:,} pairs"
        print(f"encoder {how}: {result['model']}\n{result['items']:,} item vectors ready in "
              f"{result['seconds']:.1f}s")
    return result
