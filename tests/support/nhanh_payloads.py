"""Nhanh.vn webhook bodies as the sender builds them, for tests and benchmarks."""

from __future__ import annotations

import json
import zlib
from typing import Any

TOKEN = "nhanh-test-token"
BUSINESS_ID = "1001"
DEPOT = "D1"
LOCATION = "gid://shopify/Location/1"


def product_id(sku: str) -> int:
    """Nhanh's product id of a SKU: stable, one per SKU, as in Nhanh."""
    return 100 + zlib.crc32(sku.encode()) % 1_000_000


def inventory_body(skus: list[str], *, available: int = 7, business_id: str = BUSINESS_ID,
                   token: str | None = TOKEN, extra: dict[str, Any] | None = None) -> bytes:
    data = {
        str(product_id(sku)): {"id": product_id(sku), "code": sku, "available": available,
                               "remain": available,
                               "depots": {DEPOT: {"available": available, "remain": available}}}
        for sku in skus
    }
    document: dict[str, Any] = {"event": "inventoryChange", "businessId": business_id,
                                "data": data, **(extra or {})}
    if token is not None:
        document["webhooksVerifyToken"] = token
    return json.dumps(document, ensure_ascii=False).encode()


def customer_body(customers: list[dict[str, Any]], *, token: str | None = TOKEN) -> bytes:
    document: dict[str, Any] = {"event": "customerUpdate", "businessId": BUSINESS_ID,
                                "data": customers}
    if token is not None:
        document["webhooksVerifyToken"] = token
    return json.dumps(document, ensure_ascii=False).encode()


# --- Nhanh's v3 shapes (https://apidocs.nhanh.vn/v3/webhooks/webhooks): the token travels in the
# Authorization header, so these builders return (headers, body).


def v3_headers(token: str | None = TOKEN) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token
    return headers


def v3_inventory_document(skus: list[str], *, available: int = 7,
                          business_id: str = BUSINESS_ID) -> dict[str, Any]:
    """``inventoryChange`` as https://apidocs.nhanh.vn/v3/webhooks/inventory shows it: ``data``
    an array of products, ``depots`` an array of ``{id, remain, shipping, damaged, holding,
    transfering, available}``."""
    def quantities() -> dict[str, int]:
        return {"remain": available, "shipping": 0, "damaged": 0, "holding": 0,
                "transfering": 0, "available": available}
    return {"event": "inventoryChange", "businessId": int(business_id),
            "data": [{"id": product_id(sku), "code": sku, **quantities(),
                      "depots": [{"id": DEPOT, **quantities()}]} for sku in skus]}


def v3_inventory_body(skus: list[str], **options: Any) -> bytes:
    return json.dumps(v3_inventory_document(skus, **options), ensure_ascii=False).encode()


def v3_order_document(order_id: int, customer_id: int | None, *, event: str = "orderAdd",
                      business_id: str = BUSINESS_ID, mobile: str = "0912345678") -> dict[str, Any]:
    """``orderAdd`` / ``orderUpdate`` as https://apidocs.nhanh.vn/v3/webhooks/order shows them:
    the order as the order list API answers it (``info``, ``customer``, ``depot``, ...)."""
    customer = None if customer_id is None else {"id": customer_id, "name": "Nguyễn Văn A",
                                                 "mobile": mobile}
    return {"event": event, "businessId": int(business_id),
            "data": {"info": {"id": order_id, "type": 1, "status": 54},
                     "depot": {"id": 1, "name": "Kho chính"}, "customer": customer,
                     "products": [{"id": 5, "quantity": 1, "price": 120000}]}}


def v3_order_delete_document(order_ids: list[int], *,
                             business_id: str = BUSINESS_ID) -> dict[str, Any]:
    """``orderDelete``: ``data`` holds the array of deleted order ids (same page)."""
    return {"event": "orderDelete", "businessId": int(business_id), "data": order_ids}


def v2_order_document(order_id: int, customer_id: int | None, *, event: str = "orderAdd",
                      business_id: str = BUSINESS_ID, token: str | None = TOKEN) -> dict[str, Any]:
    """``orderAdd`` as https://apidocs.nhanh.vn/webhooks/order shows it: the order's fields flat,
    ``orderId`` and ``customerId``, the token in the body."""
    document: dict[str, Any] = {
        "event": event, "businessId": int(business_id),
        "data": {"orderId": order_id, "customerId": customer_id or 0,
                 "customerName": "Nguyễn Văn A", "customerMobile": "0912345678",
                 "calcTotalMoney": 120000.0, "status": "New"}}
    if token is not None:
        document["webhooksVerifyToken"] = token
    return document


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()
