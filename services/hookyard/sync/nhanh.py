"""Nhanh.vn webhooks: validate a decoded body and turn it into one job per item.

Shapes (../shared/README.md): ``{"event", "businessId", "data", "webhooksVerifyToken"?}``.
``inventoryChange`` data is an object keyed by product id (or a list) of products with
quantities and ``depots``; ``customerUpdate`` data is a list (or object) of customers with ``id``
and ``totalSpent``. Validation collects every problem with its field path for a 422.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookyard.base.errors import ValidationFailed
from hookyard.base.queues import SYNC_CUSTOMER, SYNC_INVENTORY_ITEM
from hookyard.base.shops import ShopConfig
from hookyard.jobs.records import NewJob

SOURCE = "nhanh"
INVENTORY_EVENT = "inventoryChange"
CUSTOMER_EVENT = "customerUpdate"
HANDSHAKE_EVENT = "webhooksEnabled"
MAX_PRODUCTS = 100
MAX_CUSTOMERS = 100
QUANTITY_FIELDS = ("remain", "shipping", "holding", "damage", "available")
MAX_QUANTITY = 1_000_000_000
"""Shopify's bound on an inventory quantity, either sign (``inventorySetQuantities`` answers
``INVALID_QUANTITY_TOO_HIGH`` / ``_TOO_LOW`` past it; GraphQL's ``Int`` is 32-bit anyway)."""
MAX_TOTAL_SPENT = 10**13
"""Exclusive bound on ``abs(totalSpent)``: the ``number_decimal`` metafield holds at most 13
digits before the decimal point (+/-9999999999999.999999999)."""
TOKEN_FIELD = "webhooksVerifyToken"  # noqa: S105 - a field name, not a secret


@dataclass(frozen=True)
class Webhook:
    event: str
    business_id: str
    items: tuple[Mapping[str, Any], ...]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    """A JSON integer. ``1.0`` is not one: JSON has no integer type of its own, but a sender
    that writes a decimal point sends a measured or computed amount, and guessing how to round
    it would write a quantity nobody sent (docs/security.md)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= 64) or (
        isinstance(value, int) and not isinstance(value, bool))


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        if len(self.items) < 50:
            self.items.append({"field": field, "problem": problem})

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(
                "The webhook body does not have the expected shape; see 'fields' for each "
                "problem, fix the sender and deliver again.",
                details={"fields": self.items},
            )


def _entries(data: Any, field: str, problems: _Problems) -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [(f"{field}.{key}", value) for key, value in data.items()]
    if isinstance(data, list):
        return [(f"{field}[{i}]", value) for i, value in enumerate(data)]
    problems.add(field, "must be an object keyed by id or a list")
    return []


def _check_quantities(entry: Mapping[str, Any], path: str, problems: _Problems) -> None:
    """Each quantity present (null counts as absent) is a whole number Shopify can store."""
    for name in QUANTITY_FIELDS:
        value = entry.get(name)
        if value is None:
            continue
        if not _is_whole(value):
            problems.add(f"{path}.{name}", "must be a whole number (a JSON integer, no decimal "
                         "point)")
        elif not -MAX_QUANTITY <= value <= MAX_QUANTITY:
            problems.add(f"{path}.{name}", f"must be from {-MAX_QUANTITY} to {MAX_QUANTITY} "
                         "(Shopify's limit on an inventory quantity)")


def _inventory_items(data: Any, problems: _Problems) -> list[dict[str, Any]]:
    entries = _entries(data, "data", problems)
    if len(entries) > MAX_PRODUCTS:
        problems.add("data", f"at most {MAX_PRODUCTS} products per webhook")
        return []
    if not entries and isinstance(data, dict | list):
        problems.add("data", "must hold at least one product")
    items = []
    for path, product in entries:
        if not isinstance(product, dict):
            problems.add(path, "must be an object")
            continue
        key = path.rsplit(".", 1)[-1] if "." in path else None
        product_id = product.get("id", key)
        if not _is_id(product_id):
            problems.add(f"{path}.id", "is required (string or integer)")
            continue
        for name in ("code", "shopProductId"):
            if product.get(name) is not None and not _is_id(product[name]):
                problems.add(f"{path}.{name}", "must be a string or integer")
        _check_quantities(product, path, problems)
        depots = product.get("depots", {})
        if depots is None:
            depots = {}
        if not isinstance(depots, dict):
            problems.add(f"{path}.depots", "must be an object keyed by depot id")
            continue
        for depot_id, quantities in depots.items():
            if not isinstance(quantities, dict):
                problems.add(f"{path}.depots.{depot_id}", "must be an object of quantities")
                continue
            _check_quantities(quantities, f"{path}.depots.{depot_id}", problems)
        items.append({**product, "id": str(product_id),
                      "depots": {str(k): v for k, v in depots.items()}})
    return items


def _customer_items(data: Any, problems: _Problems) -> list[dict[str, Any]]:
    entries = _entries(data, "data", problems)
    if len(entries) > MAX_CUSTOMERS:
        problems.add("data", f"at most {MAX_CUSTOMERS} customers per webhook")
        return []
    if not entries and isinstance(data, dict | list):
        problems.add("data", "must hold at least one customer")
    items = []
    for path, customer in entries:
        if not isinstance(customer, dict):
            problems.add(path, "must be an object")
            continue
        if not _is_id(customer.get("id")):
            problems.add(f"{path}.id", "is required (string or integer)")
            continue
        total_spent: Any = customer.get("totalSpent")
        if not _is_number(total_spent):
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


def parse_webhook(document: Any, *, expected_event: str | None = None) -> Webhook:
    """Validate the envelope and, for known events, the items; raise ``ValidationFailed``."""
    problems = _Problems()
    if not isinstance(document, dict):
        problems.add("$", "must be a JSON object")
        problems.raise_if_any()
    event = document.get("event")
    business_id = document.get("businessId")
    if not isinstance(event, str) or not event:
        problems.add("event", "is required (string)")
    if not _is_id(business_id):
        problems.add("businessId", "is required (string or integer)")
    if "data" not in document and event != HANDSHAKE_EVENT:
        problems.add("data", "is required")
    problems.raise_if_any()
    items: list[dict[str, Any]] = []
    if event == INVENTORY_EVENT:
        items = _inventory_items(document["data"], problems)
    elif event == CUSTOMER_EVENT:
        items = _customer_items(document["data"], problems)
    problems.raise_if_any()
    return Webhook(event=str(event), business_id=str(business_id), items=tuple(items))


def jobs_for(webhook: Webhook, shop: ShopConfig, *, body_sha256: str,
             received_at: str) -> list[NewJob]:
    """One job per item; the payload is the item as received (Unicode untouched)."""
    if webhook.event == INVENTORY_EVENT:
        actor, entity, kind = SYNC_INVENTORY_ITEM, "product", \
            "inventory"
    elif webhook.event == CUSTOMER_EVENT:
        actor, entity, kind = SYNC_CUSTOMER, "customer", "customer"
    else:
        return []
    source_event = {"source": SOURCE, "event": webhook.event, "business_id": webhook.business_id,
                    "body_sha256": body_sha256, "received_at": received_at}
    return [
        NewJob(
            queue=actor.queue,
            actor=actor.name,
            shop=shop.id,
            entity=f"{entity}:{item['id']}",
            payload={"event": webhook.event, "business_id": webhook.business_id,
                     "index": index, "item": item},
            source_event=source_event,
            batch_kind=kind,
            coalesce_fields=_coalesce_fields(kind, item),
        )
        for index, item in enumerate(webhook.items)
    ]


def _coalesce_fields(kind: str, item: Mapping[str, Any]) -> tuple[str, ...]:
    """The entity fields a job sets: ``<product>@<depot>`` per depot, or the customer id."""
    if kind == "inventory":
        return tuple(f"{item['id']}@{depot}" for depot in sorted(item.get("depots") or {}))
    return (str(item["id"]),)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
