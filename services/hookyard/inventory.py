"""Inventory sync: one Nhanh.vn product's absolute quantities per depot, set in Shopify.

Mapping: the product's ``code`` (else its id) is the Shopify SKU, resolved to an inventory item
through the API and cached per shop; depots map to locations through the shop's settings. An item
with no mapping ends ``succeeded`` with result ``skipped: no mapping`` and is counted.
"""

from __future__ import annotations

from typing import Any

from hookyard import keys, metrics
from hookyard.runtime import Runtime
from hookyard.shopify.operations import (
    InventoryQuantity,
    find_inventory_items_by_sku,
    set_inventory_quantities,
)
from hookyard.shopify_access import client_for, shop_of


def sync_inventory_item(runtime: Runtime, record: dict[str, Any]) -> dict[str, Any]:
    shop = shop_of(runtime, record)
    item = record["payload"]["item"]
    sku = str(item.get("code") or item["id"])
    locations = {
        depot: shop.depots[depot] for depot in (item.get("depots") or {}) if depot in shop.depots
    }
    if not locations:
        metrics.sync_items_total.labels("inventory", "skipped_no_mapping").inc()
        return {"skipped": "no mapping", "reason": "none of the item's depots maps to a location",
                "sku": sku}
    client = client_for(runtime, shop)
    cache = keys.shopify_cache(shop.id, "inventory-item")
    cached = runtime.state.hget(cache, sku)
    inventory_item = cached.decode() if cached else None
    if inventory_item is None:
        inventory_item = find_inventory_items_by_sku(client, [sku]).get(sku)
        if inventory_item is None:
            metrics.sync_items_total.labels("inventory", "skipped_no_mapping").inc()
            return {"skipped": "no mapping", "reason": f"no Shopify variant has SKU {sku!r}",
                    "sku": sku}
        runtime.state.hset(cache, sku, inventory_item)
    quantities = [
        InventoryQuantity(
            inventory_item_id=inventory_item,
            location_id=location,
            quantity=int(item["depots"][depot].get("available", 0)),
        )
        for depot, location in sorted(locations.items())
    ]
    set_inventory_quantities(
        client,
        quantities,
        idempotency_key=str(record["id"]),
        reference_document_uri=f"hookyard://jobs/{record['id']}",
    )
    metrics.sync_items_total.labels("inventory", "applied").inc()
    return {
        "sku": sku,
        "inventory_item": inventory_item,
        "applied": [{"location": q.location_id, "available": q.quantity} for q in quantities],
    }
