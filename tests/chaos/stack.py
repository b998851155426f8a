"""The stack under test, the production one on this machine: ``redis-server`` with an AOF, the
Shopify sandbox, gunicorn ingest and the worker processes, restarted by a supervisor when they
exit (as a Deployment's ReplicaSet would). Every process is started through
``devstack.launcher``."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from devstack.commands import ingest_command, worker_command
from devstack.launcher import Process, Supervisor
from devstack.redis_server import RedisServer, free_port
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard_sandbox.client import SandboxClient
from tests.chaos.config import ChaosConfig, stack_settings
from tests.chaos.ledger import Ledger
from tests.chaos.source_tree import ROOT, TESTS
from tests.support.platform_support import platform_env
from tests.support.sandbox_process import SandboxProcess

SYNC_QUEUES = ("inventory-sync", "customer-sync")


def supervise(workers: list[Process], ledger: Ledger) -> Supervisor:
    """Restarts worker processes that exit, as a Deployment's ReplicaSet would."""

    def restarting(process: Process, code: int) -> None:
        ledger.event(f"supervisor: {process.name} exited {code}, restarting")

    return Supervisor(workers, restart_delay=0.5, on_restart=restarting)



class ChaosStack:
    def __init__(self, config: ChaosConfig, workdir: Path, ledger: Ledger) -> None:
        self.config = config
        self.workdir = workdir
        self.ledger = ledger
        self.redis = RedisServer(directory=workdir / "redis", appendfsync=config.appendfsync)
        self.sandbox_process: SandboxProcess | None = None
        self.ingest: Process | None = None
        self.workers: list[Process] = []
        self.supervisor: Supervisor | None = None

    def start(self) -> None:
        self.redis.start()
        self.sandbox_process = SandboxProcess()
        self.sandbox_process.wait_ready()
        self.sandbox = SandboxClient(self.sandbox_process.url, timeout_seconds=30)
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               **platform_env(self.redis.url(0), self.sandbox_process.url,
                              **stack_settings(self.config, os.environ))}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env = env
        self.settings = Settings.from_env(env)
        self.jobs = JobStore(self.settings,
                             state=redis.Redis(port=self.redis.port, db=1, socket_timeout=5),
                             broker=redis.Redis(port=self.redis.port, db=0, socket_timeout=5))
        self.ingest_port = free_port()
        self.ingest_url = f"http://127.0.0.1:{self.ingest_port}"
        ingest_env = {**env, "HOOKYARD_INGEST_BIND": f"127.0.0.1:{self.ingest_port}",
                      "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=self.workdir)}
        self.ingest = Process("ingest", ingest_command(), log_dir=self.workdir, env=ingest_env,
                              cwd=ROOT).start()
        self.ingest.wait_http(f"{self.ingest_url}/readyz", 30)
        pythonpath = os.pathsep.join(p for p in (str(TESTS / "e2e"), env.get("PYTHONPATH"))
                                     if p)
        for i in range(self.config.inventory_workers):
            self.workers.append(Process(f"inventory-sync-{i}",
                                        worker_command("workers.inventory_sync"),
                                        log_dir=self.workdir, env=env, cwd=ROOT))
        for i in range(self.config.customer_workers):
            # The production customer-sync worker plus the poison actor `crash_the_worker`.
            self.workers.append(Process(f"customer-sync-{i}", worker_command("crashing_worker"),
                                        log_dir=self.workdir,
                                        env={**env, "PYTHONPATH": pythonpath}, cwd=ROOT))
        self.supervisor = supervise(self.workers, self.ledger).start()
        want = {"inventory-sync": self.config.inventory_workers,
                "customer-sync": self.config.customer_workers}
        self._wait(lambda: all(self.jobs.queue_stats(SYNC_QUEUES)[q]["consumers"] >= n
                               for q, n in want.items()), 60)

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name}\n{p.tail(1500)}"
                                 for p in [*(self.workers), *([self.ingest] if self.ingest
                                                              else [])])
                raise TimeoutError(f"not ready within {timeout}s\n{logs}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.ingest is not None:
            self.ingest.stop()
        if self.sandbox_process is not None:
            self.sandbox_process.stop()
        if self.redis.launched is not None:
            self.redis.launched.signal(signal.SIGCONT)  # a paused Redis must hear the SIGTERM
        self.redis.stop()
