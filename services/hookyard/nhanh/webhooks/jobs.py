"""A parsed delivery as Hookyard jobs: one per product, or one per customer whose total moved.

Inventory and ``customerUpdate`` items carry their values: one job each, the item as the payload.
Order events carry no total: each customer they name (directly, or through the order's
remembered customer for a deletion) gets one job that reads the customer's current total from
Nhanh's customer API when it runs (``hookyard.sync.customers``). Those jobs wait
``read_delay_ms`` before they run, so a burst of orders of one customer is claimed by one batch
and costs one read (``hookyard.sync.batching`` claims every pending job of the shop, due or not).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from hookyard.base.queues import (
    CUSTOMER_KIND,
    INVENTORY_KIND,
    SYNC_CUSTOMER,
    SYNC_INVENTORY_ITEM,
)
from hookyard.base.shops import ShopConfig
from hookyard.jobs.records import NewJob
from hookyard.nhanh.order_customers import OrderCustomers
from hookyard.nhanh.webhooks.envelope import CUSTOMER_EVENT, INVENTORY_EVENT, SOURCE, Webhook
from hookyard.nhanh.webhooks.orders import ORDER_DELETE

READ_TOTAL = "read_total_from_nhanh"
"""Payload flag of a customer job that reads the total from Nhanh instead of carrying it."""


def customers_of_orders(webhook: Webhook, orders: OrderCustomers) -> dict[str, list[str]]:
    """Customer id -> the order ids of ``webhook`` that are theirs; remembers the customer of
    every order the event names one for, and recalls it for the others."""
    named = [(c.order_id, c.customer_id) for c in webhook.orders if c.customer_id]
    if named and webhook.event != ORDER_DELETE:
        orders.remember(named)
    unnamed = [c.order_id for c in webhook.orders if not c.customer_id]
    owners = dict(named) | orders.recall(unnamed)
    customers: dict[str, list[str]] = {}
    for change in webhook.orders:
        owner = owners.get(change.order_id)
        if owner:
            customers.setdefault(owner, []).append(change.order_id)
    return customers


def jobs_for(webhook: Webhook, shop: ShopConfig, *, body_sha256: str, received_at: str,
             order_customers: Mapping[str, list[str]] | None = None,
             read_delay_ms: int = 0) -> list[NewJob]:
    """The delivery's jobs; none for an event Hookyard does not sync (or orders of nobody)."""
    source_event = {"source": SOURCE, "event": webhook.event, "business_id": webhook.business_id,
                    "version": webhook.version, "body_sha256": body_sha256,
                    "received_at": received_at}
    common: dict[str, Any] = {"event": webhook.event, "business_id": webhook.business_id}
    if webhook.event == INVENTORY_EVENT:
        return [NewJob(queue=SYNC_INVENTORY_ITEM.queue, actor=SYNC_INVENTORY_ITEM.name,
                       shop=shop.id, entity=f"product:{item['id']}",
                       payload={**common, "index": index, "item": item},
                       source_event=source_event, batch_kind=INVENTORY_KIND,
                       coalesce_fields=tuple(f"{item['id']}@{depot}"
                                             for depot in sorted(item.get("depots") or {})))
                for index, item in enumerate(webhook.items)]
    if webhook.event == CUSTOMER_EVENT:
        return [_customer_job(shop, item, {**common, "index": index, "item": item},
                              source_event, 0)
                for index, item in enumerate(webhook.items)]
    return [_customer_job(shop, {"id": customer},
                          {**common, "index": index, READ_TOTAL: True,
                           "item": {"id": customer, "orders": order_ids}},
                          source_event, read_delay_ms)
            for index, (customer, order_ids) in enumerate(sorted((order_customers or {}).items()))]


def _customer_job(shop: ShopConfig, item: Mapping[str, Any], payload: dict[str, Any],
                  source_event: dict[str, Any], delay_ms: int) -> NewJob:
    return NewJob(queue=SYNC_CUSTOMER.queue, actor=SYNC_CUSTOMER.name, shop=shop.id,
                  entity=f"customer:{item['id']}", payload=payload, source_event=source_event,
                  batch_kind=CUSTOMER_KIND, coalesce_fields=(str(item["id"]),), delay_ms=delay_ms)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
