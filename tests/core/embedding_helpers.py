"""Helpers for the embedding tests: a tiny sentence-transformer built in-process (random 1-layer
BERT, word vocabulary) so tests train and encode in seconds (the real bundled model is used in
test_embeddings_real.py), and a small synthetic shop with a known co-purchase structure."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ITEMS = {  # item_id: (name, category)
    "10001": ("PAPER PLATES", "party"), "10002": ("PAPER NAPKINS", "party"),
    "10003": ("PAPER CUPS", "party"), "10004": ("TEA CUP AND SAUCER", "kitchen"),
    "10005": ("CAKE TIN", "kitchen"), "10006": ("HERB MARKER BASIL", "garden"),
    "10007": ("GARDEN BASKET", "garden"), "10008": ("LUNCH BAG RED RETROSPOT", "bags"),
    "10009": ("JUMBO BAG", "bags"), "10010": ("CHRISTMAS TREE STAR", "christmas"),
    "10011": ("CHRISTMAS BELL BUNTING", "christmas"), "10012": ("GLASS JAR", "kitchen"),
}
# January (before the cut 2011-02-01) and March: the christmas items sell only in March (cold).
TRAIN_ORDERS = ([["10001", "10002", "10003"]] * 4 + [["10004", "10005"]] * 3 +
                [["10006", "10007"]] * 3 + [["10008", "10009"]] * 3 + [["10012"]] * 4 +
                [["10001", "10012"], ["10004", "10009"]])
TEST_ORDERS = ([["10001", "10002"]] * 2 + [["10004", "10005", "10012"]] +
               [["10010", "10011"]] * 2 + [["10006", "10007", "10003"]])
CUT = "2011-02-01"


def write_orders(path: Path, train=TRAIN_ORDERS, test=TEST_ORDERS) -> Path:
    """Order lines as a CSV (order_id, item_id, item_name, category, quantity, unit_price,
    customer_id, timestamp): ``train`` orders in January 2011, ``test`` orders in March."""
    rows = []
    for n, (orders, month) in enumerate(((train, 1), (test, 3))):
        for i, order in enumerate(orders):
            for item in order:
                name, cat = ITEMS[item]
                rows.append({"order_id": f"{n}{i:04d}", "item_id": item, "item_name": name,
                             "category": cat, "quantity": 1, "unit_price": 2.5,
                             "customer_id": f"c{i % 5}",
                             "timestamp": f"2011-{month:02d}-{1 + i % 27:02d} 10:00:00"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# A small Chinese restaurant (issue 15): dishes bought together in January, tested in March.
DISHES = {"d1": "宫保鸡丁", "d2": "白米饭", "d3": "麻婆豆腐", "d4": "凉拌黄瓜", "d5": "青岛啤酒",
          "d6": "花生米", "d7": "酸梅汤", "d8": "红糖糍粑", "d9": "水煮鱼", "d10": "可乐"}
DISH_TRAIN = ([["d1", "d2"]] * 4 + [["d3", "d2"]] * 3 + [["d5", "d6"]] * 4 + [["d9", "d4"]] * 3
              + [["d8", "d7"]] * 3 + [["d10"]] * 2)
DISH_TEST = [["d1", "d2"], ["d5", "d6"], ["d9", "d4", "d2"]]
DISH_CUT = "2016-02-01"


def write_dish_orders(path: Path) -> Path:
    """The Chinese restaurant's order lines as a CSV (same columns as ``write_orders``)."""
    rows = []
    for n, (orders, month) in enumerate(((DISH_TRAIN, 1), (DISH_TEST, 3))):
        for i, order in enumerate(orders):
            for item in order:
                rows.append({"order_id": f"{n}{i:03d}", "item_id": item, "item_name": DISHES[item],
                             "quantity": 1, "unit_price": 12.0, "customer_id": f"c{i % 4}",
                             "timestamp": f"2016-{month:02d}-{1 + i % 27:02d} 12:00:00"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def tiny_words() -> tuple[str, ...]:
    return tuple(n for n, _ in ITEMS.values()) + tuple(c for _, c in ITEMS.values())

WORDS = """
red pink blue green white black lunch bag box jumbo retrospot polkadot tea cup saucer set cake
tin candle holder heart light garland paper plates cups napkins spoon mug coaster card wrap gift
herb marker mint basil thyme rosemary parsley kitchen garden picnic basket storage christmas
tree star bell bunting party jar glass bottle new product sweet home vintage doll house toy
""".split()


def make_tiny_encoder(path: Path, *, extra_words: tuple[str, ...] = (), seed: int = 0) -> Path:
    """Save a tiny sentence-transformer (hidden size 32, one layer, mean pooling) to ``path``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    raw = path / "_raw"
    raw.mkdir(parents=True, exist_ok=True)
    words = sorted(set(WORDS) | {w for x in extra_words for w in re.findall(r"[a-z]+", x.lower())})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    (raw / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(raw / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(raw))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(raw))
    transformer = Transformer(str(raw), max_seq_length=32)
    pooling = Pooling(transformer.get_embedding_dimension(), "mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    out = path / "tiny-encoder"
    model.save(str(out), create_model_card=False)
    return out
