"""What every Nhanh delivery has: ``{"event", "businessId", "data"}``, and its version.

Both versions share the envelope (https://apidocs.nhanh.vn/webhooks/webhooks,
https://apidocs.nhanh.vn/v3/webhooks/webhooks). They differ in where the verify token travels
(v2: the body's ``webhooksVerifyToken`` or a ``verifyToken`` header; v3: the ``Authorization``
header), which is how ingest tells them apart before reading ``data`` (``presented_tokens``), and
in the shapes of ``data``, which each event's module validates for that version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hookyard.nhanh.webhooks.customers import customer_items
from hookyard.nhanh.webhooks.inventory import inventory_items
from hookyard.nhanh.webhooks.orders import ORDER_EVENTS, OrderChange, order_changes
from hookyard.nhanh.webhooks.problems import Problems, is_id

SOURCE = "nhanh"
INVENTORY_EVENT = "inventoryChange"
CUSTOMER_EVENT = "customerUpdate"
HANDSHAKE_EVENT = "webhooksEnabled"
CUSTOMER_EVENTS = (CUSTOMER_EVENT, *ORDER_EVENTS)
"""The events that move a customer's total spent (``/webhooks/nhanh/customer`` takes these)."""
VERSIONS = (2, 3)
BODY_TOKEN_FIELD = "webhooksVerifyToken"  # noqa: S105 - a field name, not a secret
V2_TOKEN_HEADERS = ("VERIFYTOKEN", "X-NHANH-VERIFY-TOKEN")
V3_TOKEN_HEADER = "AUTHORIZATION"  # noqa: S105 - a header name, not a secret


@dataclass(frozen=True)
class Webhook:
    event: str
    business_id: str
    version: int
    items: tuple[Mapping[str, Any], ...] = ()
    """Products (``inventoryChange``) or customers (``customerUpdate``) as one item shape."""
    orders: tuple[OrderChange, ...] = field(default=())
    """Order events: each order and, when the event says, its customer."""


def presented_tokens(headers: Mapping[str, str | None],
                     document: Any) -> tuple[list[str], int]:
    """Every verify token a delivery carries, and the webhook version their places tell.

    v2's places are the ``verifyToken`` / ``X-Nhanh-Verify-Token`` headers and the body's
    ``webhooksVerifyToken``; v3's is ``Authorization``. A delivery with any v2 token is v2.
    ``headers`` is keyed by upper-case name; an empty value is no token. Ingest accepts a
    delivery only when every token it presents is valid."""
    v2 = [headers[name] or "" for name in V2_TOKEN_HEADERS if headers.get(name)]
    if isinstance(document, dict):
        body_token = document.get(BODY_TOKEN_FIELD)
        if isinstance(body_token, str) and body_token:
            v2.append(body_token)
    authorization = (headers.get(V3_TOKEN_HEADER) or "").strip()
    if authorization[:7].lower() == "bearer ":
        authorization = authorization[7:].strip()
    v3 = [authorization] if authorization else []
    return v2 + v3, (2 if v2 else 3)


def parse_webhook(document: Any, *, version: int = 2) -> Webhook:
    """Validate the envelope and, for the events Hookyard handles, ``data`` in ``version``'s
    shape; raise ``ValidationFailed`` with every problem found."""
    problems = Problems()
    if not isinstance(document, dict):
        problems.add("$", "must be a JSON object")
        problems.raise_if_any()
    event = document.get("event")
    business_id = document.get("businessId")
    if not isinstance(event, str) or not event:
        problems.add("event", "is required (string)")
    if not is_id(business_id):
        problems.add("businessId", "is required (string or integer)")
    if "data" not in document and event != HANDSHAKE_EVENT:
        problems.add("data", "is required")
    problems.raise_if_any()
    data = document.get("data")
    items: list[dict[str, Any]] = []
    orders: list[OrderChange] = []
    if event == INVENTORY_EVENT:
        items = inventory_items(data, problems, version=version)
    elif event == CUSTOMER_EVENT:
        items = customer_items(data, problems)
    elif event in ORDER_EVENTS:
        orders = order_changes(str(event), data, problems, version=version)
    problems.raise_if_any()
    return Webhook(event=str(event), business_id=str(business_id), version=version,
                   items=tuple(items), orders=tuple(orders))
