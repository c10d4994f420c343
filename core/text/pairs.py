"""Training pairs for the text encoder: items bought together in the training period
(docs/ARCHITECTURE.md §5). Pure functions over ``Baskets`` and item texts; no model, no workspace.

Rules, in order:
1. co-count = orders holding both items (training orders only: the caller passes train baskets);
   keep pairs with co-count >= ``min_cocount`` and PMI = log(c_ij * N / (n_i * n_j)) > ``min_pmi``
   (PMI > 0 is lift > 1);
2. near-identical variants are not pairs: two items whose names are the same product in another
   colour/size (``core.text.variants.is_variant_pair``, the rule the bundles use too: equal
   variant keys or one design word apart) are substitutes, not complements, and are dropped;
3. variants are de-duplicated: pairs are grouped by (variant key, variant key), keeping the best
   item pair of each group, so ten colours of one bag do not give ten copies of the same lesson;
4. pairs are ranked by score = co-count * PMI (frequent *and* associated) and taken greedily,
   each variant group in at most ``per_item_cap`` pairs (best-sellers cannot dominate), until
   ``max_pairs``;
5. anchor/positive orientation is random (seeded): the relation is symmetric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import Baskets
from core.text.variants import is_variant_pair, variant_key

PAIR_COLUMNS = ("anchor", "positive")
RANKINGS = ("score", "cocount", "pmi")
# rank_by="cocount"/"pmi" break ties with the other quantity, scaled so that it can never
# outweigh a difference of the main one (co-counts are integers, PMIs differ by far more than 1e-9)
_TIE_WEIGHT = {"cocount": 1e-6, "pmi": 1e-9}


def cooccurrence(baskets: Baskets) -> sp.csr_matrix:
    """Items x items co-count matrix (orders holding both), int64, zero diagonal."""
    x = baskets.matrix.astype(np.int64)
    c = (x.T @ x).tocsr()
    c.setdiag(0)
    c.eliminate_zeros()
    return c


def mine_pairs(baskets: Baskets, texts: pd.Series, *, min_cocount: int = 3,
               min_pmi: float = 0.0, per_item_cap: int = 8, max_pairs: int = 8192,
               rank_by: str = "score", seed: int = 0,
               names: pd.Series | None = None,
               co: sp.csr_matrix | None = None) -> pd.DataFrame:
    """Co-purchase pairs from ``baskets`` (training orders only) with item ``texts`` (a Series
    indexed by item_id; items without text are skipped). Variants are detected on ``names``
    (same index; default: ``texts``), the item names without the category that ``texts`` may
    add. ``co``: ``cooccurrence(baskets)`` when already counted (the Spark engine's counts,
    ``core.rules.copurchase``).

    ``rank_by``: "score" (co-count * PMI, the default), "cocount" or "pmi" orders the candidates
    before the cap and ``max_pairs`` apply. Returns one row per pair, best first, columns:
    anchor_id, positive_id, anchor, positive (texts), cocount, pmi, score."""
    if rank_by not in RANKINGS:
        raise ValueError(f"rank_by must be 'score', 'cocount' or 'pmi', not {rank_by!r}")
    cols = ["anchor_id", "positive_id", "anchor", "positive", "cocount", "pmi", "score"]
    if baskets.n_orders == 0 or baskets.n_items < 2:
        return pd.DataFrame(columns=cols)
    counts = baskets.item_counts().astype(np.float64)
    c = sp.triu(cooccurrence(baskets) if co is None else co, k=1).tocoo()
    keep = c.data >= max(1, min_cocount)
    i, j, n = c.row[keep], c.col[keep], c.data[keep].astype(np.float64)
    pmi = np.log(n * baskets.n_orders / (counts[i] * counts[j]))
    keep = pmi > min_pmi
    i, j, n, pmi = i[keep], j[keep], n[keep], pmi[keep]

    ids = np.asarray(baskets.item_ids, dtype=object)
    text_of = texts.reindex(pd.Index(ids.astype(str))).to_numpy(dtype=object)
    name_of = text_of
    if names is not None:  # an item without a name is compared by its text
        given = names.reindex(pd.Index(ids.astype(str))).to_numpy(dtype=object)
        name_of = np.array([n if isinstance(n, str) and n.strip() else t
                            for n, t in zip(given, text_of)], dtype=object)
    has_text = np.array([isinstance(t, str) and bool(t.strip()) for t in text_of])
    keep = has_text[i] & has_text[j]
    i, j, n, pmi = i[keep], j[keep], n[keep], pmi[keep]
    score = {"score": n * pmi, "cocount": n + pmi * _TIE_WEIGHT["cocount"],
             "pmi": pmi + n * _TIE_WEIGHT["pmi"]}[rank_by]
    order = np.lexsort((j, i, -score))  # best first; ties by item position: deterministic
    i, j, n, pmi, score = i[order], j[order], n[order], pmi[order], score[order]

    keys = {idx: variant_key(name_of[idx]) for idx in np.unique(np.concatenate([i, j]))}

    used: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    rows: list[int] = []
    for r, (a, b) in enumerate(zip(i.tolist(), j.tolist())):
        ka, kb = keys[a], keys[b]
        if is_variant_pair(name_of[a], name_of[b]):
            continue  # the same product in another colour/size: a substitute
        group = (ka, kb) if ka < kb else (kb, ka)
        if group in seen or used.get(ka, 0) >= per_item_cap or used.get(kb, 0) >= per_item_cap:
            continue
        seen.add(group)
        used[ka] = used.get(ka, 0) + 1
        used[kb] = used.get(kb, 0) + 1
        rows.append(r)
        if len(rows) >= max_pairs:
            break
    sel = np.asarray(rows, dtype=np.int64)
    a, b = i[sel], j[sel]
    flip = np.random.default_rng(seed).random(len(sel)) < 0.5  # a fair coin per pair
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    return pd.DataFrame({
        "anchor_id": ids[a].astype(str), "positive_id": ids[b].astype(str),
        "anchor": text_of[a].astype(str), "positive": text_of[b].astype(str),
        "cocount": n[sel].astype(np.int64), "pmi": pmi[sel], "score": score[sel],
    }, columns=cols)


def pairs_dataset(pairs: pd.DataFrame):
    """A ``datasets.Dataset`` with exactly the columns ("anchor", "positive"), in that order, as
    ``MultipleNegativesRankingLoss`` expects (it reads columns by position, not by name)."""
    from datasets import Dataset

    return Dataset.from_dict({"anchor": pairs["anchor"].astype(str).tolist(),
                              "positive": pairs["positive"].astype(str).tolist()})
