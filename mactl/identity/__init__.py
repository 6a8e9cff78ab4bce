"""Identity stage: normalise contact fields, match records, cluster into people with stable ids and golden records."""

from mactl.identity.merge import IdentityRecipe, MergeSummary, load_identity_recipe, merge

__all__ = ["IdentityRecipe", "MergeSummary", "load_identity_recipe", "merge"]
