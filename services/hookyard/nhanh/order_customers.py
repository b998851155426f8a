"""Which Nhanh customer each recent order belongs to.

Nhanh's ``orderDelete`` names only order ids (https://apidocs.nhanh.vn/v3/webhooks/order), yet a
deleted order changes its customer's total spent. Ingest remembers the customer of every order an
``orderAdd`` / ``orderUpdate`` named, for ``ORDER_MEMORY_SECONDS``, and finds it again when the
order is deleted. A deletion of an order older than that, or never seen, names nobody: its
customer is repaired by the next order or by reconciliation (docs/nhanh.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import redis

from hookyard.base import keys

ORDER_MEMORY_SECONDS = 90 * 24 * 3600
"""Longer than orders are usually edited or cancelled after they are placed."""


class OrderCustomers:
    def __init__(self, client: redis.Redis, shop: str) -> None:
        self.client = client
        self.shop = shop

    def remember(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record ``(order id, customer id)`` pairs."""
        pipe = self.client.pipeline(transaction=False)
        for order_id, customer_id in pairs:
            pipe.set(keys.nhanh_order_customer(self.shop, order_id), customer_id,
                     ex=ORDER_MEMORY_SECONDS)
        pipe.execute()

    def recall(self, order_ids: Sequence[str]) -> dict[str, str]:
        """Order id -> customer id, for the orders remembered."""
        if not order_ids:
            return {}
        found = self.client.mget([keys.nhanh_order_customer(self.shop, o) for o in order_ids])
        return {order: value.decode() for order, value in zip(order_ids, found, strict=True)
                if value is not None}
