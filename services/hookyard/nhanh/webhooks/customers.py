"""``customerUpdate``: a customer's total spent, pushed by the sender.

Nhanh documents no such event, in v2 or v3: it is Hookyard's own extension (docs/nhanh.md), kept
for senders that push totals themselves. Nhanh's own senders trigger the same sync through order
events (``hookyard.nhanh.webhooks.orders``), which make Hookyard read the total from Nhanh.
``data`` is a list (or object) of ``{id, totalSpent, mobile?, email?, ...}``, either version.
"""

from __future__ import annotations

from typing import Any

from hookyard.nhanh.webhooks.problems import Problems, bounded_entries, is_id, is_number

MAX_CUSTOMERS = 100
MAX_TOTAL_SPENT = 10**13
"""Exclusive bound on ``abs(totalSpent)``: the ``number_decimal`` metafield holds at most 13
digits before the decimal point (+/-9999999999999.999999999)."""


def customer_items(data: Any, problems: Problems) -> list[dict[str, Any]]:
    members = bounded_entries(data, problems, most=MAX_CUSTOMERS, noun="customer")
    items = []
    for path, customer in members:
        if not isinstance(customer, dict):
            problems.add(path, "must be an object")
            continue
        if not is_id(customer.get("id")):
            problems.add(f"{path}.id", "is required (string or integer)")
            continue
        total_spent: Any = customer.get("totalSpent")
        if not is_number(total_spent):
            problems.add(f"{path}.totalSpent", "is required and must be a number")
            continue
        if not abs(total_spent) < MAX_TOTAL_SPENT:
            problems.add(f"{path}.totalSpent", f"must be less than {MAX_TOTAL_SPENT} in size "
                         "(Shopify's number_decimal holds 13 digits before the point)")
            continue
        for name in ("mobile", "email"):
            if customer.get(name) is not None and not isinstance(customer[name], str):
                problems.add(f"{path}.{name}", "must be a string")
        items.append({**customer, "id": str(customer["id"])})
    return items
