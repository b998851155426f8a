"""Processes of the sync benchmark (and the fairness benchmark, ``bench/fairness.py``): a
private Redis, the Shopify sandbox, gunicorn ingest and worker processes, each started on a free
loopback port and stopped by ``SyncStack.stop``.

Settings are production defaults (``HOOKYARD_WORKER_THREADS`` 8, 60 s throttle wait, 3
retries, ``HOOKYARD_CATALOG_*``, so a cold batch loads the catalogue with a bulk query...)
except where the benchmark needs otherwise (or ``overrides`` say, e.g. ``bench/sync.py
--prefill-min-misses``; workers can be started with settings of their own, e.g.
``HOOKYARD_CATALOG_PREFILL_ON_START``, and stopped and started again with
``stop_workers``): records of ended jobs are kept for the
whole run (the default keeps only the last 1000 succeeded per queue, which would hide jobs from
the final check) and metrics ports are free ports.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.commands import ingest_command, sandbox_command, worker_command
from devstack.launcher import Process, StartFailure
from devstack.redis_server import RedisServer, free_port

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
READY_SECONDS = 30.0


class SyncStack:
    """Redis + sandbox + ingest + workers for one benchmark run (``stop`` ends them all)."""

    def __init__(self, shops: list[dict[str, Any]], *, nhanh_token: str, admin_token: str,
                 overrides: dict[str, str] | None = None,
                 sandbox: Callable[[int], list[str]] = sandbox_command,
                 name: str = "sync") -> None:
        """``sandbox`` gives the sandbox's command line for a port (the fairness benchmark's
        adds a plan); ``name`` goes into the work directory's name."""
        self.workdir = Path(tempfile.mkdtemp(prefix=f"hookyard-{name}-bench-"))
        self.processes: list[Process] = []
        self.redis = RedisServer(directory=self.workdir / "redis")
        self._shops = shops
        self._nhanh_token = nhanh_token
        self._admin_token = admin_token
        self._overrides = overrides or {}
        self._sandbox_command = sandbox
        self.env: dict[str, str] = {}
        self._spawned = 0
        self.sandbox_url = ""
        self.ingest_url = ""

    def start_base(self) -> None:
        """Redis and the sandbox; builds ``env`` for the Hookyard processes."""
        (self.workdir / "redis").mkdir(exist_ok=True)
        self.redis.start()
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        sandbox = self._spawn("sandbox", self._sandbox_command(port), os.environ)
        sandbox.wait_http(f"{self.sandbox_url}/_sandbox/healthz", READY_SECONDS)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")},
            "PYTHONUNBUFFERED": "1",
            "HOOKYARD_REDIS_URL": self.redis.url(0),
            "HOOKYARD_STATE_REDIS_DB": "1",
            "HOOKYARD_NHANH_TOKENS": self._nhanh_token,
            "HOOKYARD_SHOPS": json.dumps(self._shops),
            "HOOKYARD_API_TOKENS": f"bench:admin:{self._admin_token}",
            "HOOKYARD_SHOPIFY_BASE_URL": self.sandbox_url,
            "HOOKYARD_SUCCEEDED_RETENTION_SECONDS": "86400",
            "HOOKYARD_SUCCEEDED_RETENTION_COUNT": "10000000",
            "HOOKYARD_LOG_LEVEL": "WARNING",
            **self._overrides,
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def start_ingest(self) -> None:
        port = free_port()
        self.ingest_url = f"http://127.0.0.1:{port}"
        env = {**self.env, "HOOKYARD_INGEST_BIND": f"127.0.0.1:{port}",
               "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=self.workdir)}
        ingest = self._spawn("ingest", ingest_command(), env)
        ingest.wait_http(f"{self.ingest_url}/readyz", READY_SECONDS)

    def start_worker(self, module: str, index: int, *, env: dict[str, str] | None = None) -> str:
        """``python -m <module>`` with ``env`` over the stack's settings; returns its metrics
        URL once it answers /healthz."""
        port = free_port()
        env = {**self.env, **(env or {}), "HOOKYARD_METRICS_PORT": str(port)}
        self._spawned += 1
        worker = self._spawn(f"{module}-{index}-{self._spawned}", worker_command(module), env)
        url = f"http://127.0.0.1:{port}"
        worker.wait_http(f"{url}/healthz", READY_SECONDS)
        return url

    def stop_workers(self) -> None:
        """Stop every worker process (SIGTERM, as a rollout does); Redis, the sandbox and ingest
        keep running."""
        workers = [p for p in self.processes if p.name.startswith("workers.")]
        for process in workers:
            process.stop()
        self.processes = [p for p in self.processes if p not in workers]

    def check_alive(self) -> None:
        for process in self.processes:
            reason = process.exit_reason()
            if reason is not None:
                raise StartFailure(process.name, reason, process.log_path, process.tail())

    def stop(self, *, keep_logs: bool = False) -> None:
        """Stop every process; the work directory (logs, AOF) is removed unless ``keep_logs``."""
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()
        if keep_logs:
            print(f"process logs kept in {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, name: str, command: list[str], env: Any) -> Process:
        process = Process(name, command, log_dir=self.workdir, env=env, cwd=REPO).start()
        self.processes.append(process)
        return process
