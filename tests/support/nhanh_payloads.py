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
