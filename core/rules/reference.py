"""mlxtend, called from this module only (always with keyword arguments: its positional orders
differ between functions and have changed between releases). BundleLab mines with its own
engine (``core.rules.itemsets``, ``core.rules.association``); mlxtend is the reference that tests and
``bench/mining.py`` compare it with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.baskets import Baskets


def onehot(baskets: Baskets) -> pd.DataFrame:
    """The orders x items bool DataFrame mlxtend expects (columns = item ids), dense."""
    return pd.DataFrame(baskets.matrix.toarray(), columns=list(baskets.item_ids))


def onehot_sparse(baskets: Baskets) -> pd.DataFrame:
    """The same as a sparse DataFrame (mlxtend's fpgrowth accepts it; less memory)."""
    return pd.DataFrame.sparse.from_spmatrix(baskets.matrix.astype(bool),
                                             columns=list(baskets.item_ids))


def mlxtend_itemsets(baskets: Baskets, *, min_support: float, max_len: int | None = None,
                     algorithm: str = "fpgrowth", sparse: bool = False) -> pd.DataFrame:
    """mlxtend's frequent itemsets: columns support, itemsets (frozensets of item ids).
    ``min_support`` is a share of orders (mlxtend's meaning); ``max_len`` 0/None = no cap."""
    df = onehot_sparse(baskets) if sparse else onehot(baskets)
    return mlxtend_frequent(df, min_support=min_support, max_len=max_len, algorithm=algorithm)


def mlxtend_frequent(onehot_df: pd.DataFrame, *, min_support: float, max_len: int | None = None,
                     algorithm: str = "fpgrowth") -> pd.DataFrame:
    """mlxtend's ``fpgrowth``/``apriori``/``hmine`` on a prepared one-hot DataFrame."""
    from mlxtend.frequent_patterns import apriori, fpgrowth, hmine

    fn = {"fpgrowth": fpgrowth, "apriori": apriori, "hmine": hmine}[algorithm]
    return fn(df=onehot_df, min_support=min_support, use_colnames=True, max_len=max_len or None)


def mlxtend_rules(itemsets: pd.DataFrame, *, n_orders: int, min_confidence: float = 0.0
              ) -> pd.DataFrame:
    """mlxtend's association_rules on its itemsets with ``num_itemsets`` = the number of orders
    (so confidence = sAC*n / (sA*n)), thresholded on confidence."""
    from mlxtend.frequent_patterns import association_rules

    return association_rules(df=itemsets, num_itemsets=n_orders, metric="confidence",
                             min_threshold=min_confidence)


def mlxtend_metric_names() -> list[str]:
    """mlxtend's default ``return_metrics`` (its metric columns, in order)."""
    import inspect

    from mlxtend.frequent_patterns import association_rules

    return list(inspect.signature(association_rules).parameters["return_metrics"].default)


def as_frozensets(values) -> list[frozenset]:
    """Itemsets/antecedents as frozensets, for comparing with mlxtend."""
    return [frozenset(np.asarray(list(v), dtype=object).tolist()) for v in values]
