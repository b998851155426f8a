"""Session-wide fixtures: one private redis-server per test session, started on a free port.

Nothing skips because a service is missing: the fixture starts it, and a readiness wait that
times out fails the test run loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard_sandbox.client import SandboxClient
from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_payloads import LOCATION
from tests.support.nhanh_sandbox_process import RETRY_SCALE, NhanhSandboxProcess
from tests.support.platform_support import SHOPIFY_TOKEN
from tests.support.sandbox_process import SandboxProcess

BROKER_DB = 0
STATE_DB = 1


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(directory=Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_redis(redis_server: RedisServer) -> RedisServer:
    """The session's Redis, running (restarted if a previous test killed it) and empty."""
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()
    client = redis.Redis(port=redis_server.port)
    client.config_set("maxmemory", "0")
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture
def redis_env(live_redis: RedisServer) -> dict[str, str]:
    """The HOOKYARD_* variables pointing at the test Redis (broker DB 0, state DB 1)."""
    return {
        "HOOKYARD_REDIS_URL": live_redis.url(BROKER_DB),
        "HOOKYARD_STATE_REDIS_DB": str(STATE_DB),
    }


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    process = SandboxProcess()
    process.wait_ready()
    yield process
    process.stop()


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess) -> SandboxClient:
    """Control client of an empty sandbox."""
    if sandbox_process.process.poll() is not None:
        raise RuntimeError("the sandbox exited:\n" + "".join(sandbox_process.output)[-4000:])
    client = SandboxClient(sandbox_process.url)
    client.reset()
    return client


@pytest.fixture
def shop(sandbox: SandboxClient) -> dict[str, Any]:
    """The sandbox shop 'acme' with SKU-0..SKU-4 and two customers."""
    seed = {
        "id": "acme", "token": SHOPIFY_TOKEN, "domain": "acme.myshopify.com",
        "plan": "standard",
        "locations": [{"id": LOCATION, "name": "Main"},
                      {"id": "gid://shopify/Location/2", "name": "Backup"}],
        "products": [{"title": "Áo sơ mi", "variants": [
            {"sku": f"SKU-{i}", "inventory": {"Main": 1, "Backup": 0}} for i in range(5)]}],
        "customers": [{"email": "lan@example.vn", "phone": "+84900000001", "firstName": "Lan"},
                      {"email": "minh@example.vn", "phone": "+84900000002",
                       "firstName": "Minh"}],
        "themes": [],
    }
    sandbox.create_shop(seed)
    return seed


@pytest.fixture(scope="session")
def nhanh_sandbox_process() -> Iterator[NhanhSandboxProcess]:
    """The Nhanh sandbox with Nhanh's own limit (150 per 30 s; a seed may set its own) and
    re-sends scaled by ``RETRY_SCALE``."""
    process = NhanhSandboxProcess(retry_scale=RETRY_SCALE).wait_ready()
    yield process
    process.stop()


@pytest.fixture
def nhanh_sandbox(nhanh_sandbox_process: NhanhSandboxProcess) -> NhanhSandboxClient:
    """Control client of an empty Nhanh sandbox."""
    if nhanh_sandbox_process.process.poll() is not None:
        raise RuntimeError("the Nhanh sandbox exited:\n" + nhanh_sandbox_process.output[-4000:])
    client = NhanhSandboxClient(nhanh_sandbox_process.url)
    client.reset()
    return client
