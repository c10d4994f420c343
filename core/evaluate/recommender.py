"""The recommender block of the evaluation (docs/ARCHITECTURE.md §6).

Protocol (``core.recommend.protocol``, shared with the recommender's own choice of method):
every model is fitted on the training orders only. Each known customer (>= 1 training order) is
scored on their first test order; targets = its distinct items, items never sold before the cut
included (they count as misses for every model that cannot rank them). Per method:
``recall@10`` = hits / |targets|, ``ndcg@10`` (binary gains, ideal DCG over min(10, |targets|)),
``hit@10``, and the split of hits into ``repeat_hits`` (items the customer bought before) and
``explore_hits`` (items new to them), summed over customers.

The block also says which method the recommender would choose for itself
(``core.recommend.choose``) from the training orders alone, so that the choice can be compared
with the best method on the test period.
"""

from __future__ import annotations

from typing import Any, Sequence

from core.errors import BundleLabError
from core.progress import Progress, sub_progress
from core.recommend.history import build_history
from core.recommend.protocol import K, evaluate_recommenders, first_test_orders, score_ranking

__all__ = ["K", "evaluate_recommenders", "first_test_orders", "recommender_block",
           "score_ranking"]


def recommender_block(ctx, progress: Progress | None = None, *,
                      extra_methods: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Evaluation block "recommender": every method of ``core.recommend.registry.DEFAULT_METHODS``
    trained on the split's training orders, scored on each known customer's first test order,
    plus the optional methods asked for (``registry.OPTIONAL``, e.g. ``als``, which needs Spark):
    ``extra_methods=("als",)``, or ``ctx.options["recommender"]["extra_methods"]`` (the path of
    ``core.evaluate.run.evaluate(options=...)``); a method without the software it needs stops
    the block with a ``BundleLabError`` that says what is missing.

    The neural model reads the fine-tuned text vectors trained on the same training orders (from
    the embeddings block through ``ctx.shared["item_vectors"]`` when it ran first, else trained or
    reused here). ``ctx.options["recommender"]`` may hold ``{"text": "finetuned"|"base"|"none"}``
    and per-method settings, e.g. ``{"neural": {"seed": 1}}``.

    The entry ``"chosen"``: ``{"method", "validation": {method: {"ndcg@10", "recall@10",
    "hit@10", "fit_seconds"}}, ...}``, the rest of ``core.recommend.choose``'s record (rule,
    reason, customers, window, margin, ...): the method the recommender chooses for itself on a
    validation window of the split's training orders only (never the test orders), with the same
    per-method settings and base-model text vectors (the fine-tuned encoder learned from the
    window's orders), to set next to the best method on the test period."""
    from core.recommend.choose import choose_recommender
    from core.recommend.history import item_index_for
    from core.recommend.registry import (DEFAULT_METHODS, METHODS, check_available,
                                         make_recommender)
    from core.recommend.store import align_vectors, choice_vectors, text_vectors_for

    options = dict(ctx.options.get("recommender") or {})
    source = options.pop("text", "finetuned")
    extra = options.pop("extra_methods", ()) if extra_methods is None else extra_methods
    extra = [extra] if isinstance(extra, str) else list(extra or ())
    unknown = [m for m in extra if m not in METHODS]
    if unknown:
        raise BundleLabError(f"unknown recommender(s) {', '.join(map(repr, unknown))} in "
                             f"extra_methods; choose among {', '.join(METHODS)}")
    methods = list(dict.fromkeys([*DEFAULT_METHODS, *extra]))
    for name in extra:   # before the other methods train, not after
        check_available(name)
    items = item_index_for(ctx.split.train, ctx.items)
    history = build_history(ctx.split.train, item_ids=items)
    shared = ctx.shared.get("item_vectors") or {}
    if source in shared:
        vectors = align_vectors(shared["item_ids"], shared[source], history.item_ids)
        used = source
    else:
        vectors, used = text_vectors_for(ctx.ws, ctx.dataset, history.item_ids, source=source,
                                         progress=sub_progress(progress, 0.0, 0.3),
                                         **ctx.training_set())
    models = {name: make_recommender(name, **options.get(name, {})) for name in methods}
    result = evaluate_recommenders(history, ctx.split.test, models, item_text_vectors=vectors,
                                   progress=sub_progress(progress, 0.3, 0.7))
    result["neural"]["text"] = used
    choice_text, choice_used = choice_vectors(ctx.ws, ctx.dataset, history.item_ids, vectors,
                                              used)
    choice = choose_recommender(ctx.split.train, item_ids=history.item_ids,
                                item_text_vectors=choice_text, text=choice_used,
                                params={name: options.get(name, {}) for name in METHODS},
                                progress=sub_progress(progress, 0.7, 1.0))
    result["chosen"] = {"method": choice.method, **choice.record}
    ctx.shared["recommender"] = result
    return result
