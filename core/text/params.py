"""Fine-tuning settings (docs/ARCHITECTURE.md §5, §8): one frozen dataclass, validated on
creation; its fields are part of a saved encoder's cache key."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import finetune_overrides
from core.errors import BundleLabError
from core.text.pairs import RANKINGS

# MultipleNegativesRankingLoss uses the other pairs of a batch as negatives: one pair is no lesson
MIN_PAIRS = 2


@dataclass(frozen=True)
class FinetuneParams:
    """Fine-tuning settings (they are part of the saved model's cache key).

    Defaults finish within ~3 minutes on full UCI Online Retail on 2 CPU cores: at most
    ``max_pairs`` pairs, ``epochs`` passes, stopped after ``seconds`` of training whatever is left.
    They were chosen on UCI Online Retail (cut 2011-09-01, see the embeddings evaluation): several
    passes over the strongest 1,536 pairs beat one pass over more, weaker pairs (which also hurt
    new items), and 2e-4 beat 5e-5 at this small number of steps.
    """

    epochs: int = 4
    max_pairs: int = 1536
    seconds: float = 150.0
    batch_size: int = 64  # each anchor is ranked against the other 63 positives of its batch
    min_cocount: int = 3  # bought together in fewer orders is too often chance
    per_item_cap: int = 8  # pairs per variant group: best-sellers cannot fill the pair budget
    min_pmi: float = 0.0  # PMI > 0: bought together more often than chance (lift > 1)
    pair_rank: str = "score"
    learning_rate: float = 2e-4
    warmup: float = 0.1  # share of the steps with a rising learning rate
    max_seq_length: int = 64  # word pieces; item names (+ category) are far shorter
    symmetric: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [("epochs", self.epochs >= 1), ("max_pairs", self.max_pairs >= MIN_PAIRS),
                  ("seconds", self.seconds > 0), ("batch_size", self.batch_size >= 2),
                  ("min_cocount", self.min_cocount >= 1), ("per_item_cap", self.per_item_cap >= 1),
                  ("pair_rank", self.pair_rank in RANKINGS)]
        bad = ", ".join(f"{name}={getattr(self, name)!r}" for name, ok in checks if not ok)
        if bad:
            raise BundleLabError(
                f"fine-tuning setting(s) out of range: {bad} (epochs >= 1, max_pairs >= 2, "
                "seconds > 0, batch_size >= 2, min_cocount >= 1, per_item_cap >= 1, pair_rank "
                "one of 'score', 'cocount', 'pmi')")


def default_params() -> FinetuneParams:
    """``FinetuneParams()`` with the budget overrides of the environment applied
    (``BUNDLELAB_FINETUNE_SECONDS`` / ``BUNDLELAB_FINETUNE_PAIRS``, see ``core.config``), so every
    caller that leaves the settings out shares one cached model."""
    return FinetuneParams(**finetune_overrides())
