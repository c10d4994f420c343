"""Other shops' exports load with no mapping given: header synonyms (English and Chinese), no
order id (one customer on one day), a line total instead of a unit price, one row per unit, and
placeholders that are not products. Each test failed before these rules existed."""

from __future__ import annotations

import pytest

from core.ingest.load import IngestOptions, ingest
from core.ingest.mapping import match_columns
from core.workspace import Workspace
from tests.conftest import shared_file


@pytest.mark.parametrize("header, expected", [
    (["订单 ID", "产品 ID", "产品名称", "数量", "销售额", "子类别", "订单日期"],
     {"order_id": "订单 ID", "item_id": "产品 ID", "item_name": "产品名称", "quantity": "数量",
      "line_total": "销售额", "category": "子类别", "timestamp": "订单日期"}),
    (["id", "Goods"], {"order_id": "id", "item_name": "Goods"}),
    (["Order ID", "Product ID", "Product Name", "Sub-Category", "Sales", "Quantity", "Discount",
      "Profit"],
     {"order_id": "Order ID", "item_id": "Product ID", "item_name": "Product Name",
      "category": "Sub-Category", "line_total": "Sales", "quantity": "Quantity"}),
    (["Member_number", "Date", "itemDescription"],
     {"customer_id": "Member_number", "timestamp": "Date", "item_name": "itemDescription"}),
    (["单号", "菜品编号", "菜品名称", "类别"],
     {"order_id": "单号", "item_id": "菜品编号", "item_name": "菜品名称", "category": "类别"}),
])
def test_header_synonyms(header, expected):
    assert match_columns(header) == expected


def test_id_goods_basket_file(tmp_path):
    f = tmp_path / "baskets.csv"
    f.write_text("id,Goods\n1,milk\n1,bread\n2,milk\n2,butter\n")
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["orders"] == 2 and s["items"] == 3 and s["mapping"]["item_id"] == "Goods"


def test_no_order_id_one_customer_one_day(tmp_path):
    f = tmp_path / "member.csv"
    f.write_text("Member_number,Date,itemDescription\n"
                 "1808,21-07-2015,tropical fruit\n1808,21-07-2015,whole milk\n"
                 "1808,05-01-2015,whole milk\n2552,21-07-2015,yogurt\n,21-07-2015,soda\n")
    ws = Workspace(tmp_path / "ws")
    s = ingest(ws, f)
    assert s["mapping"]["order_id"] == "(customer + day)"
    assert s["orders"] == 3 and s["customers"] == 2
    assert s["dropped"] == {"missing_order_id": 1}  # no customer: no basket
    assert any("one customer" in w for w in s["warnings"])
    lines = ws.lines("member")
    assert lines.groupby("order_id")["item_id"].count().sort_values().tolist() == [1, 1, 2]


def test_line_total_gives_unit_price_and_weekday_dates(tmp_path):
    f = tmp_path / "pharmacy.csv"
    f.write_text("购药时间,社保卡号,商品编码,商品名称,销售数量,应收金额,实收金额\n"
                 "2018-01-01 星期五,*******528,236701,强力VC银翘片,6,82.8,69\n"
                 "2018-01-01 星期五,*******528,861464,复方利血平片,2,10,8\n"
                 "2018-01-02 星期六,*******528,236701,强力VC银翘片,1,14,12\n",
                 encoding="utf-8")
    ws = Workspace(tmp_path / "ws")
    s = ingest(ws, f)
    assert s["rows_kept"] == 3 and s["orders"] == 2 and s["date_min"] == "2018-01-01 00:00:00"
    assert s["mapping"]["line_total"] == "实收金额"
    prices = dict(zip(ws.lines("pharmacy")["line_no"], ws.lines("pharmacy")["unit_price"]))
    assert prices == {1: pytest.approx(11.5), 2: pytest.approx(4.0), 3: pytest.approx(12.0)}
    assert "强力VC银翘片" in set(ws.items("pharmacy")["item_name"])


def test_unit_price_wins_over_line_total(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("order,item,qty,price,amount\n1,a,2,3.0,5.0\n1,b,1,1.0,1.0\n")
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert "line_total" not in s["mapping"]
    assert set(Workspace(tmp_path / "ws").lines("o")["unit_price"]) == {3.0, 1.0}


def test_one_row_per_unit_is_counted_into_quantity(tmp_path):
    f = tmp_path / "bakery.csv"
    f.write_text("Date,Time,Transaction,Item\n"
                 "2016-10-30,09:58:11,1,Bread\n2016-10-30,10:05:34,2,Coffee\n"
                 "2016-10-30,10:05:34,2,Coffee\n2016-10-30,10:05:34,2,Pastry\n")
    ws = Workspace(tmp_path / "ws")
    s = ingest(ws, f)
    assert s["dropped"] == {"counted_as_quantity": 1}
    lines = ws.lines("bakery")
    assert dict(zip(lines["item_id"], lines["quantity"])) == {"Bread": 1, "Coffee": 2,
                                                              "Pastry": 1}


def test_duplicates_still_dropped_where_a_quantity_exists(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("order,item,qty\n1,a,1\n1,a,1\n1,b,2\n")
    s = ingest(Workspace(tmp_path / "ws"), f)
    assert s["dropped"] == {"duplicate_row": 1}


def test_placeholders_are_a_named_drop_reason_and_can_be_kept(tmp_path):
    f = tmp_path / "pos.csv"
    f.write_text("Transaction,Item\n1,Bread\n1,NONE\n2,Coffee\n2,n/a\n3,-\n3,Tea\n4,?\n4,Jam\n")
    ws = Workspace(tmp_path / "ws")
    s = ingest(ws, f)
    assert s["dropped"] == {"placeholder_item": 4}
    assert set(ws.items("pos")["item_id"]) == {"Bread", "Coffee", "Tea", "Jam"}
    ex = ws.dropped_examples("pos")
    assert set(ex["reason"]) == {"placeholder_item"} and len(ex) == 4
    kept = ingest(ws, f, dataset="pos_all", options=IngestOptions(drop_placeholders=False))
    assert kept["rows_kept"] == 8


CORPUS = [
    ("groceries", "groceries_long.csv.gz", 9835),
    ("groceries_member_date", "Groceries_dataset.csv.gz", 14963),
    ("pharmacy_cn", "sales.csv.gz", None),
    ("restaurant_cn", "meal_order_detail.csv.gz", None),
    ("superstore_us", "orders.csv.gz", None),
]


@pytest.mark.parametrize("folder, name, orders", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_file_loads_with_no_mapping(tmp_path, folder, name, orders):
    path = shared_file(folder, name)
    ws = Workspace(tmp_path / "ws")
    s = ingest(ws, path)
    assert s["rows_kept"] > 0.9 * s["rows_read"]
    if orders:
        assert s["orders"] == orders
    items = ws.items(s["dataset"])
    named = (items["item_name"] != items["item_id"]).mean()
    assert named > 0.9 or folder.startswith("groceries"), "bundles would read as ids"


def test_an_orders_table_with_a_person_name_is_not_order_lines(tmp_path):
    """``name`` in an orders table is a customer's name: never made into an item."""
    from core.errors import MappingError

    f = tmp_path / "meal_order_info.csv"
    f.write_text("order_id,emp_id,expenditure,phone,name\n417,1442,165,18688880641,苗宇怡\n"
                 "301,1095,321,18688880174,赵颖\n", encoding="utf-8")
    with pytest.raises(MappingError, match="no column that can be an item id"):
        ingest(Workspace(tmp_path / "ws"), f)


def test_amount_is_not_taken_for_a_line_total(tmp_path):
    """A restaurant's ``amounts`` is the dish's unit price; an ambiguous "amount" maps nothing."""
    assert "line_total" not in match_columns(["order_id", "dishes_id", "counts", "amounts"])
