"""The workload: the shop the sandbox starts with (60 SKUs, 30 customers) and the webhooks
sent to ingest, each with a unique value and owned by one sender, so the ledger alone knows
every entity's newest value. Names SKUs and customers, and reads what Shopify holds of them,
for the oracle and the outage too."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

from hookyard.base.settings import Settings
from hookyard_sandbox.client import SandboxClient
from tests.chaos.config import ChaosConfig
from tests.chaos.ledger import Webhook
from tests.support.nhanh_payloads import BUSINESS_ID, DEPOT, LOCATION, TOKEN, product_id
from tests.support.platform_support import SHOPIFY_TOKEN


def sku_name(i: int) -> str:
    return f"CH-{i:03d}"


def customer_id(i: int) -> str:
    return f"C{i:03d}"


def customer_mobile(i: int) -> str:
    return f"09{i:08d}"


def shopify_values(inventory: Sequence[dict[str, Any]], customers: Sequence[dict[str, Any]],
                   metafield: tuple[str, str]) -> dict[str, str | None]:
    """What Shopify holds per entity, from the sandbox's inventory and customers: a SKU's
    ``available`` at the run's location, a customer's ``metafield`` (namespace, key) value
    (None when unset), keyed by SKU and by Nhanh customer id (the number in its email)."""
    values: dict[str, str | None] = {row["sku"]: str(row["available"]) for row in inventory
                                     if row["locationId"] == LOCATION}
    for customer in customers:
        held = [m["value"] for m in customer["metafields"]
                if (m["namespace"], m["key"]) == metafield]
        values[customer_id_of(customer)] = held[0] if held else None
    return values


def metafield(settings: Settings) -> tuple[str, str]:
    """The (namespace, key) of the customer metafield customer sync writes."""
    return settings.customer_metafield_namespace, settings.customer_metafield_key


def customer_id_of(customer: dict[str, Any]) -> str:
    """The Nhanh customer id of a sandbox customer (seeded as c<i>@example.vn)."""
    return customer_id(int(customer["email"][1:].split("@")[0]))


def seed_shop(sandbox: SandboxClient, config: ChaosConfig) -> None:
    sandbox.create_shop({
        "id": "acme", "token": SHOPIFY_TOKEN, "domain": "acme.myshopify.com",
        "plan": "standard",
        "locations": [{"id": LOCATION, "name": "Main"}],
        "products": [{"title": "Chaos", "variants": [
            {"sku": sku_name(i), "inventory": {"Main": 0}} for i in range(config.skus)]}],
        "customers": [{"email": f"c{i}@example.vn", "phone": "+84" + customer_mobile(i)[1:],
                       "firstName": f"Khách {i}"} for i in range(config.customers)],
        "themes": [],
    })
    # Serve even when the bucket is short, and count it: Hookyard must pace itself.
    sandbox.set_faults("acme", enforce_throttle=False)


def make_webhooks(config: ChaosConfig, rng: random.Random) -> list[Webhook]:
    """Webhook i is sent by sender i % senders, which owns a disjoint share of the SKUs and
    customers: so the ledger alone knows each entity's newest accepted value (the last one its
    sender got a 200 for). Every value is unique (i + 1): each body is distinct, and a value in
    Shopify names the webhook it came from."""
    webhooks = []
    for i in range(config.webhooks):
        sender = i % config.senders
        value = i + 1
        if rng.random() < 0.6:
            own = [sku_name(s) for s in range(config.skus) if s % config.senders == sender]
            skus = rng.sample(own, min(len(own), rng.randint(1, 3)))
            data = {str(product_id(sku)): {
                "id": product_id(sku), "code": sku, "available": value, "remain": value,
                "depots": {DEPOT: {"available": value, "remain": value}}} for sku in skus}
            values = dict.fromkeys(skus, value)
            kind, event = "inventory", "inventoryChange"
        else:
            own_c = [c for c in range(config.customers) if c % config.senders == sender]
            chosen = rng.sample(own_c, min(len(own_c), rng.randint(1, 2)))
            data = [{"id": customer_id(c), "totalSpent": value, "mobile": customer_mobile(c)}
                    for c in chosen]
            values = {customer_id(c): value for c in chosen}
            kind, event = "customer", "customerUpdate"
        document = {"event": event, "businessId": BUSINESS_ID, "data": data,
                    "webhooksVerifyToken": TOKEN}
        body = json.dumps(document, ensure_ascii=False).encode()
        webhooks.append(Webhook(id=i, kind=kind, values=values, body=body, sender=sender))
    return webhooks
