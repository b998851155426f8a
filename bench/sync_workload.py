"""The sync benchmark's workload: the shops, the catalogue seeded into the sandbox, and the
Nhanh webhook bodies that carry new values for it."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from tests.support.nhanh_payloads import product_id

NHANH_TOKEN = "bench-nhanh-token"
ADMIN_TOKEN = "bench-admin-token"
BUSINESS_ID = "1001"
REFERENCE_BUSINESS_ID = "9009"
DEPOT = "D1"
LOCATION = "gid://shopify/Location/1"
SHOP = "bench"
REFERENCE_SHOP = "seed-design"
PLAN = "standard"


@dataclass(frozen=True)
class Catalog:
    skus: list[str]
    customers: list[dict[str, Any]]
    """Nhanh view: id, mobile, email."""


def build_catalog(items: int, customers: int) -> Catalog:
    """``items`` SKUs with distinct Nhanh product ids (crc32-based ids can collide: skipped)."""
    skus: list[str] = []
    seen: set[int] = set()
    n = 0
    while len(skus) < items:
        sku = f"BY-{n:06d}"
        n += 1
        pid = product_id(sku)
        if pid not in seen:
            seen.add(pid)
            skus.append(sku)
    people = [{"id": 500_000 + i, "mobile": f"09{i:08d}", "email": f"khach{i}@bench.example"}
              for i in range(customers)]
    return Catalog(skus, people)


def sandbox_seed(shop: str, token: str, catalog: Catalog, *, plan: str = PLAN) -> dict[str, Any]:
    products = [{"title": f"Bench {start // 100}",
                 "variants": [{"sku": sku, "inventory": {"Main": 0}}
                              for sku in catalog.skus[start:start + 100]]}
                for start in range(0, len(catalog.skus), 100)]
    customers = [{"email": c["email"], "phone": "+84" + c["mobile"][1:], "firstName": "Khách"}
                 for c in catalog.customers]
    return {"id": shop, "token": token, "domain": f"{shop}.myshopify.com", "plan": plan,
            "locations": [{"id": LOCATION, "name": "Main"}], "products": products,
            "customers": customers, "themes": []}


def hookyard_shops() -> list[dict[str, Any]]:
    return [
        {"id": SHOP, "nhanh_business_id": BUSINESS_ID, "shopify_domain": f"{SHOP}.myshopify.com",
         "access_token": f"shpat_{SHOP}", "plan": PLAN, "depots": {DEPOT: LOCATION}},
        {"id": REFERENCE_SHOP, "nhanh_business_id": REFERENCE_BUSINESS_ID,
         "shopify_domain": f"{REFERENCE_SHOP}.myshopify.com",
         "access_token": f"shpat_{REFERENCE_SHOP}", "plan": PLAN, "depots": {DEPOT: LOCATION}},
    ]


def split_sizes(total: int, rng: random.Random, low: int = 10, high: int = 100) -> list[int]:
    """Webhook sizes of ``low``..``high`` items summing to ``total``."""
    sizes = []
    left = total
    while left > 0:
        size = min(left, rng.randint(low, high))
        sizes.append(size)
        left -= size
    return sizes


def inventory_body(skus: list[str], values: dict[str, int], *,
                   business_id: str = BUSINESS_ID) -> bytes:
    """One ``inventoryChange`` webhook: ``values[sku]`` for each of ``skus`` at ``DEPOT``."""
    data = {}
    for sku in skus:
        q = values[sku]
        data[str(product_id(sku))] = {"id": product_id(sku), "code": sku, "available": q,
                                      "remain": q,
                                      "depots": {DEPOT: {"available": q, "remain": q}}}
    return json.dumps({"event": "inventoryChange", "businessId": business_id,
                       "data": data}).encode()


def inventory_bodies(skus: list[str], values: dict[str, int], rng: random.Random) -> list[bytes]:
    bodies = []
    start = 0
    for size in split_sizes(len(skus), rng):
        bodies.append(inventory_body(skus[start:start + size], values))
        start += size
    return bodies


def customer_bodies(people: list[dict[str, Any]], values: dict[int, int],
                    rng: random.Random) -> list[bytes]:
    bodies = []
    start = 0
    for size in split_sizes(len(people), rng):
        data = [{**c, "totalSpent": values[c["id"]]} for c in people[start:start + size]]
        start += size
        bodies.append(json.dumps({"event": "customerUpdate", "businessId": BUSINESS_ID,
                                  "data": data}).encode())
    return bodies

