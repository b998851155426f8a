"""The fairness benchmark's workload: its shops (all on the sandbox's slow plan), their
catalogues in the sandbox and in ``HOOKYARD_SHOPS``, and the webhooks that carry new levels.

Every shop has its own Nhanh business id and one location mapped from depot ``D1``; its SKUs are
the first ``items`` of one list shared by all shops (they are different shops in the sandbox, so
the same SKU names do not meet). A backlog is made of *distinct* SKUs: repeated SKUs would be
coalesced (newest wins) and need no write, which is not a backlog.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bench.fairness_sandbox import SLOW_PLAN
from bench.sync_workload import (
    DEPOT,
    LOCATION,
    Catalog,
    build_catalog,
    inventory_body,
    sandbox_seed,
)

ITEMS_PER_WEBHOOK = 100
"""A flood arrives as webhooks of 100 products (issue #23)."""
HOOKYARD_PLAN = "standard"
"""Hookyard knows Shopify's four plans only; it starts from this preset and adopts the slow
bucket (200 points, 10/s) from the first answer's ``throttleStatus`` (the benchmark also primes
its budget from the sandbox before each measurement)."""


@dataclass(frozen=True)
class Shop:
    """One benchmark shop: Hookyard's id, its Nhanh business and the SKUs it stocks."""

    id: str
    business_id: str
    skus: list[str]

    @property
    def token(self) -> str:
        return f"shpat_{self.id}"


def make_shops(sizes: dict[str, int]) -> list[Shop]:
    """Shops named by ``sizes`` (id -> SKUs), in that order, with business ids 2001, 2002..."""
    skus = build_catalog(max(sizes.values()), 0).skus
    return [Shop(shop_id, str(2001 + i), skus[:count])
            for i, (shop_id, count) in enumerate(sizes.items())]


def sandbox_seed_of(shop: Shop) -> dict[str, Any]:
    """The sandbox seed of ``shop``: its SKUs at 0, one location, the slow plan."""
    return sandbox_seed(shop.id, shop.token, Catalog(shop.skus, []), plan=SLOW_PLAN)


def hookyard_shop(shop: Shop) -> dict[str, Any]:
    """``shop``'s entry in ``HOOKYARD_SHOPS`` (weight 1, as every shop by default)."""
    return {"id": shop.id, "nhanh_business_id": shop.business_id,
            "shopify_domain": f"{shop.id}.myshopify.com", "access_token": shop.token,
            "plan": HOOKYARD_PLAN, "depots": {DEPOT: LOCATION}}


def new_levels(skus: list[str], rng: random.Random) -> dict[str, int]:
    """A fresh level for each SKU (never 0, the level the sandbox was seeded with)."""
    return {sku: rng.randrange(1, 100_000) for sku in skus}


def webhooks(shop: Shop, levels: dict[str, int], *,
             per_webhook: int = ITEMS_PER_WEBHOOK) -> list[bytes]:
    """``inventoryChange`` bodies of ``per_webhook`` products carrying ``levels``, in order."""
    skus = list(levels)
    return [inventory_body(skus[start:start + per_webhook], levels,
                           business_id=shop.business_id)
            for start in range(0, len(skus), per_webhook)]
