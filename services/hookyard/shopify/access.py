"""Build a Shopify client for a shop with its shared rate budget and circuit breaker (one per
job run). Every job that talks to Shopify (sync writes, catalogue bulk queries, theme deploys)
gets its client here, so all of them are paced by one budget and stopped by one breaker."""

from __future__ import annotations

from hookyard.base.errors import PermanentJobError
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.shopify import CircuitBreaker, RateBudget, ShopifyClient


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
    """A client of ``shop`` on its shared budget and breaker; ``max_throttle_wait_seconds``
    shortens the setting's bound on one call's wait for budget (never lengthens it)."""
    budget = RateBudget(runtime.state, shop=shop.id, plan=shop.plan)
    breaker = CircuitBreaker.from_settings(runtime.state, runtime.settings, shop.id)
    return ShopifyClient.from_settings(runtime.settings, shop, budget, breaker,
                                       max_throttle_wait_seconds=max_throttle_wait_seconds)
