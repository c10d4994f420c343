"""The bundle table: each chosen bundle described (name, evidence, price, explanation, the
customers to show it to) and the variant candidates that were left out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.bundles.candidates import BundleInputs, Candidates
from core.bundles.naming import bundle_names, explanation, shared_topic_words
from core.bundles.params import BundleParams
from core.bundles.pricing import bundle_price
from core.topk import top_k


def _target_customers(inp: BundleInputs, sets: list[tuple[int, ...]], k: int) -> list[list[str]]:
    """The customers most likely to take each bundle: by the trained recommender's summed scores
    of its items when there is one, else those who bought part of the bundle but not all of it
    (most bundle items first, then most orders). Customers who bought every item are left out."""
    if inp.customers is None or k <= 0:
        return [[] for _ in sets]
    if inp.customer_scores is not None and sets:
        cols = np.unique(np.concatenate([np.asarray(s) for s in sets]))
        ids, scores = inp.customer_scores(cols)
        pos = {c: j for j, c in enumerate(cols)}
        owned = _owners(inp, sets)
        out = []
        for s, own in zip(sets, owned):
            total = scores[:, [pos[x] for x in s]].sum(axis=1)
            order = np.argsort(-total, kind="stable")
            out.append([str(ids[u]) for u in order if ids[u] not in own][:k])
        return out
    csc = inp.baskets.matrix.tocsc()
    cust = np.asarray(inp.customers, dtype=object)
    valid = pd.notna(cust)
    orders_per = pd.Series(cust[valid]).value_counts()
    out = []
    for s in sets:
        per_item = [csc.indices[csc.indptr[x]:csc.indptr[x + 1]] for x in s]
        rows = np.concatenate(per_item)
        pos = np.repeat(np.arange(len(s)), [len(r) for r in per_item])
        m = valid[rows]
        df = pd.DataFrame({"c": cust[rows[m]], "i": pos[m]})
        held = df.drop_duplicates().groupby("c")["i"].nunique()
        held = held[held < len(s)]
        rank = pd.DataFrame({"held": held, "orders": orders_per.reindex(held.index).fillna(0)})
        rank = rank.sort_values(["held", "orders"], ascending=False, kind="stable")
        out.append([str(x) for x in rank.index[:k]])
    return out


def _owners(inp: BundleInputs, sets: list[tuple[int, ...]]) -> list[set]:
    """Customers who already bought every item of each bundle."""
    csc = inp.baskets.matrix.tocsc()
    cust = np.asarray(inp.customers, dtype=object)
    out = []
    for s in sets:
        per_item = [set(cust[csc.indices[csc.indptr[x]:csc.indptr[x + 1]]]) for x in s]
        out.append(set.intersection(*per_item) - {None} if per_item else set())
    return out


FILLED = (" Weaker evidence: fewer than {floor} orders together, the list's floor; listed after "
          "the bundles that pass it to fill the list.")


def describe_bundles(inp: BundleInputs, c: Candidates, picks: list[int], gains: list[float],
              score: np.ndarray, p: BundleParams, total_weight: float,
              cold_joins: dict[int, tuple[int, float, int]], *,
              floor: int = 0, n_own: int | None = None) -> pd.DataFrame:
    """The bundle table (columns: ``BundleResult``) of the chosen candidates ``picks`` in pick
    order, with the cold-start item each may have gained (``select.attach_cold``). A bundle
    bought together in fewer than ``floor`` orders filled a short list (``fill_list`` of
    ``core.bundles.build``): its explanation says so; ``n_own``: how many of the picks are the
    list's own (the rest a fill, whose names never change the own bundles' names)."""
    items = inp.items.reset_index(drop=True)
    ids = items["item_id"].astype(str).to_numpy()
    names = items["item_name"].astype(str).to_numpy()
    price = pd.to_numeric(items.get("price"), errors="coerce").to_numpy(dtype=float)
    cost = pd.to_numeric(items.get("cost"), errors="coerce").to_numpy(dtype=float) \
        if "cost" in items else np.full(len(ids), np.nan)
    counts = inp.baskets.item_counts()
    sets = [c.sets[i] + ((cold_joins[k][0],) if k in cold_joins else ())
            for k, i in enumerate(picks)]
    targets = _target_customers(inp, sets, p.n_customers)
    # text counted in every bundle's score (a text weight, vectors present), or only in those it
    # found; the explanation mentions similarity only where text was used
    text_weighted = inp.vectors is not None and (
        p.strategy == "similarity" or (p.strategy == "hybrid" and p.w_text > 0))
    rows = []
    cum = 0.0
    for rank, (i, gain, s, tgt) in enumerate(zip(picks, gains, sets, targets), start=1):
        join = cold_joins.get(rank - 1)
        s = sorted(s, key=lambda x: -counts[x])
        nm = [names[x] for x in s]
        prov = [k for k, f in (("rules", c.from_rules), ("text", c.from_text),
                               ("recommender", c.from_rec)) if f[i]]
        if join and "text" not in prov:
            prov.append("text")
        lp = float(np.nansum(price[s])) if not np.isnan(price[s]).all() else float("nan")
        cost_sum = float(np.sum(cost[s])) if not np.isnan(cost[s]).any() else None
        bp, note = bundle_price(lp, discount=p.discount, cost=cost_sum, min_margin=p.min_margin)
        cold_items = [x for x in s if counts[x] <= p.cold_max_orders]
        cold_name = names[cold_items[0]] if cold_items else None
        proven = [join[2]] if join else [x for x in s if x not in cold_items]
        sim = float(c.similarity[i]) if not join else join[1]
        text_used = text_weighted or "text" in prov
        cum += gain
        rows.append({
            "bundle_id": f"B{rank:03d}", "name": "",
            "items": [ids[x] for x in s], "item_names": nm, "size": len(s),
            "orders_together": int(c.orders[i]), "confidence": float(c.confidence[i]),
            "lift": float(c.lift[i]), "similarity": sim,
            "affinity": float(c.affinity[i]), "score": float(score[i]),
            "provenance": "+".join(prov) or "rules",
            "explanation": explanation(
                orders_together=int(c.orders[i]), lift=float(c.lift[i]),
                confidence=float(c.confidence[i]), anchor=names[s[-1]],
                similarity=sim if text_used else 0.0, shared_words=shared_topic_words(nm),
                provenance=prov, cold_item=cold_name,
                proven_item=names[proven[0]] if proven and cold_name else None)
            + (FILLED.format(floor=floor) if p.fill_min_orders and p.strategy != "similarity"
               and 0 < c.orders[i] < floor else ""),
            "list_price": round(lp, 2) if math.isfinite(lp) else None,
            "bundle_price": bp if math.isfinite(bp) else None, "price_note": note,
            "margin": round(bp - cost_sum, 2) if cost_sum is not None and math.isfinite(bp) else None,
            "target_customers": tgt, "cold_start": bool(cold_items), "variant": bool(c.variant[i]),
            "coverage_gain": gain / total_weight if total_weight else 0.0,
            "cumulative_coverage": cum / total_weight if total_weight else 0.0,
        })
    # names distinct within the list (``naming.bundle_names``)
    names = bundle_names([r["item_names"] for r in rows], item_ids=[r["items"] for r in rows])
    if n_own is not None and 0 < n_own < len(rows):  # the own bundles named among themselves
        own = rows[:n_own]
        own_names = bundle_names([r["item_names"] for r in own],
                                 item_ids=[r["items"] for r in own])
        if not set(own_names) & set(names[n_own:]):  # names stay distinct in the list
            names[:n_own] = own_names
    for row, nm in zip(rows, names):
        row["name"] = nm
    cols = ["bundle_id", "name", "items", "item_names", "size", "orders_together", "confidence",
            "lift", "similarity", "affinity", "score", "provenance", "explanation", "list_price",
            "bundle_price", "price_note", "margin", "target_customers", "cold_start", "variant",
            "coverage_gain", "cumulative_coverage"]
    return pd.DataFrame(rows, columns=cols)


def flagged_variants(inp: BundleInputs, c: Candidates, idx: np.ndarray,
                     limit: int = 50) -> pd.DataFrame:
    """The variant candidates ``idx`` left out of the list, most orders first (at most
    ``limit``): items, item_names, orders_together, lift, similarity."""
    names = inp.items["item_name"].astype(str).to_numpy()
    ids = inp.items["item_id"].astype(str).to_numpy()
    idx = idx[top_k(c.orders[idx], limit)]
    return pd.DataFrame({"items": [[ids[x] for x in c.sets[i]] for i in idx],
                         "item_names": [[names[x] for x in c.sets[i]] for i in idx],
                         "orders_together": c.orders[idx].astype(int),
                         "lift": c.lift[idx], "similarity": c.similarity[idx]})
