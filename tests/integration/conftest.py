"""Platform integration fixtures: settings for the session's Redis and sandbox, the broker
installed once (actors bind to it for the session), the ingest app under Falcon's TestClient,
and a real Dramatiq worker running in threads of the test process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import falcon.testing
import pytest
import redis
from nhanh_payloads import BUSINESS_ID, DEPOT, LOCATION, TOKEN
from sandbox_process import SandboxProcess

from hookyard import runtime
from hookyard.broker import HookyardBroker, install
from hookyard.jobs import JobStore
from hookyard.redis_server import RedisServer
from hookyard.settings import Settings
from hookyard_sandbox.client import SandboxClient
from ingest.app import create_app, ingest_job_store

ADMIN_TOKEN = "admin-secret"
SHOP_TOKEN = "acme-secret"
OTHER_SHOP_TOKEN = "globex-secret"
SHOPIFY_TOKEN = "shpat_acme_test"


def platform_env(redis_url: str, sandbox_url: str, **overrides: str) -> dict[str, str]:
    shops = [
        {"id": "acme", "nhanh_business_id": BUSINESS_ID, "shopify_domain": "acme.myshopify.com",
         "access_token": SHOPIFY_TOKEN, "plan": "standard", "depots": {DEPOT: LOCATION}},
        {"id": "globex", "nhanh_business_id": "2002", "shopify_domain": "globex.myshopify.com",
         "access_token": "shpat_globex_test", "plan": "standard", "depots": {}},
    ]
    env = {
        "HOOKYARD_REDIS_URL": redis_url,
        "HOOKYARD_STATE_REDIS_DB": "1",
        "HOOKYARD_NHANH_TOKENS": f"old-token,{TOKEN}",
        "HOOKYARD_SHOPS": json.dumps(shops),
        "HOOKYARD_API_TOKENS": f"ops:admin:{ADMIN_TOKEN},acme-bot:shop:acme:{SHOP_TOKEN},"
                               f"globex-bot:shop:globex:{OTHER_SHOP_TOKEN}",
        "HOOKYARD_SHOPIFY_BASE_URL": sandbox_url,
        "HOOKYARD_MAX_RETRIES": "2",
        "HOOKYARD_MAX_DELIVERIES": "4",
        "HOOKYARD_RETRY_BASE_SECONDS": "0.05",
        "HOOKYARD_RETRY_MAX_SECONDS": "0.2",
        "HOOKYARD_SWEEP_GRACE_SECONDS": "1",
        "HOOKYARD_SHOPIFY_MAX_THROTTLE_WAIT_SECONDS": "5",
        "HOOKYARD_SHOPIFY_TIMEOUT_SECONDS": "3",
        "HOOKYARD_INGEST_REDIS_TIMEOUT_SECONDS": "0.3",
    }
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
def settings(redis_server: RedisServer, sandbox_process: SandboxProcess) -> Settings:
    return Settings.from_env(platform_env(redis_server.url(0), sandbox_process.url))


@pytest.fixture(scope="session")
def broker(settings: Settings) -> HookyardBroker:
    broker = install(settings)
    import hookyard.actors  # noqa: F401 - declares the actors on this broker

    runtime.install(runtime.Runtime.build(settings))
    return broker


@pytest.fixture
def jobs(settings: Settings, live_redis: RedisServer, broker: HookyardBroker) -> JobStore:
    return JobStore(settings, state=redis.Redis(port=live_redis.port, db=1),
                    broker=redis.Redis(port=live_redis.port, db=0))


@pytest.fixture
def client(settings: Settings, jobs: JobStore) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(settings, jobs=ingest_job_store(settings)))


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


@pytest.fixture
def worker(broker: HookyardBroker, live_redis: RedisServer) -> Iterator[dramatiq.Worker]:
    """A real Dramatiq worker (threads in this process) on the sync queues."""
    worker = dramatiq.Worker(broker, queues={"customer-sync", "inventory-sync"},
                             worker_threads=2, worker_timeout=50)
    worker.start()
    yield worker
    worker.stop(timeout=5000)


def post_webhook(client: falcon.testing.TestClient, body: bytes, *,
                 path: str = "/webhooks/nhanh", headers: dict[str, str] | None = None
                 ) -> falcon.testing.Result:
    return client.simulate_post(path, body=body, headers={"Content-Type": "application/json",
                                                          **(headers or {})})


def auth(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for_state(jobs: JobStore, job_id: str, states: set[str],
                   timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record = jobs.get(job_id)
    while record is None or record["state"] not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached {states}: {record}")
        time.sleep(0.02)
        record = jobs.get(job_id)
    return record


@pytest.fixture
def wait_state(jobs: JobStore) -> Callable[..., dict[str, Any]]:
    def wait(job_id: str, *states: str, timeout: float = 15.0) -> dict[str, Any]:
        return wait_for_state(jobs, job_id, set(states), timeout)

    return wait
