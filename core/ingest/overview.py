"""Dataset overview for the home page: computed in DuckDB, returned as small DataFrames."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.ingest.cleaning import REASON_TEXT
from core.workspace import Workspace


def overview(ws: Workspace, dataset: str | None = None, *, top: int = 15) -> dict[str, Any]:
    """``summary`` (the ingest JSON), ``orders_by_week`` (week, orders, revenue),
    ``basket_sizes`` (n_items, orders), ``top_items`` (item_id, item_name, orders, revenue),
    ``customers`` (orders_per_customer, customers), ``dropped`` (reason, meaning, rows),
    ``has_prices`` (any kept line has a unit price: revenue means something)."""
    name = ws.resolve(dataset)
    info = ws.info(name)
    with ws.connect(read_only=True) as con:
        def q(sql: str) -> pd.DataFrame:
            return con.execute(sql, [name]).df()

        weeks = q("""SELECT date_trunc('week', ts) AS week, count(DISTINCT order_id) AS orders,
                     sum(quantity * coalesce(unit_price, 0)) AS revenue
                     FROM (SELECT order_id, quantity, unit_price, min("timestamp") OVER
                           (PARTITION BY order_id) AS ts FROM lines WHERE dataset = ?)
                     WHERE ts IS NOT NULL GROUP BY 1 ORDER BY 1""")
        sizes = q("""SELECT n_items, count(*) AS orders FROM (SELECT order_id,
                     count(DISTINCT item_id) AS n_items FROM lines WHERE dataset = ?
                     GROUP BY order_id) GROUP BY 1 ORDER BY 1""")
        top_items = q(f"""SELECT l.item_id, any_value(i.item_name) AS item_name,
                     count(DISTINCT l.order_id) AS orders,
                     sum(l.quantity * coalesce(l.unit_price, 0)) AS revenue
                     FROM lines l JOIN items i ON i.dataset = l.dataset AND i.item_id = l.item_id
                     WHERE l.dataset = ? GROUP BY l.item_id ORDER BY orders DESC, l.item_id
                     LIMIT {int(top)}""")
        customers = q("""SELECT orders_per_customer, count(*) AS customers FROM (
                     SELECT customer_id, count(DISTINCT order_id) AS orders_per_customer
                     FROM lines WHERE dataset = ? AND customer_id IS NOT NULL
                     GROUP BY customer_id) GROUP BY 1 ORDER BY 1""")
        priced = con.execute("SELECT count(unit_price) > 0 FROM lines WHERE dataset = ?",
                             [name]).fetchone()[0]
    dropped = pd.DataFrame(
        [(r, REASON_TEXT.get(r, r), n) for r, n in info["dropped"].items()],
        columns=["reason", "meaning", "rows"])
    return {"summary": info, "orders_by_week": weeks, "basket_sizes": sizes,
            "top_items": top_items, "customers": customers, "dropped": dropped,
            "has_prices": bool(priced)}
