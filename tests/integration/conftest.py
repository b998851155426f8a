"""Platform integration fixtures: settings for the session's Redis and sandbox, the broker
installed once (actors bind to it for the session), the ingest app under Falcon's TestClient,
and a real Dramatiq worker running in threads of the test process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import falcon.testing
import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard.base.settings import Settings
from hookyard.jobs import runtime
from hookyard.jobs.broker import HookyardBroker, install
from hookyard.jobs.store import JobStore
from ingest.app import create_app, ingest_job_store
from tests.support.nhanh_sandbox_process import NhanhSandboxProcess
from tests.support.platform_support import platform_env, wait_for_state
from tests.support.sandbox_process import SandboxProcess


@pytest.fixture(scope="session")
def settings(redis_server: RedisServer, sandbox_process: SandboxProcess,
             nhanh_sandbox_process: NhanhSandboxProcess) -> Settings:
    return Settings.from_env(platform_env(redis_server.url(0), sandbox_process.url,
                                          nhanh_sandbox_process.url))


@pytest.fixture(scope="session")
def broker(settings: Settings) -> HookyardBroker:
    rt = runtime.Runtime.build(settings)
    runtime.install(rt)
    broker = install(settings, jobs=rt.jobs)
    import hookyard.actors  # noqa: F401 - declares the actors on this broker

    return broker


@pytest.fixture
def jobs(settings: Settings, live_redis: RedisServer, broker: HookyardBroker) -> JobStore:
    return JobStore(settings, state=redis.Redis(port=live_redis.port, db=1),
                    broker=redis.Redis(port=live_redis.port, db=0))


@pytest.fixture
def client(settings: Settings, jobs: JobStore) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(settings, jobs=ingest_job_store(settings)))


@pytest.fixture
def worker(broker: HookyardBroker, live_redis: RedisServer) -> Iterator[dramatiq.Worker]:
    """A real Dramatiq worker (threads in this process) on the sync queues."""
    worker = dramatiq.Worker(broker, queues={"customer-sync", "inventory-sync"},
                             worker_threads=2, worker_timeout=50)
    worker.start()
    yield worker
    worker.stop(timeout=5000)


@pytest.fixture
def wait_state(jobs: JobStore) -> Callable[..., dict[str, Any]]:
    def wait(job_id: str, *states: str, timeout: float = 15.0) -> dict[str, Any]:
        return wait_for_state(jobs, job_id, set(states), timeout)

    return wait
