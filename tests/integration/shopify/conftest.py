"""Fixtures for Shopify integration tests: the real sandbox as a subprocess on a free port, the
session's real Redis (state DB), and clients wired to both.

The sandbox is started once per session; each test starts from an empty sandbox. Readiness waits
for the sandbox's "listening on" line and fails loudly with its output when it does not come.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard.base.shops import ShopConfig
from hookyard.shopify.breaker import CircuitBreaker
from hookyard.shopify.budget import RateBudget
from hookyard.shopify.client import ShopifyClient
from hookyard_sandbox.client import SandboxClient
from tests.support.sandbox_process import SandboxProcess

STATE_DB = 1
API_VERSION = "2026-10"


@pytest.fixture
def state_redis(live_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=live_redis.port, db=STATE_DB)
    yield client
    client.close()


def shop_seed(shop_id: str = "acme", *, plan: str = "standard", skus: int = 3,
              customers: int = 2) -> dict[str, Any]:
    """A seed with two locations, ``skus`` variants stocked at both, and some customers."""
    return {
        "id": shop_id,
        "token": f"shpat_{shop_id}_{uuid.uuid4().hex}",
        "domain": f"{shop_id}.myshopify.com",
        "plan": plan,
        "locations": [{"id": "gid://shopify/Location/1", "name": "Main"},
                      {"id": "gid://shopify/Location/2", "name": "Backup"}],
        "products": [{"title": "Shirt", "variants": [
            {"sku": f"SKU-{i}", "inventory": {"Main": 10, "Backup": 0}} for i in range(skus)]}],
        "customers": [{"email": f"c{i}@example.com", "phone": f"+8490000000{i}",
                       "firstName": f"C{i}"} for i in range(customers)],
        "themes": [{"name": "Dawn", "role": "MAIN",
                    "files": {"layout/theme.liquid": "{{ content_for_layout }}"}}],
    }


def shop_config(seed: dict[str, Any]) -> ShopConfig:
    return ShopConfig(id=seed["id"], nhanh_business_id=f"biz-{seed['id']}",
                      shopify_domain=seed["domain"], access_token=seed["token"],
                      plan=seed["plan"])


BREAKER_DEFAULTS: dict[str, Any] = {
    "failures": 5, "probe_seconds": 5.0, "probe_max_seconds": 30.0, "probe_lease_seconds": 15.0}
"""The settings' defaults (HOOKYARD_BREAKER_*), and a lease of the 5 s timeouts plus 5 s."""


@pytest.fixture
def make_breaker(state_redis: redis.Redis) -> Callable[..., CircuitBreaker]:
    """``make_breaker(shop_id, **overrides)``: the shop's real breaker in the test Redis."""

    def make(shop_id: str, **overrides: Any) -> CircuitBreaker:
        return CircuitBreaker(state_redis, shop=shop_id, **{**BREAKER_DEFAULTS, **overrides})

    return make


@pytest.fixture
def make_client(
    sandbox_process: SandboxProcess, state_redis: redis.Redis,
    make_breaker: Callable[..., CircuitBreaker],
) -> Callable[..., ShopifyClient]:
    """``make_client(seed, breaker=None, **client_kwargs)``: a real client with a real Redis
    budget and breaker (the default breaker: ``BREAKER_DEFAULTS``)."""

    def make(seed: dict[str, Any], breaker: CircuitBreaker | None = None,
             **kwargs: Any) -> ShopifyClient:
        config = shop_config(seed)
        budget = RateBudget(state_redis, shop=config.id, plan=config.plan)
        kwargs.setdefault("connect_timeout_seconds", 5.0)
        kwargs.setdefault("read_timeout_seconds", 5.0)
        return ShopifyClient(config, api_version=API_VERSION, budget=budget,
                             breaker=breaker or make_breaker(config.id),
                             base_url=sandbox_process.url, **kwargs)

    return make


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture
def new_shop(sandbox: SandboxClient) -> Callable[..., tuple[dict[str, Any], dict[str, Any]]]:
    """``new_shop(shop_id, plan=, skus=, customers=)`` -> (seed, ids the sandbox assigned)."""

    def create(shop_id: str = "acme", **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        seed = shop_seed(shop_id, **kwargs)
        return seed, sandbox.create_shop(seed)

    return create
