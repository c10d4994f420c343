"""A tiny sentence-transformer built in-process (random 1-layer BERT, word vocabulary) so tests
can train and encode in a second; the real bundled model is used in test_embeddings_real.py."""

from __future__ import annotations

import re
from pathlib import Path

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
