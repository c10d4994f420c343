"""Mining a workspace dataset: order lines -> baskets -> frequent itemsets -> rules, with a run
record and an in-process cache so that re-filtering (confidence, lift, items, sorting) never
mines again.

``mine(ws, dataset, mining=MiningParams(...), rules=RuleParams(...), progress=...)`` returns a
``RulesResult``; its ``summary()`` is the JSON of docs/ARCHITECTURE.md §7 (``itemsets {length:
count}, rules, seconds``) and ``refilter(RuleParams(...))`` gives other rules from the same
itemsets. ``mine_dataset_itemsets`` gives the (cached) itemsets alone.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import pandas as pd

from core.baskets import Baskets, build_baskets
from core.engines import check_engine
from core.errors import BundleLabError, TooManyItemsets
from core.progress import Progress, report, sub_progress
from core.rules.itemsets import Itemsets, MiningParams, frequent_itemsets
from core.rules.association import RuleParams, association_rules
from core.rules.levels import check_level, group_lines, item_groups
from core.workspace import Workspace

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 3
_CACHE_LOCK = threading.Lock()


def load_baskets(ws: Workspace, dataset: str | None = None, level: str = "item") -> Baskets:
    """The dataset's baskets (all cleaned order lines); ``level="category"``: baskets of the
    items' categories (``core.rules.levels``)."""
    lines = ws.lines(dataset, columns=["order_id", "item_id"])
    if check_level(level) == "category":
        lines = group_lines(lines, item_groups(ws.items(dataset), ws.resolve(dataset)))
    return build_baskets(lines)


def check_minable(baskets: Baskets, dataset: str) -> None:
    """Raise ``BundleLabError`` when the baskets cannot give a single rule: no orders, one order
    (every rule would have confidence 1 and lift 1), or no order with two different items."""
    check_minable_counts(baskets.n_orders, baskets.n_items,
                         int(baskets.sizes().max()) if baskets.n_orders else 0,
                         str(baskets.item_ids[0]) if baskets.n_items else "", dataset)


def check_minable_counts(n: int, n_items: int, max_size: int, first_item: str,
                         dataset: str) -> None:
    """``check_minable`` on counts: orders, distinct items, the most distinct items in one
    order, and an item id to name when there is only one (what the Spark engine computes)."""
    if n == 0:
        raise BundleLabError(f"dataset {dataset} has no order lines: there is nothing to mine. "
                             "Load the orders again (ingest)")
    if n < 2:
        raise BundleLabError(f"mining rules needs at least 2 orders; dataset {dataset} has 1 "
                             "order (one order alone gives every rule confidence 1 and lift 1): "
                             "load more order history")
    if n_items < 2 or max_size < 2:
        what = (f"only one distinct item ({first_item})" if n_items < 2 else
                f"{n:,} orders of one item each ({n_items:,} distinct items)")
        raise BundleLabError(f"mining rules needs orders holding at least 2 different items; "
                             f"dataset {dataset} has {what}, so no items are bought together: "
                             "load order lines that list every item of an order")


def item_names(ws: Workspace, dataset: str | None = None, level: str = "item") -> dict[str, str]:
    """item id -> item name (the id where the name is missing); at ``level="category"`` each
    category is its own name."""
    items = ws.items(dataset)
    if level == "category":
        return {g: g for g in item_groups(items).of.values()}
    names = items["item_name"].where(items["item_name"].notna(), items["item_id"])
    return dict(zip(items["item_id"].astype(str), names.astype(str)))


@dataclass
class RulesResult:
    """Itemsets and rules of one dataset version and setting.

    ``rules`` has the columns of ``core.rules.association.association_rules`` with ``antecedents_names`` and
    ``consequents_names``; ``seconds`` is the time this call took (mining included unless
    ``cached``); ``run_id`` is the recorded run (None when nothing was mined)."""

    dataset: str
    version: int
    mining: MiningParams
    rule_params: RuleParams
    itemsets: Itemsets
    names: dict[str, str]
    rules: pd.DataFrame
    seconds: float
    cached: bool = False
    run_id: str | None = None
    mining_seconds: float = field(default=0.0)
    level: str = "item"
    note: str | None = None  # at the category level: where the categories came from

    def summary(self) -> dict:
        """docs/ARCHITECTURE.md §7 JSON: itemsets {length: count}, rules, seconds (+ dataset,
        min_count, orders)."""
        return {"dataset": self.dataset, "itemsets": self.itemsets.lengths(),
                "rules": int(len(self.rules)), "seconds": round(self.seconds, 3),
                "min_count": self.itemsets.min_count, "orders": self.itemsets.n_orders,
                "level": self.level}

    def refilter(self, rule_params: RuleParams) -> pd.DataFrame:
        """Rules of the same itemsets under other thresholds/filters (no mining)."""
        return association_rules(self.itemsets, rule_params, names=self.names)


def mine_dataset_itemsets(ws: Workspace, dataset: str | None = None, *,
                          mining: MiningParams = MiningParams(),
                          progress: Progress | None = None,
                          record: bool = False, level: str = "item",
                          engine: str = "duckdb") -> tuple[Itemsets, bool]:
    """Frequent itemsets of the dataset's current version (of its items, or of their categories
    with ``level="category"``), from the in-process cache when the same dataset version and
    setting was mined before. Returns (itemsets, cached). With ``record`` a fresh mining is
    recorded as a ``rules`` run (itemset counts as metrics). ``engine="spark"``: the itemsets
    of items are mined on Spark (``core.engines.spark.mining``; the same itemsets and counts);
    categories, few by nature, are always mined here."""
    name = ws.resolve(dataset)
    version = int(ws.info(name)["version"])
    engine = check_engine(engine) if check_level(level) == "item" else "duckdb"
    key = (str(ws.root), name, version, mining, check_level(level), engine)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key], True
    if engine == "spark":
        itemsets = _spark_itemsets(ws, name, mining, progress)
    else:
        report(progress, 0.0, "loading order lines")
        baskets = load_baskets(ws, name, level)
        check_minable(baskets, name)
        report(progress, 0.1, f"{baskets.n_orders:,} orders, {baskets.n_items:,} items")
        itemsets = frequent_itemsets(baskets, min_support=mining.min_support,
                                     max_len=mining.max_len, max_itemsets=mining.max_itemsets,
                                     progress=sub_progress(progress, 0.1, 0.9))
    with _CACHE_LOCK:
        _CACHE[key] = itemsets
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    if record:
        ws.record_run(name, "rules", params={**asdict(mining), "level": level},
                      seconds=itemsets.seconds,
                      metrics={"itemsets": itemsets.lengths(), "min_count": itemsets.min_count})
    return itemsets, False


def _spark_itemsets(ws: Workspace, name: str, mining: MiningParams,
                    progress: Progress | None) -> Itemsets:
    """The itemsets mined on Spark, after the same "can rules come out at all" check as here
    (``check_minable_counts`` on the counts Spark finds)."""
    from core.engines.spark.mining import kept_lines, spark_itemsets
    from core.engines.spark.session import spark_session

    report(progress, 0.0, "mining on Spark")
    spark = spark_session()
    return spark_itemsets(spark, kept_lines(spark, ws, name), mining=mining,
                          check=lambda *counts: check_minable_counts(*counts, name))


def clear_cache() -> None:
    """Forget every cached itemsets object (tests, memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def mine(ws: Workspace, dataset: str | None = None, *, mining: MiningParams = MiningParams(),
         rules: RuleParams = RuleParams(), progress: Progress | None = None,
         record: bool = True, level: str = "item", engine: str = "duckdb") -> RulesResult:
    """Frequent itemsets and rules of a workspace dataset (its items, or with
    ``level="category"`` their categories: ``core.rules.levels``). Records a ``rules`` run
    (parameters, data version, seconds, itemset counts, rule count) when it mined, unless
    ``record`` is False. Raises ``TooManyItemsets`` for a setting that would explode (nothing is
    recorded)."""
    t0 = time.perf_counter()
    rules.check()
    name = ws.resolve(dataset)
    itemsets, cached = mine_dataset_itemsets(ws, name, mining=mining, progress=progress,
                                             level=level, engine=engine)
    report(progress, 0.9, "building rules")
    names = item_names(ws, name, level)
    table = association_rules(itemsets, rules, names=names)
    seconds = time.perf_counter() - t0
    result = RulesResult(dataset=name, version=int(ws.info(name)["version"]), mining=mining,
                         rule_params=rules, itemsets=itemsets, names=names, rules=table,
                         seconds=seconds, cached=cached, mining_seconds=itemsets.seconds,
                         level=level, note=item_groups(ws.items(name), name).note
                         if level == "category" else None)
    if record and not cached:
        params = {**asdict(mining), "level": level,
                  **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(rules).items()}}
        result.run_id = ws.record_run(name, "rules", params=params, seconds=seconds,
                                      metrics={"itemsets": itemsets.lengths(), "rules": len(table),
                                               "min_count": itemsets.min_count})
    report(progress, 1.0, f"{len(table):,} rules from {len(itemsets):,} itemsets")
    return result


def mine_auto(ws: Workspace, dataset: str | None = None, *, max_len: int = 3,
              rules: RuleParams | None = None, progress: Progress | None = None,
              record: bool = True, level: str = "item", engine: str = "duckdb"):
    """Rules at the size-aware support (``core.rules.defaults.rules_support``): the count chosen
    from the dataset's orders and item counts, raised by half while the mining would give more
    than ``RULES_MAX_ITEMSETS`` itemsets. Returns (``RulesResult``, the ``SupportChoice`` used,
    the choices tried before it)."""
    from core.rules.defaults import RULES_MAX_ITEMSETS, raised, raised_category, rules_support

    name = ws.resolve(dataset)
    counts = ws.items(name)["n_orders"].to_numpy() if check_level(level) == "item" else \
        load_baskets(ws, name, level).item_counts()  # orders per category
    choice = rules_support(counts, int(ws.info(name)["orders"]))
    tried = []
    while True:
        mining = MiningParams(min_support=choice.min_count, max_len=max_len,
                              max_itemsets=RULES_MAX_ITEMSETS)
        try:
            return mine(ws, name, mining=mining, rules=rules or RuleParams(), progress=progress,
                        record=record, level=level, engine=engine), choice, tried
        except TooManyItemsets:
            nxt = raised(choice, counts, RULES_MAX_ITEMSETS)
            if nxt is None and level == "category":  # few, dense groups: past the items' 1% cap
                nxt = raised_category(choice, counts, RULES_MAX_ITEMSETS)
            if nxt is None:
                raise
            tried.append(choice)
            choice = nxt
