"""Bundles: the product's main output, a list of item groups worth promoting.

- ``service``: ``build_for_dataset`` (gather the inputs of a workspace dataset, build, save,
  record), the one entry of the Bundles page, the CLI and the held-out evaluation;
- ``params``: ``BundleParams`` (the settings), ``BundleResult`` (the table, coverage, notes);
- ``build``: ``build_bundles(inputs, params)``, pure: ``candidates`` (itemsets, text neighbours,
  recommender add-ons) -> ``select`` (hybrid score, greedy coverage, cold-start joins) ->
  ``describe`` (names, prices, explanations, target customers; words from ``naming``);
- ``inputs`` + ``recommender``: bundle inputs from training lines (text vectors, the trained
  recommender as affinity and customer scores);
- ``lists``: saved lists (the ``bundle_lists`` table); ``coverage``: the Coverage page's report.

The names below are resolved on first use, so ``import core.bundles`` stays light.
"""

from __future__ import annotations

from core.lazy import lazy_exports

_EXPORTS = {   # public name -> "module:name", imported on first use
    "STRATEGIES": ".params:STRATEGIES",
    "BundleParams": ".params:BundleParams",
    "BundleResult": ".params:BundleResult",
    "BundleInputs": ".candidates:BundleInputs",
    "build_bundles": ".build:build_bundles",
    "build_for_dataset": ".service:build_for_dataset",
    "dataset_inputs": ".service:dataset_inputs",
    "save_list": ".lists:save_list",
    "load_list": ".lists:load_list",
    "bundle_lists": ".lists:bundle_lists",
    "coverage_report": ".coverage:coverage_report",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
