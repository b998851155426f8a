"""Fixtures for Hookyard's Nhanh API client: the real Nhanh sandbox process, the session's real
Redis (state DB), and clients wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard.base.shops import ShopConfig
from hookyard.nhanh.client import WINDOW_MARGIN_SECONDS, NhanhClient
from hookyard.storage.rate_limits import SlidingWindowLimit
from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import business_seed
from tests.support.nhanh_sandbox_process import NhanhSandboxProcess
from tests.support.nhanh_shops import nhanh_shop

STATE_DB = 1


@pytest.fixture
def state_redis(live_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=live_redis.port, db=STATE_DB)
    yield client
    client.close()


@pytest.fixture
def business(nhanh_sandbox: NhanhSandboxClient) -> Callable[..., dict[str, Any]]:
    """``business(**business_seed kwargs)`` seeds the sandbox business and returns the seed."""

    def seed(**kwargs: Any) -> dict[str, Any]:
        document = business_seed(**kwargs)
        nhanh_sandbox.seed_business(document)
        return document

    return seed


@pytest.fixture
def make_client(
    nhanh_sandbox_process: NhanhSandboxProcess, live_redis: RedisServer
) -> Iterator[Callable[..., NhanhClient]]:
    """``make_client(shop=, requests=150, window_seconds=30, **client kwargs)``: a real client
    on its own Redis connection (as another replica would have) with a real shared limit."""
    connections: list[redis.Redis] = []

    def make(shop: ShopConfig | None = None, *, requests: int = 150, window_seconds: int = 30,
             **kwargs: Any) -> NhanhClient:
        state = redis.Redis(port=live_redis.port, db=STATE_DB)
        connections.append(state)
        limit = SlidingWindowLimit(state, limit=requests,
                                   window_seconds=window_seconds + WINDOW_MARGIN_SECONDS)
        kwargs.setdefault("timeout_seconds", 5.0)
        kwargs.setdefault("base_url", nhanh_sandbox_process.url)
        return NhanhClient(shop or nhanh_shop(), limit=limit, window_seconds=window_seconds,
                           **kwargs)

    yield make
    for connection in connections:
        connection.close()
