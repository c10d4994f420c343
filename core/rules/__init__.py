"""Rules: a dataset's baskets -> exact frequent itemsets -> association rules with mlxtend's
metrics (support, confidence, lift, leverage, conviction, ...), filtered by thresholds, items,
redundancy and a Fisher significance test.

``mine`` mines a workspace dataset (cached per dataset version and setting, recorded as a
``rules`` run) and returns a ``RulesResult``; ``mine_dataset_itemsets`` gives its itemsets alone.
``frequent_itemsets`` and ``association_rules`` work on any ``Baskets``/``Itemsets``.
"""

from core.rules.association import RuleParams, association_rules, explain_no_rules
from core.rules.itemsets import Itemsets, MiningParams, frequent_itemsets
from core.rules.mining import RulesResult, mine, mine_dataset_itemsets

__all__ = ["Itemsets", "MiningParams", "RuleParams", "RulesResult", "association_rules",
           "explain_no_rules", "frequent_itemsets", "mine", "mine_dataset_itemsets"]
