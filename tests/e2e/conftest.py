"""End-to-end fixtures: real gunicorn ingest, real worker processes, the sandbox, real Redis.

Processes are started per test and killed at its end; readiness waits fail loudly with the
process's output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from hookyard.jobs import JobStore
from hookyard.processes import stop_process
from hookyard.redis_server import RedisServer, free_port
from hookyard.settings import Settings
from platform_support import ADMIN_TOKEN, platform_env
from sandbox_process import SandboxProcess

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


class Service:
    """One process of the stack, with its output kept in a file for failure messages."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.command = command
        self.env = env
        self.log_path = workdir / f"{name}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        self.log_path = self.log_path.with_name(f"{self.name}-{time.monotonic_ns()}.log")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 15) -> int | None:
        if self.process is None:
            return None
        return stop_process(self.process, timeout)


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
        service = Service("ingest", [sys.executable, "-m", "gunicorn", "-c",
                                     "python:ingest.gunicorn_conf", "ingest.app:get_app()"],
                          env, self.workdir).start()
        self.services.append(service)
        wait_until(lambda: _ok(f"{self.ingest_url}/readyz"), 20, service)
        return service

    def start_worker(self, module: str) -> Service:
        port = free_port()
        env = {**self.env, "HOOKYARD_METRICS_PORT": str(port)}
        service = Service(module, [sys.executable, "-m", module], env, self.workdir).start()
        service.metrics_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        self.services.append(service)
        wait_until(lambda: _ok(f"http://127.0.0.1:{port}/healthz"), 20, service)
        return service

    def start_crashing_worker(self) -> Service:
        env = {**self.env, "HOOKYARD_METRICS_PORT": "0",
               "PYTHONPATH": str(ROOT / "tests" / "e2e")}
        service = Service("crashing-worker", [sys.executable, "-m", "crashing_worker"], env,
                          self.workdir).start()
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


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_until(predicate: Any, timeout: float, service: Service | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if service is not None and service.process and service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n"
                               f"{service.output()}")
        if time.monotonic() > deadline:
            detail = service.output() if service else ""
            raise TimeoutError(f"not ready within {timeout}s\n{detail}")
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
