"""Root value of mutations: the mutations of every Shopify domain the sandbox serves."""

from __future__ import annotations

from hookyard_sandbox.resolvers.bulk_mutations import BulkOperationMutations
from hookyard_sandbox.resolvers.inventory_mutations import InventoryMutations
from hookyard_sandbox.resolvers.metafield_mutations import MetafieldMutations
from hookyard_sandbox.resolvers.theme_mutations import ThemeMutations


class MutationRoot(InventoryMutations, MetafieldMutations, BulkOperationMutations,
                   ThemeMutations):
    """Root value of mutations; every call is recorded in ``shop.mutations``."""
