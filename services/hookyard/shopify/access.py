"""Build a Shopify client for a shop with its shared rate budget (one per job run)."""

from __future__ import annotations

from hookyard.base.errors import PermanentJobError
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.shopify import RateBudget, ShopifyClient


def shop_of(runtime: Runtime, record: dict[str, object]) -> ShopConfig:
    shop = runtime.settings.shop_by_id(str(record.get("shop") or ""))
    if shop is None:
        raise PermanentJobError(
            f"Shop {record.get('shop')!r} of job {record['id']} is not in HOOKYARD_SHOPS any "
            "more; add it back and replay the job."
        )
    return shop


def client_for(runtime: Runtime, shop: ShopConfig, *,
               max_throttle_wait_seconds: float | None = None) -> ShopifyClient:
    """A client of ``shop`` on its shared budget; ``max_throttle_wait_seconds`` shortens the
    setting's bound on one call's wait for budget (never lengthens it)."""
    budget = RateBudget(runtime.state, shop=shop.id, plan=shop.plan)
    return ShopifyClient.from_settings(runtime.settings, shop, budget,
                                       max_throttle_wait_seconds=max_throttle_wait_seconds)
