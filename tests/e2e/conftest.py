"""End-to-end fixtures: real gunicorn ingest, real worker processes, the sandbox, real Redis.

Processes are started per test and killed at its end; readiness waits fail loudly with the
process's output.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from devstack.commands import ingest_command, worker_command
from devstack.launcher import Process
from devstack.redis_server import RedisServer, free_port
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from tests.support.platform_support import ADMIN_TOKEN, platform_env
from tests.support.sandbox_process import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]

E2E_OVERRIDES = {
    "HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS": "2",
    "HOOKYARD_WORKER_THREADS": "2",
    "HOOKYARD_WORKER_SHUTDOWN_TIMEOUT_SECONDS": "10",
    "HOOKYARD_SWEEP_INTERVAL_SECONDS": "1",
    "HOOKYARD_INGEST_WORKERS": "2",
    "HOOKYARD_INGEST_THREADS": "4",
    "HOOKYARD_LOG_LEVEL": "INFO",
}


class Service(Process):
    """One process of the stack (``devstack.launcher.Process``), its log in the test's folder;
    ``metrics_url`` for a worker's /metrics and /healthz."""

    metrics_url: str = ""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path):
        super().__init__(name, command, log_dir=workdir, env=env, cwd=ROOT)
        # A log of its own, even beside another service of the same name in one test.
        self.log_path = workdir / f"{name}-{time.monotonic_ns()}.log"


class Stack:
    def __init__(self, redis_server: RedisServer, sandbox: SandboxProcess, workdir: Path,
                 **overrides: str) -> None:
        self.redis = redis_server
        self.workdir = workdir
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1",
                    **platform_env(redis_server.url(0), sandbox.url,
                                   **{**E2E_OVERRIDES, **overrides})}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.settings = Settings.from_env(self.env)
        self.jobs = JobStore(self.settings, state=redis.Redis(port=redis_server.port, db=1),
                             broker=redis.Redis(port=redis_server.port, db=0))
        self.ingest_port = free_port()
        self.ingest_url = f"http://127.0.0.1:{self.ingest_port}"
        self.services: list[Service] = []

    def start_ingest(self) -> Service:
        env = {**self.env, "HOOKYARD_INGEST_BIND": f"127.0.0.1:{self.ingest_port}",
               "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=self.workdir)}
        service = Service("ingest", ingest_command(), env, self.workdir)
        service.start()
        self.services.append(service)
        service.wait_http(f"{self.ingest_url}/readyz", 20)
        return service

    def start_worker(self, module: str) -> Service:
        port = free_port()
        env = {**self.env, "HOOKYARD_METRICS_PORT": str(port)}
        service = Service(module, worker_command(module), env, self.workdir)
        service.start()
        service.metrics_url = f"http://127.0.0.1:{port}"
        self.services.append(service)
        service.wait_http(f"{service.metrics_url}/healthz", 20)
        return service

    def start_crashing_worker(self) -> Service:
        env = {**self.env, "HOOKYARD_METRICS_PORT": "0",
               "PYTHONPATH": str(ROOT / "tests" / "e2e")}
        service = Service("crashing-worker", worker_command("crashing_worker"), env,
                          self.workdir)
        service.start()
        self.services.append(service)
        return service

    def post(self, body: bytes, **headers: str) -> requests.Response:
        return requests.post(f"{self.ingest_url}/webhooks/nhanh", data=body, timeout=10,
                             headers={"Content-Type": "application/json", **headers})

    def job(self, job_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.ingest_url}/jobs/{job_id}", timeout=10,
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_job(self, job_id: str, *states: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in states:
                return job
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {s.name}\n{s.output()}" for s in self.services)
                raise AssertionError(f"job never reached {states}: {job}\n{logs}")
            time.sleep(0.05)

    def stop(self) -> None:
        for service in self.services:
            service.kill()


def wait_until(predicate: Any, timeout: float, service: Service | None = None) -> None:
    """Poll ``predicate``; fails with the service's log if it exits or time runs out."""
    if service is not None:
        service.wait_ready(predicate, timeout)
        return
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def stack(live_redis: RedisServer, sandbox_process: SandboxProcess,
          tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(live_redis, sandbox_process, tmp_path)
    yield stack
    stack.stop()



@pytest.fixture
def make_stack(live_redis: RedisServer, sandbox_process: SandboxProcess,
               tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Stacks with settings overrides (``make_stack(HOOKYARD_X="1")``), stopped at the end."""
    stacks: list[Stack] = []

    def make(**overrides: str) -> Stack:
        stacks.append(Stack(live_redis, sandbox_process, tmp_path, **overrides))
        return stacks[-1]

    yield make
    for stack in stacks:
        stack.stop()


__all__ = ["Service", "Stack", "signal", "wait_until"]
