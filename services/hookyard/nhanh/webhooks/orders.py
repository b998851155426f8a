"""Order events: which orders changed, and whose (the customer whose total spent they move).

v3 (https://apidocs.nhanh.vn/v3/webhooks/order): ``orderAdd`` / ``orderUpdate`` carry the order
as the order list API answers it, its id in ``info.id`` and its customer in ``customer.id``;
``orderDelete`` carries an array of order ids. v2 (https://apidocs.nhanh.vn/webhooks/order):
the order's fields flat, ``orderId`` and ``customerId``; Hookyard takes ``orderDelete`` as an
array of order ids there too. A customer id of 0 or null is a walk-in sale: no customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookyard.nhanh.webhooks.problems import Problems, bounded_entries, is_id

ORDER_ADD, ORDER_UPDATE, ORDER_DELETE = "orderAdd", "orderUpdate", "orderDelete"
ORDER_EVENTS = (ORDER_ADD, ORDER_UPDATE, ORDER_DELETE)
MAX_DELETED_ORDERS = 100


@dataclass(frozen=True)
class OrderChange:
    order_id: str
    customer_id: str | None
    """None when the event does not say (a deletion, a walk-in sale)."""


def order_changes(event: str, data: Any, problems: Problems, *,
                  version: int) -> list[OrderChange]:
    if event == ORDER_DELETE:
        return _deleted(data, problems)
    if not isinstance(data, dict):
        problems.add("data", "must be the order (an object)")
        return []
    if version == 3:
        info, customer = data.get("info"), data.get("customer")
        if not isinstance(info, dict) or not is_id(info.get("id")):
            problems.add("data.info.id", "is required (the order's id)")
            return []
        if customer is not None and not isinstance(customer, dict):
            problems.add("data.customer", "must be an object or null")
            return []
        customer_id = (customer or {}).get("id")
        where, order_id = "data.customer.id", info["id"]
    else:
        if not is_id(data.get("orderId")):
            problems.add("data.orderId", "is required (the order's id)")
            return []
        customer_id, where, order_id = data.get("customerId"), "data.customerId", data["orderId"]
    if customer_id is not None and not is_id(customer_id):
        problems.add(where, "must be a string or integer")
        return []
    known = None if customer_id in (None, 0, "", "0") else str(customer_id)
    return [OrderChange(order_id=str(order_id), customer_id=known)]


def _deleted(data: Any, problems: Problems) -> list[OrderChange]:
    members = bounded_entries(data, problems, most=MAX_DELETED_ORDERS, noun="order id",
                              keyed=False)
    changes = []
    for path, order_id in members:
        if not is_id(order_id):
            problems.add(path, "must be an order id (string or integer)")
            continue
        changes.append(OrderChange(order_id=str(order_id), customer_id=None))
    return changes
