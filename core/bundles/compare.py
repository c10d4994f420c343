"""Two bundle lists compared (the quick list and the list refined by the models): which bundles
came in, which went, which moved in the ranking, and how many new (never sold) items the
refined list bundles by their text."""

from __future__ import annotations

import pandas as pd


def _sets(table: pd.DataFrame) -> list[frozenset]:
    return [frozenset(map(str, items)) for items in table["items"]] if len(table) else []


def compare_lists(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """``{"added", "removed", "kept", "reranked", "cold_added", "added_sets", "removed_sets"}``:
    bundles are the same when they hold the same items (in any order); ``reranked`` counts the
    kept bundles whose rank changed; ``cold_added`` the items of added cold-start bundles that
    no bundle of ``before`` held."""
    b, a = _sets(before), _sets(after)
    rank_b = {s: i for i, s in enumerate(b)}
    rank_a = {s: i for i, s in enumerate(a)}
    added = [s for s in a if s not in rank_b]
    removed = [s for s in b if s not in rank_a]
    kept = [s for s in a if s in rank_b]
    # a bundle "moved" when its place among the kept bundles changed (an insertion above it
    # alone does not count as a move)
    order_b = sorted(kept, key=rank_b.__getitem__)
    reranked = sum(1 for x, y in zip(kept, order_b) if x != y)
    held_before = set().union(*b) if b else set()
    cold = set()
    if "cold_start" in after:
        for s, is_cold in zip(a, after["cold_start"].astype(bool)):
            if is_cold and s not in rank_b:
                cold |= s - held_before
    return {"added": len(added), "removed": len(removed), "kept": len(kept),
            "reranked": reranked, "cold_added": len(cold), "added_sets": added,
            "removed_sets": removed}
