"""The text stage (docs/ARCHITECTURE.md §2, §5): item vectors from a sentence-transformer
fine-tuned on the shop's co-purchases, and variant detection.

Modules, each importing only those above it in this list:

- ``runtime``: the torch device and CPU threads the models run on, measured fixed costs;
- ``cjk``: Chinese text pieces (Han runs, brackets, shop codes, character bigrams; pure);
- ``variants``: is an item the same product as another in another colour/size (pure);
- ``texts``: the text of an item (name + category);
- ``engine``: encoders that are not sentence-transformers models (the multilingual one);
- ``adapter``: fine-tuning for those: a residual head trained on co-purchase pairs;
- ``encoder``: load the base or a fine-tuned model, batched encoding, the vector cache;
- ``language``: which encoder a catalog gets (the script of its names; the user's setting);
- ``pairs``: co-purchase training pairs (pure);
- ``params``: the fine-tuning settings;
- ``speed``: this machine's measured speed at encoding and training, on the data at hand;
- ``plan``: the fine-tuning plan that fits the budget, and the estimates;
- ``trainer``: one sentence-transformers training run;
- ``finetune``: the cached, recorded fine-tuning of a dataset's encoder;
- ``estimate``: a dataset's text stage predicted before it runs (``plan_text``);
- ``vectors``: item vectors of a dataset, ``LazyItemVectors`` and the ``embed`` command;
- ``similarity``: neighbours, neighbour tables and the 2-D map for the Item similarity page.

Importing this package loads no model and no torch. (The ``finetune`` function stays in
``core.text.finetune``: a package attribute of that name would hide the module.)
"""

from core.text.encoder import weights_problem
from core.text.estimate import TextEstimate, plan_text
from core.text.finetune import HOLDOUT_TAG, holdout_tag
from core.text.params import FinetuneParams, default_params
from core.text.texts import item_texts
from core.text.variants import (
    VARIANT_SIMILARITY,
    is_variant_pair,
    variant_flags,
    variant_key,
)
from core.text.vectors import LazyItemVectors, embed, item_vectors

__all__ = ["HOLDOUT_TAG", "holdout_tag", "VARIANT_SIMILARITY", "FinetuneParams", "LazyItemVectors",
           "TextEstimate", "default_params", "embed", "is_variant_pair", "item_texts",
           "item_vectors", "plan_text", "variant_flags", "variant_key", "weights_problem"]
