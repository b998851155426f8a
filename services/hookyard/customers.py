"""Customer sync: a Nhanh.vn customer's total spent, stored in a Shopify customer metafield.

The Shopify customer is found by mobile, then email, and cached per shop under the Nhanh id.
A customer Shopify does not know ends ``succeeded`` with result ``skipped: no mapping``.
"""

from __future__ import annotations

from typing import Any

from hookyard import keys, metrics
from hookyard.runtime import Runtime
from hookyard.shopify.operations import MetafieldInput, find_customers, set_metafields
from hookyard.shopify_access import client_for, shop_of


def sync_customer(runtime: Runtime, record: dict[str, Any]) -> dict[str, Any]:
    shop = shop_of(runtime, record)
    customer = record["payload"]["item"]
    nhanh_id = str(customer["id"])
    client = client_for(runtime, shop)
    cache = keys.shopify_cache(shop.id, "customer")
    cached = runtime.state.hget(cache, nhanh_id)
    shopify_id = cached.decode() if cached else None
    if shopify_id is None:
        phones = [str(customer["mobile"])] if customer.get("mobile") else []
        emails = [str(customer["email"])] if customer.get("email") else []
        matches = find_customers(client, phones=phones, emails=emails, first=2)
        if not matches:
            metrics.sync_items_total.labels("customer", "skipped_no_mapping").inc()
            return {"skipped": "no mapping", "reason": "no Shopify customer with that mobile or "
                    "email", "nhanh_id": nhanh_id}
        shopify_id = str(matches[0]["id"])
        runtime.state.hset(cache, nhanh_id, shopify_id)
    value = str(customer["totalSpent"])
    set_metafields(client, [MetafieldInput(owner_id=shopify_id,
                                           namespace=runtime.settings.customer_metafield_namespace,
                                           key=runtime.settings.customer_metafield_key,
                                           value=value,
                                           type="number_decimal")])
    metrics.sync_items_total.labels("customer", "applied").inc()
    return {"nhanh_id": nhanh_id, "customer": shopify_id, "total_spent": value}
