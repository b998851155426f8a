"""The systems the job benchmark compares (Hookyard, plain Dramatiq, BullMQ) on one private
Redis: a DB each, their worker processes behind a gate, filling and draining their queues."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from bench.process_accounting import process_cpu_seconds
from devstack.launcher import Process, StartFailure
from devstack.redis_server import RedisServer, free_port
from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs.records import NewJob
from hookyard.jobs.store import JobStore

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BULLMQ_VERSION = "5.81.5"
QUEUE = "customer-sync"  # the bench actors live on a real Hookyard queue
BULL_QUEUE = "bench-jobs"
HOOKYARD_BROKER_DB, HOOKYARD_STATE_DB, DRAMATIQ_DB, BULL_DB, CONTROL_DB = 0, 1, 2, 3, 15
SLEEP_SECONDS = 0.05
POLL_SECONDS = 0.002


def send_only(job_id: str) -> None:
    """Body of the sender's stand-ins for the bench actors (the workers declare the real ones)."""


def ensure_bullmq() -> None:
    package = BENCH_DIR / "node_modules" / "bullmq" / "package.json"
    if package.exists() and json.loads(package.read_text())["version"] == BULLMQ_VERSION:
        return
    print(f"installing bullmq@{BULLMQ_VERSION} into bench/node_modules ...", flush=True)
    subprocess.run(["npm", "install", "--prefix", str(BENCH_DIR), "--no-save",
                    "--no-package-lock", "--no-audit", "--no-fund",
                    f"bullmq@{BULLMQ_VERSION}"], check=True, stdout=subprocess.DEVNULL)


# --- worker processes --------------------------------------------------------------------------


class Workers:
    """``count`` worker processes of one system, started at the gate; ``go`` opens it."""

    def __init__(self, bench: JobSystems, system: str, count: int) -> None:
        self.bench = bench
        self.system = system
        self.count = count
        self.processes: list[Process] = []

    def start(self) -> Workers:
        control = self.bench.control
        control.delete(f"bench:ready:{self.system}", f"bench:go:{self.system}")
        for index in range(self.count):
            self.processes.append(Process(
                f"{self.system}-{index}-{time.monotonic_ns()}",
                self.bench.worker_command(self.system), log_dir=self.bench.workdir,
                env=self.bench.worker_env(self.system), cwd=REPO).start())
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Each worker says it is ready on a control list; one exiting first fails the wait."""
        ready = 0

        def one_more_ready() -> bool:
            nonlocal ready
            self.check_alive()
            if self.bench.control.blpop([f"bench:ready:{self.system}"], timeout=1):
                ready += 1
            return ready >= self.count

        self.processes[0].wait_ready(one_more_ready, timeout, f"{self.system} workers ready")

    def go(self) -> None:
        self.bench.control.rpush(f"bench:go:{self.system}", *["go"] * self.count)

    def pids(self) -> list[int]:
        return [p.process.pid for p in self.processes if p.process is not None]

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def check_alive(self) -> None:
        for process in self.processes:
            reason = process.exit_reason()
            if reason is not None:
                raise StartFailure(process.name, reason, process.log_path, process.tail())

    def stop(self) -> None:
        for process in self.processes:
            process.signal(signal.SIGTERM)
        for process in self.processes:
            process.stop(timeout=20)


# --- the systems under test --------------------------------------------------------------------


class JobSystems:
    """The systems under test on one Redis: their clients, how to start their workers, fill
    their queues and tell when a queue is drained."""

    def __init__(self, args: argparse.Namespace, server: RedisServer, workdir: Path) -> None:
        self.args = args
        self.server = server
        self.workdir = workdir
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
        hookyard_env = {"HOOKYARD_REDIS_URL": server.url(HOOKYARD_BROKER_DB),
                        "HOOKYARD_STATE_REDIS_DB": str(HOOKYARD_STATE_DB)}
        if args.threads:
            hookyard_env["HOOKYARD_WORKER_THREADS"] = str(args.threads)
        if args.prefetch is not None:
            hookyard_env["HOOKYARD_WORKER_PREFETCH"] = str(args.prefetch)
        self.settings = Settings.from_env(hookyard_env)
        self.threads = self.settings.worker_threads
        self.prefetch = self.settings.worker_prefetch or 2 * self.threads
        self.base_env = {**base, **hookyard_env, "PYTHONUNBUFFERED": "1",
                         "BENCH_CONTROL_URL": server.url(CONTROL_DB),
                         "BENCH_DRAMATIQ_URL": server.url(DRAMATIQ_DB),
                         "BENCH_THREADS": str(self.threads),
                         "BENCH_PREFETCH": str(self.prefetch),
                         "BENCH_SLEEP_SECONDS": str(SLEEP_SECONDS),
                         "BENCH_REDIS_PORT": str(server.port),
                         "BENCH_BULL_DB": str(BULL_DB), "BENCH_CONTROL_DB": str(CONTROL_DB)}
        self.admin = redis.Redis(port=server.port, db=CONTROL_DB)
        # No socket timeout: BLPOPs here wait longer than redis-py's default of 5 s.
        self.control = redis.Redis(port=server.port, db=CONTROL_DB, socket_timeout=None)
        self.poll = {db: redis.Redis(port=server.port, db=db, single_connection_client=True)
                     for db in (HOOKYARD_BROKER_DB, HOOKYARD_STATE_DB, DRAMATIQ_DB, BULL_DB)}
        self.jobs = JobStore(self.settings, state=redis.Redis(port=server.port,
                                                              db=HOOKYARD_STATE_DB),
                             broker=redis.Redis(port=server.port, db=HOOKYARD_BROKER_DB))
        self.dramatiq_broker = RedisBroker(url=server.url(DRAMATIQ_DB))
        self.dramatiq_actors = {
            kind: dramatiq.actor(actor_name=f"bench_{kind}", queue_name=QUEUE,
                                 broker=self.dramatiq_broker)(send_only)
            for kind in ("noop", "sleep", "probe")
        }
        self.systems = ["hookyard", "dramatiq"]
        self.bull_driver: Process | None = None
        if not args.no_bullmq and shutil.which("node") and shutil.which("npm"):
            ensure_bullmq()
            self.systems.append("bullmq")

    # processes

    def worker_command(self, system: str) -> list[str]:
        if system == "bullmq":
            return ["node", str(BENCH_DIR / "jobs_bullmq.cjs"), "worker"]
        return [sys.executable, str(BENCH_DIR / "jobs_worker.py"), system]

    def worker_env(self, system: str) -> dict[str, str]:
        env = dict(self.base_env)
        if system == "hookyard":
            env["HOOKYARD_METRICS_PORT"] = str(free_port())
        return env

    def start_bull_driver(self) -> None:
        self.bull_driver = Process("bullmq-driver",
                                   ["node", str(BENCH_DIR / "jobs_bullmq.cjs"), "driver"],
                                   log_dir=self.workdir, env=self.base_env, cwd=REPO).start()
        self.bull_reply(timeout=30)

    def bull_command(self, **command: Any) -> None:
        self.control.rpush("bench:bull:cmd", json.dumps(command))

    def bull_reply(self, timeout: float = 120) -> dict[str, Any]:
        popped = self.control.blpop(["bench:bull:reply"], timeout=timeout)
        if popped is None:
            log = self.bull_driver.tail() if self.bull_driver else ""
            raise TimeoutError(f"BullMQ driver did not answer in {timeout}s:\n{log}")
        reply: dict[str, Any] = json.loads(popped[1])
        return reply

    def stop_bull_driver(self) -> None:
        if self.bull_driver is not None and self.bull_driver.alive:
            self.bull_command(op="quit")
            self.bull_driver.stop(timeout=10)

    @contextmanager
    def workers(self, system: str, count: int) -> Iterator[Workers]:
        workers = Workers(self, system, count).start()
        try:
            yield workers
        finally:
            workers.stop()

    # queues

    def reset(self, system: str) -> None:
        dbs = {"hookyard": (HOOKYARD_BROKER_DB, HOOKYARD_STATE_DB), "dramatiq": (DRAMATIQ_DB,),
               "bullmq": (BULL_DB,)}[system]
        for db in dbs:
            self.poll[db].flushdb()

    def fill(self, system: str, kind: str, count: int) -> None:
        batch = self.args.batch
        if system == "hookyard":
            for start in range(0, count, batch):
                self.jobs.submit([NewJob(queue=QUEUE, actor=f"bench_{kind}",
                                         payload={"n": n}, shop="bench", entity=str(n))
                                  for n in range(start, min(count, start + batch))])
        elif system == "dramatiq":
            actor = self.dramatiq_actors[kind]
            for n in range(count):
                actor.send(str(n))
        else:
            self.bull_command(op="fill", name=kind, n=count, batch=batch)
            self.bull_reply(timeout=300)

    def remaining(self, system: str, total: int) -> int:
        if system == "bullmq":
            return total - int(self.poll[BULL_DB].zcard(f"bull:{BULL_QUEUE}:completed"))
        db = HOOKYARD_BROKER_DB if system == "hookyard" else DRAMATIQ_DB
        return int(self.poll[db].hlen(f"dramatiq:{QUEUE}.msgs"))

    def check_outcome(self, system: str, total: int) -> dict[str, Any]:
        """What the drain left behind: every job must have succeeded."""
        if system == "hookyard":
            totals = {k.decode(): int(v) for k, v in
                      self.poll[HOOKYARD_STATE_DB].hgetall(keys.queue_totals(QUEUE)).items()}
            ok = totals.get("succeeded", 0) == total and len(totals) == 1
            return {"ok": ok, "totals": totals}
        if system == "dramatiq":
            dead = int(self.poll[DRAMATIQ_DB].zcard(f"dramatiq:{QUEUE}.XQ"))
            waiting = int(self.poll[DRAMATIQ_DB].llen(f"dramatiq:{QUEUE}"))
            return {"ok": dead == 0 and waiting == 0, "dead": dead, "waiting": waiting}
        failed = int(self.poll[BULL_DB].zcard(f"bull:{BULL_QUEUE}:failed"))
        completed = int(self.poll[BULL_DB].zcard(f"bull:{BULL_QUEUE}:completed"))
        return {"ok": failed == 0 and completed == total, "failed": failed,
                "completed": completed}

    def wait_drained(self, system: str, total: int, workers: Workers, timeout: float) -> int:
        """Poll until every job is acknowledged; returns the number of polls (Redis commands)."""
        deadline = time.monotonic() + timeout
        next_check = time.monotonic() + 1
        polls = 1
        while self.remaining(system, total) > 0:
            polls += 1
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"{system}: {self.remaining(system, total)} of {total} jobs "
                                   f"left after {timeout}s")
            if now > next_check:
                workers.check_alive()
                next_check = now + 1
            time.sleep(POLL_SECONDS)
        return polls
