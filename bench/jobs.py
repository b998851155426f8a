"""Job benchmark: Hookyard's workers against plain Dramatiq and BullMQ, on one private Redis.

    python bench/jobs.py                 # throughput, idle pickup, round trips (about 7 min)
    python bench/jobs.py --memory        # a worker's RSS over 100,000 jobs (about 2-3 min)
    python bench/jobs.py --jobs 2000 --sleep-jobs 2000 --samples 50   # a quick look

In one run, on a private redis-server (loopback, AOF everysec, noeviction) in a temp dir:

1. **Drains.** ``--jobs`` no-op jobs, then ``--sleep-jobs`` jobs that sleep 50 ms (I/O-like),
   through ``--processes`` worker processes of ``threads`` threads and ``prefetch`` each (the
   production defaults from ``hookyard.settings`` unless overridden), for every system:

   - **hookyard**: ``bench/jobs_worker.py hookyard``: ``broker.install`` + ``hookyard.actors`` +
     ``workers.runner.serve``, so every production middleware runs (TimeLimit,
     ShutdownNotifications, JobLifecycle with its fence and delivery cap, metrics, presence,
     sweeper). Job records and messages are written by ``JobStore.submit`` in batches of
     ``--batch`` (100: a webhook of 100 items, as ingest does).
   - **dramatiq**: plain Dramatiq actors on ``dramatiq.brokers.redis.RedisBroker`` with its
     default middleware, sent with ``actor.send``; the same processes, threads, prefetch and
     worker timeout, on the same Redis (another DB).
   - **bullmq** (when ``node`` and ``npm`` are on PATH): ``bench/jobs_bullmq.cjs``, BullMQ
     (pinned, installed into ``bench/node_modules``) with ``concurrency`` = threads, the same
     number of processes, queue filled with ``addBulk`` in the same batches.

   The queue is filled while the workers wait at a gate (after their imports); a drain is timed
   from opening the gate to the last job acknowledged (the Dramatiq message hash empty; for
   BullMQ, every job in ``completed``). Systems alternate within a round and rounds reverse the
   order (H D B, B D H, ...), so load drift from other work on the machine hits all of them.
2. **Idle pickup.** The same workers, idle, receive one ``probe`` job at a time, round-robin
   over the systems with a random gap; enqueue -> start is the time from just before the
   enqueue call to the first line of the actor body (wall clock, same machine), ``--samples``
   per system.
3. **Round trips.** A separate drain of ``--count-jobs`` no-op jobs per system under ``MONITOR``:
   commands sent by clients (round trips; pipelined commands count one each) and commands run
   inside Lua scripts, per job. Not timed (``MONITOR`` slows Redis down).

``--memory`` instead runs one Hookyard worker process through ``--memory-jobs`` no-op jobs
(the queue kept topped up) and samples its resident memory every 10,000 jobs; the target is RSS
after 100,000 within 10 % of RSS after 10,000.

Results go to stdout and ``bench/.results/jobs-<timestamp>.json``. Only loopback is used; every
process the run starts is stopped when it ends (also on Ctrl-C or error).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from devstack.launcher import Process, StartFailure
from devstack.redis_server import RedisServer, free_port
from hookyard import keys
from hookyard.jobs import JobStore, NewJob
from hookyard.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / ".results"
BULLMQ_VERSION = "5.81.5"
QUEUE = "customer-sync"  # the bench actors live on a real Hookyard queue
BULL_QUEUE = "bench-jobs"
HOOKYARD_BROKER_DB, HOOKYARD_STATE_DB, DRAMATIQ_DB, BULL_DB, CONTROL_DB = 0, 1, 2, 3, 15
SLEEP_SECONDS = 0.05
NOOP_RATIO_TARGET = 0.8
SLEEP_UTILISATION_TARGET = 0.9
PICKUP_P99_TARGET_SECONDS = 0.050
MEMORY_GROWTH_TARGET = 0.10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.002


# --- small helpers ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def redis_cpu_seconds(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def machine() -> dict[str, Any]:
    cpu = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "dramatiq": metadata.version("dramatiq"),
            "redis_py": metadata.version("redis"), "loadavg_start": os.getloadavg()}


def script_names() -> dict[str, str]:
    """sha1 -> a readable name for every Lua script the Python systems run."""
    names = {}
    lua = resources.files("hookyard") / "lua"
    for entry in lua.iterdir():
        if entry.name.endswith(".lua"):
            source = entry.read_text(encoding="utf-8").encode()
            names[hashlib.sha1(source, usedforsecurity=False).hexdigest()] = \
                "hookyard:" + entry.name[:-4]
    dispatch = Path(dramatiq.__file__).parent / "brokers" / "redis" / "dispatch.lua"
    sha = hashlib.sha1(dispatch.read_bytes(), usedforsecurity=False).hexdigest()
    names[sha] = "dramatiq:dispatch"
    return names


def send_only(job_id: str) -> None:
    """Body of the sender's stand-ins for the bench actors (the workers declare the real ones)."""


# --- worker processes --------------------------------------------------------------------------


class Workers:
    """``count`` worker processes of one system, started at the gate; ``go`` opens it."""

    def __init__(self, bench: Bench, system: str, count: int) -> None:
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


# --- the benchmark -----------------------------------------------------------------------------


class Bench:
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

    # phases

    def drain(self, system: str, kind: str, total: int) -> dict[str, Any]:
        self.reset(system)
        with self.workers(system, self.args.processes) as workers:
            self.fill(system, kind, total)
            workers.wait_ready()
            stats_before = self.admin.info("commandstats")
            redis_cpu = redis_cpu_seconds(self.admin)
            worker_cpu = workers.cpu_seconds()
            load = os.getloadavg()[0]
            started = time.perf_counter()
            workers.go()
            self.wait_drained(system, total, workers, self.args.drain_timeout)
            seconds = time.perf_counter() - started
            worker_cpu = workers.cpu_seconds() - worker_cpu
            redis_cpu = redis_cpu_seconds(self.admin) - redis_cpu
            commands = commands_delta(stats_before, self.admin.info("commandstats"))
        outcome = self.check_outcome(system, total)
        if not outcome["ok"]:
            raise RuntimeError(f"{system} {kind} drain did not end as expected: {outcome}")
        result = {"system": system, "kind": kind, "jobs": total, "seconds": round(seconds, 3),
                  "jobs_per_second": round(total / seconds, 1),
                  "worker_cpu_ms_per_job": round(worker_cpu * 1000 / total, 3),
                  "redis_cpu_ms_per_job": round(redis_cpu * 1000 / total, 3),
                  "redis_commands_per_job": round(sum(commands.values()) / total, 2),
                  "loadavg_1m": load}
        print(f"  {kind:5} {system:8} {total:6} jobs {seconds:7.2f} s "
              f"{result['jobs_per_second']:8.1f} jobs/s  worker CPU "
              f"{result['worker_cpu_ms_per_job']:.3f} ms/job  Redis CPU "
              f"{result['redis_cpu_ms_per_job']:.3f} ms/job  load {load:.2f}", flush=True)
        return result

    def probe(self, system: str) -> float:
        probe_id = str(uuid.uuid4())
        if system == "hookyard":
            job = NewJob(queue=QUEUE, actor="bench_probe", payload={}, shop="bench",
                         job_id=probe_id)
            sent = time.time()
            self.jobs.submit([job])
        elif system == "dramatiq":
            sent = time.time()
            self.dramatiq_actors["probe"].send(probe_id)
        else:
            self.bull_command(op="probe", id=probe_id)
            sent = float(self.bull_reply(timeout=10)["t0"])
        popped = self.control.blpop([f"bench:started:{system}"], timeout=10)
        if popped is None:
            raise TimeoutError(f"{system}: probe {probe_id} did not start within 10 s")
        started_id, started_at = popped[1].decode().split()
        if started_id != probe_id:
            raise RuntimeError(f"{system}: expected probe {probe_id}, got {started_id}")
        return float(started_at) - sent

    def pickup(self) -> dict[str, dict[str, Any]]:
        samples: dict[str, list[float]] = {system: [] for system in self.systems}
        with contextlib_all([self.workers(s, self.args.processes) for s in self.systems]) as all_:
            for workers in all_:
                self.reset(workers.system)
            for workers in all_:
                workers.wait_ready()
                workers.go()
            time.sleep(2)  # let every consumer go idle
            rng = random.Random(7)
            for index in range(self.args.samples):
                order = self.systems[index % len(self.systems):] + \
                    self.systems[:index % len(self.systems)]
                for system in order:
                    time.sleep(rng.uniform(*self.args.gap))
                    samples[system].append(self.probe(system))
        result = {}
        for system, values in samples.items():
            result[system] = {"samples": len(values),
                              "p50_ms": round(percentile(values, 50) * 1000, 2),
                              "p99_ms": round(percentile(values, 99) * 1000, 2),
                              "max_ms": round(max(values) * 1000, 2),
                              "mean_ms": round(statistics.fmean(values) * 1000, 2),
                              "samples_ms": [round(v * 1000, 3) for v in values]}
        return result

    def round_trips(self, system: str, total: int) -> dict[str, Any]:
        """Commands per job under MONITOR: sent by clients (round trips) and run by scripts."""
        self.reset(system)
        names = script_names()
        dbs = {"hookyard": {HOOKYARD_BROKER_DB, HOOKYARD_STATE_DB}, "dramatiq": {DRAMATIQ_DB},
               "bullmq": {BULL_DB}}[system]
        poll_db = HOOKYARD_BROKER_DB if system == "hookyard" else \
            DRAMATIQ_DB if system == "dramatiq" else BULL_DB
        mine = {self.poll[poll_db].client_info()["addr"]}
        sent: Counter[str] = Counter()
        scripted: Counter[str] = Counter()
        marker = f"bench-monitor-end-{uuid.uuid4().hex}"
        ready = threading.Event()
        monitor_client = redis.Redis(port=self.server.port)

        def watch() -> None:
            with monitor_client.monitor() as monitor:
                ready.set()
                for entry in monitor.listen():
                    command = entry["command"]
                    if marker in command:
                        return
                    if int(entry["db"]) not in dbs:
                        continue
                    words = command.split(" ")
                    name = words[0].lower()
                    if entry.get("client_type") == "lua":
                        scripted[name] += 1
                        continue
                    address = f"{entry.get('client_address')}:{entry.get('client_port')}"
                    if address in mine:
                        continue
                    if name == "evalsha" and len(words) > 1:
                        name = names.get(words[1], f"evalsha:{words[1][:8]}")
                        if name == "dramatiq:dispatch" and len(words) > 4:
                            name += ":" + words[4]
                    sent[name] += 1

        with self.workers(system, self.args.processes) as workers:
            self.fill(system, "noop", total)
            workers.wait_ready()
            thread = threading.Thread(target=watch, daemon=True)
            thread.start()
            ready.wait(5)
            time.sleep(0.3)
            reads = int(self.admin.info("stats")["total_reads_processed"])
            workers.go()
            polls = self.wait_drained(system, total, workers, self.args.drain_timeout)
            time.sleep(0.2)
            # Reads Redis did from client sockets: one per round trip (a pipeline arrives in one
            # read), less this benchmark's own polls, its INFO and the gate.
            reads = int(self.admin.info("stats")["total_reads_processed"]) - reads - polls - 2
            self.admin.echo(marker)
            thread.join(30)
        monitor_client.close()
        outcome = self.check_outcome(system, total)
        if not outcome["ok"]:
            raise RuntimeError(f"{system} counting drain did not end as expected: {outcome}")
        per_job = {name: round(count / total, 3) for name, count in sent.most_common()}
        return {"jobs": total, "round_trips_per_job": round(reads / total, 3),
                "commands_sent_per_job": round(sum(sent.values()) / total, 3),
                "scripted_commands_per_job": round(sum(scripted.values()) / total, 3),
                "by_command": per_job}


@contextmanager
def contextlib_all(managers: list[Any]) -> Iterator[list[Any]]:
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield [stack.enter_context(m) for m in managers]


def commands_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    delta = {}
    for name, stats in after.items():
        calls = int(stats["calls"]) - int(before.get(name, {}).get("calls", 0))
        if calls and name not in ("cmdstat_info",):
            delta[name.removeprefix("cmdstat_")] = calls
    return delta


def ensure_bullmq() -> None:
    package = BENCH_DIR / "node_modules" / "bullmq" / "package.json"
    if package.exists() and json.loads(package.read_text())["version"] == BULLMQ_VERSION:
        return
    print(f"installing bullmq@{BULLMQ_VERSION} into bench/node_modules ...", flush=True)
    subprocess.run(["npm", "install", "--prefix", str(BENCH_DIR), "--no-save",
                    "--no-package-lock", "--no-audit", "--no-fund",
                    f"bullmq@{BULLMQ_VERSION}"], check=True, stdout=subprocess.DEVNULL)


# --- modes ---------------------------------------------------------------------------------------


def run_throughput(bench: Bench) -> dict[str, Any]:
    args = bench.args
    if "bullmq" in bench.systems:
        bench.start_bull_driver()
    drains: list[dict[str, Any]] = []
    for kind, total, rounds in (("noop", args.jobs, args.rounds),
                                ("sleep", args.sleep_jobs, args.sleep_rounds)):
        for index in range(rounds):
            order = bench.systems if index % 2 == 0 else list(reversed(bench.systems))
            for system in order:
                drains.append(bench.drain(system, kind, total))
    pickup: dict[str, Any] = {}
    if args.samples:
        print("  idle pickup ...", flush=True)
        pickup = bench.pickup()
    trips: dict[str, Any] = {}
    if args.count_jobs:
        print("  round trips (MONITOR) ...", flush=True)
        trips = {system: bench.round_trips(system, args.count_jobs) for system in bench.systems}
    bench.stop_bull_driver()
    return {"drains": drains, "pickup": pickup, "round_trips": trips}


def summarise(bench: Bench, results: dict[str, Any]) -> dict[str, Any]:
    drains = results["drains"]
    limit = bench.args.processes * bench.threads / SLEEP_SECONDS

    def rates(system: str, kind: str) -> list[float]:
        return [d["jobs_per_second"] for d in drains if d["system"] == system
                and d["kind"] == kind]

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else float("nan")

    summary: dict[str, Any] = {"concurrency_limit_jobs_per_second": limit}
    noop_h, noop_d = rates("hookyard", "noop"), rates("dramatiq", "noop")
    # Per round, Hookyard over Dramatiq (adjacent runs), then their mean.
    per_round = [h / d for h, d in zip(noop_h, noop_d, strict=True)]
    summary["noop_ratio_per_round"] = [round(r, 3) for r in per_round]
    summary["noop_ratio"] = round(mean(per_round), 3)
    summary["sleep_utilisation"] = {
        system: round(mean(rates(system, "sleep")) / limit, 3) for system in bench.systems}
    targets = summary["targets"] = {
        "noop_ratio >= 0.8": summary["noop_ratio"] >= NOOP_RATIO_TARGET,
        "sleep_utilisation >= 0.9":
            summary["sleep_utilisation"]["hookyard"] >= SLEEP_UTILISATION_TARGET,
    }
    if results["pickup"]:
        targets["pickup_p99 <= 50 ms"] = \
            results["pickup"]["hookyard"]["p99_ms"] <= PICKUP_P99_TARGET_SECONDS * 1000

    print()
    print(f"{bench.args.processes} processes x {bench.threads} threads, prefetch "
          f"{bench.prefetch}; 50 ms jobs: concurrency limit {limit:.0f} jobs/s")
    print()
    print("| workload | system | jobs/s (each run) | mean | x dramatiq | worker CPU ms/job |"
          " Redis CPU ms/job | Redis cmds/job |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for kind in ("noop", "sleep"):
        reference = mean(rates("dramatiq", kind))
        for system in bench.systems:
            runs = [d for d in drains if d["system"] == system and d["kind"] == kind]
            values = [d["jobs_per_second"] for d in runs]
            if not runs:
                continue
            print(f"| {kind} | {system} | {', '.join(f'{v:.0f}' for v in values)} | "
                  f"{mean(values):.0f} | {mean(values) / reference:.2f} | "
                  f"{mean([d['worker_cpu_ms_per_job'] for d in runs]):.3f} | "
                  f"{mean([d['redis_cpu_ms_per_job'] for d in runs]):.3f} | "
                  f"{mean([d['redis_commands_per_job'] for d in runs]):.1f} |")
    print()
    print("| idle pickup (enqueue -> start) | samples | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for system, p in results["pickup"].items():
        print(f"| {system} | {p['samples']} | {p['p50_ms']} | {p['p99_ms']} | {p['max_ms']} |")
    print()
    print("| per job | round trips | commands sent | inside scripts | commands sent, biggest |")
    print("|---|---:|---:|---:|---|")
    for system, t in results["round_trips"].items():
        top = ", ".join(f"{k} {v}" for k, v in list(t["by_command"].items())[:6])
        print(f"| {system} | {t['round_trips_per_job']} | {t['commands_sent_per_job']} | "
              f"{t['scripted_commands_per_job']} | {top} |")
    print()
    print(f"no-op drain, Hookyard / plain Dramatiq: {summary['noop_ratio']:.3f} per round "
          f"{summary['noop_ratio_per_round']} (target >= {NOOP_RATIO_TARGET})")
    print("50 ms jobs, share of the concurrency limit: " + ", ".join(
        f"{s} {u:.3f}" for s, u in summary["sleep_utilisation"].items())
          + f" (target Hookyard >= {SLEEP_UTILISATION_TARGET})")
    for name, ok in summary["targets"].items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    return summary


def run_memory(bench: Bench) -> dict[str, Any]:
    args = bench.args
    total, step = args.memory_jobs, args.memory_step
    bench.reset("hookyard")
    totals_key = keys.queue_totals(QUEUE)
    samples: list[dict[str, Any]] = []
    with bench.workers("hookyard", 1) as workers:
        workers.wait_ready()
        workers.go()
        pid = workers.pids()[0]
        samples.append({"jobs": 0, "rss_bytes": rss_bytes(pid)})
        submitted = 0
        next_sample = step
        started = time.monotonic()
        while True:
            done = int(bench.poll[HOOKYARD_STATE_DB].hget(totals_key, "succeeded") or 0)
            if done >= next_sample:
                samples.append({"jobs": done, "rss_bytes": rss_bytes(pid),
                                "seconds": round(time.monotonic() - started, 1)})
                print(f"  {done:7} jobs  RSS {samples[-1]['rss_bytes'] / 2**20:7.1f} MiB",
                      flush=True)
                next_sample += step
                if done >= total:
                    break
            backlog = int(bench.poll[HOOKYARD_BROKER_DB].llen(keys.broker_queue(QUEUE)))
            if submitted < total and backlog < args.memory_backlog:
                count = min(args.batch * 10, total - submitted)
                for start in range(submitted, submitted + count, args.batch):
                    bench.jobs.submit([NewJob(queue=QUEUE, actor="bench_noop", payload={"n": n},
                                              shop="bench", entity=str(n))
                                       for n in range(start, min(total, start + args.batch))])
                submitted += count
            else:
                time.sleep(0.05)
            if time.monotonic() - started > args.drain_timeout * 5:
                raise TimeoutError(f"memory run: only {done} of {total} jobs done")
            workers.check_alive()
    base = next(s for s in samples if s["jobs"] >= step)["rss_bytes"]
    final = samples[-1]["rss_bytes"]
    growth = final / base - 1
    print()
    print(f"RSS after {samples[1]['jobs']} jobs {base / 2**20:.1f} MiB, after "
          f"{samples[-1]['jobs']} jobs {final / 2**20:.1f} MiB: {growth * 100:+.1f} % "
          f"({'PASS' if abs(growth) <= MEMORY_GROWTH_TARGET else 'MISS'} within "
          f"{MEMORY_GROWTH_TARGET * 100:.0f} %)")
    return {"samples": samples, "growth": round(growth, 4),
            "target_met": abs(growth) <= MEMORY_GROWTH_TARGET}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="no-op jobs per drain")
    parser.add_argument("--sleep-jobs", type=int, default=20_000, help="50 ms jobs per drain")
    parser.add_argument("--rounds", type=int, default=2, help="no-op drains per system")
    parser.add_argument("--sleep-rounds", type=int, default=1, help="50 ms drains per system")
    parser.add_argument("--processes", type=int, default=2, help="worker processes per system")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per process (default: HOOKYARD_WORKER_THREADS default)")
    parser.add_argument("--prefetch", type=int, default=None,
                        help="prefetch per process (default: HOOKYARD_WORKER_PREFETCH default)")
    parser.add_argument("--batch", type=int, default=100, help="jobs per JobStore.submit")
    parser.add_argument("--samples", type=int, default=200, help="idle pickups per system")
    parser.add_argument("--gap", type=float, nargs=2, default=(0.05, 0.25),
                        metavar=("MIN", "MAX"), help="random pause before each probe (s)")
    parser.add_argument("--count-jobs", type=int, default=2000,
                        help="no-op jobs per system for the MONITOR round-trip count")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--no-bullmq", action="store_true", help="skip BullMQ")
    parser.add_argument("--memory", action="store_true",
                        help="only the memory check: RSS of one Hookyard worker over many jobs")
    parser.add_argument("--memory-jobs", type=int, default=100_000)
    parser.add_argument("--memory-step", type=int, default=10_000)
    parser.add_argument("--memory-backlog", type=int, default=2_000)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="hookyard-bench-jobs-") as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir / "redis")
        server.start()
        bench: Bench | None = None
        try:
            bench = Bench(args, server, workdir)
            report: dict[str, Any] = {"started": stamp, "machine": machine(),
                                      "args": {k: v for k, v in vars(args).items()},
                                      "threads": bench.threads, "prefetch": bench.prefetch,
                                      "processes": args.processes,
                                      "redis": bench.admin.info("server")["redis_version"]}
            if "bullmq" in bench.systems:
                report["bullmq"] = BULLMQ_VERSION
            print(f"jobs benchmark: systems {', '.join(bench.systems)}; {args.processes} "
                  f"processes x {bench.threads} threads, prefetch {bench.prefetch}; load "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
            if args.memory:
                report["memory"] = run_memory(bench)
                name = f"jobs-memory-{stamp}.json"
            else:
                report.update(run_throughput(bench))
                report["summary"] = summarise(bench, report)
                name = f"jobs-{stamp}.json"
            report["machine"]["loadavg_end"] = os.getloadavg()
            RESULTS_DIR.mkdir(exist_ok=True)
            (RESULTS_DIR / name).write_text(json.dumps(report, indent=2))
            print(f"\nresults: bench/.results/{name}")
        finally:
            if bench is not None:
                bench.stop_bull_driver()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
