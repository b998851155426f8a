"""Inventory operations: absolute quantities set in one idempotent mutation, and inventory items
looked up by SKU.

Shapes follow the Admin API 2026-04 and later: ``inventorySetQuantities`` takes
``changeFromQuantity`` on every quantity (``None`` = no compare-and-swap; ``ignoreCompareQuantity``
is gone) and requires an ``@idempotent(key:)`` directive on the mutation field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.shopify.operations.calls import (
    MAX_PAGE_SIZE,
    MUTATION_COST,
    Executor,
    connection_cost,
    raise_for_user_errors,
    search_term,
)

MAX_INVENTORY_QUANTITIES = 250
SKUS_PER_LOOKUP = 50
"""SKUs per ``productVariants`` lookup: the page holds two variants per SKU (cost 2 + 2 x 100)."""

INVENTORY_SET_QUANTITIES = """
mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      id
      reason
      referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}
"""


@dataclass(frozen=True)
class InventoryQuantity:
    """One absolute quantity to set; ``change_from`` None skips Shopify's compare-and-swap."""

    inventory_item_id: str
    location_id: str
    quantity: int
    change_from: int | None = None

    def as_input(self) -> dict[str, Any]:
        return {
            "inventoryItemId": self.inventory_item_id,
            "locationId": self.location_id,
            "quantity": self.quantity,
            "changeFromQuantity": self.change_from,
        }


def set_inventory_quantities(
    client: Executor,
    quantities: Sequence[InventoryQuantity],
    *,
    idempotency_key: str,
    reference_document_uri: str,
    reason: str = "correction",
    name: str = "available",
) -> dict[str, Any] | None:
    """Set absolute ``name`` quantities (at most 250) in one atomic, idempotent mutation.

    Returns the ``inventoryAdjustmentGroup`` (None when nothing changed). The same
    ``idempotency_key`` with the same quantities is applied once however often it is sent; reuse
    it for retries of one logical write only.
    """
    if not quantities:
        raise ValueError("set_inventory_quantities needs at least one quantity")
    if len(quantities) > MAX_INVENTORY_QUANTITIES:
        raise ValueError(
            f"{len(quantities)} quantities; Shopify accepts at most {MAX_INVENTORY_QUANTITIES}"
        )
    if not idempotency_key:
        raise ValueError("inventorySetQuantities requires an idempotency key")
    variables = {
        "idempotencyKey": idempotency_key,
        "input": {
            "name": name,
            "reason": reason,
            "referenceDocumentUri": reference_document_uri,
            "quantities": [q.as_input() for q in quantities],
        },
    }
    data = client.execute(INVENTORY_SET_QUANTITIES, variables, estimated_cost=MUTATION_COST)
    payload = data["inventorySetQuantities"] or {}
    raise_for_user_errors("inventorySetQuantities", payload.get("userErrors"))
    group: dict[str, Any] | None = payload.get("inventoryAdjustmentGroup")
    return group


INVENTORY_ITEMS_BY_SKU = """
query InventoryItemsBySku($first: Int!, $query: String!) {
  productVariants(first: $first, query: $query) {
    edges { node { id sku inventoryItem { id } } }
  }
}
"""


def find_inventory_items_by_sku(client: Executor, skus: Sequence[str]) -> dict[str, str]:
    """Map each SKU to its variant's inventory item GID (SKUs Shopify does not know are absent).

    Looks up ``SKUS_PER_LOOKUP`` SKUs per call; only exact SKU matches count (Shopify's search
    is not exact). A SKU on several variants maps to the first one found.
    """
    wanted = list(dict.fromkeys(s for s in skus if s))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), SKUS_PER_LOOKUP):
        chunk = wanted[start:start + SKUS_PER_LOOKUP]
        first = min(MAX_PAGE_SIZE, 2 * len(chunk))
        query = " OR ".join(search_term("sku", sku) for sku in chunk)
        data = client.execute(
            INVENTORY_ITEMS_BY_SKU,
            {"first": first, "query": query},
            estimated_cost=connection_cost(first, 2),
        )
        chunk_set = set(chunk)
        for edge in data["productVariants"]["edges"]:
            node = edge["node"]
            sku = node.get("sku")
            if sku in chunk_set and sku not in found and node.get("inventoryItem"):
                found[sku] = node["inventoryItem"]["id"]
    return found
