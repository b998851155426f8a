"""Ingest benchmark: Hookyard's ``POST /webhooks/nhanh`` against a bare Falcon + Dramatiq endpoint.

    python bench/ingest.py [--rate 500] [--duration 20] [--repeats 3] [--items 10]

In one run, on a private redis-server (AOF everysec, noeviction, the settings of
``devstack.redis_server``) started in a temp dir:

1. Hookyard ingest under gunicorn exactly as deployed (``-c python:ingest.gunicorn_conf``):
   saturation throughput (closed loop: every connection sends again as soon as it is answered)
   and latency at a fixed offered rate (open loop: latency counted from the scheduled send time,
   so a stalled server cannot hide its stalls), ``--repeats`` times; the p99 target is judged on
   the median repetition, and every repetition's p99 and the p99 of all of them pooled are
   printed too (this 2-core VM's speed swings by a third from minute to minute,
   docs/performance.md). Every measured phase starts on an emptied Redis whose AOF was just
   rewritten, so no phase inherits the previous phase's jobs; AOF rewrites that happen during
   a phase are counted and shown.
2. The reference (``bench/reference_app.py``): the same load, the same gunicorn worker class,
   workers, threads and keep-alive, on the same Redis.

Every request is a distinct ``inventoryChange`` body of ``--items`` products (the ingest
de-duplicates identical bodies), and only ``200 {"accepted": <items>, "duplicate": false}``
counts as a success. After each phase Redis must hold exactly ``successes x items`` jobs, or the
run says so. The generator's own CPU is measured and printed. Results go to stdout and to
``bench/.results/ingest-<timestamp>.json``. Nothing is installed; only loopback is used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO / "tests"))  # nhanh_payloads: the bodies tests use

from devstack.commands import INGEST_APP, INGEST_CONFIG  # noqa: E402
from devstack.launcher import Process  # noqa: E402
from devstack.redis_server import RedisServer, free_port  # noqa: E402
from hookyard import keys  # noqa: E402
from load_generator import (  # noqa: E402
    COUNTER_SENTINEL,
    BodyTemplate,
    LoadResult,
    LoadSpec,
    percentile,
    run_processes,
)
from nhanh_payloads import BUSINESS_ID, DEPOT, LOCATION, TOKEN, inventory_body  # noqa: E402
from reference_app import QUEUE as REFERENCE_QUEUE  # noqa: E402

BROKER_DB = 0
STATE_DB = 1
INGEST_QUEUE = "inventory-sync"
THROUGHPUT_RATIO_TARGET = 0.8
NOT_DUPLICATE = re.compile(rb'"duplicate":\s*false')
P99_TARGET_SECONDS = 0.010
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- processes ---------------------------------------------------------------------------------


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU of one live process (0 when it is gone), with ``reaped_children`` plus
    that of its children that ended and were waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def redis_cpu_seconds(pid: int) -> float:
    """Redis's CPU including its AOF-rewrite children, running or ended: they are Redis's work
    (and would otherwise count as "other processes")."""
    return process_cpu_seconds(pid, reaped_children=True) + sum(
        process_cpu_seconds(child) for child in child_pids(pid))


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy (not idle or waiting for I/O), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def child_pids(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == parent:
            children.append(int(entry.name))
    return children


@dataclass
class Server:
    """One gunicorn master (and its workers) started by the benchmark."""

    name: str
    launched: Process
    port: int

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.launched.process is not None
        return self.launched.process

    def pids(self) -> list[int]:
        return [self.process.pid, *child_pids(self.process.pid)]

    def cpu_by_pid(self) -> dict[int, float]:
        return {pid: process_cpu_seconds(pid) for pid in self.pids()}

    def log_tail(self, chars: int = 3000) -> str:
        return self.launched.tail(chars)

    def answers_healthz(self) -> bool:
        """``GET /healthz`` is 200 and the master has forked its workers."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
        except OSError:
            return False
        return status == 200 and len(self.pids()) > 1


@contextmanager
def gunicorn(name: str, args: list[str], env: dict[str, str], port: int,
             workdir: Path) -> Iterator[Server]:
    launched = Process(name, [sys.executable, "-m", "gunicorn", *args], log_dir=workdir,
                       env=env, cwd=REPO).start()
    server = Server(name, launched, port)
    try:
        launched.wait_ready(server.answers_healthz, 30, f"answering /healthz on {port}")
        yield server
    finally:
        launched.stop(timeout=30)


# --- Redis ------------------------------------------------------------------------------------


CONNECTION_SETUP = frozenset({"hello", "select", "ping", "client", "auth"})


def count_round_trips(client: redis.Redis, send_one: Callable[[], None],
                      webhooks: int = 20) -> dict[str, Any]:
    """Redis commands per webhook, from ``MONITOR`` while ``webhooks`` are sent one by one:
    sent by a client (round trips) or run inside a Lua script. Commands that only set up a new
    pooled connection (HELLO, SELECT, PING) are counted apart: they are not per webhook."""
    seen: list[dict[str, Any]] = []
    marker = f"bench-monitor-end-{time.time_ns()}"
    ready = threading.Event()

    def watch() -> None:
        with client.monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                if marker in entry["command"]:
                    return
                seen.append(entry)

    client.ping()  # the marker's ECHO must not open (and HELLO) a connection of its own
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)  # MONITOR is registered once its reply arrived; give it a moment
    for _ in range(webhooks):
        send_one()
    client.echo(marker)
    thread.join(10)
    from_clients = [e["command"].split(" ", 1)[0].strip('"').lower() for e in seen
                    if e.get("client_type") != "lua"]
    per_webhook = [c for c in from_clients if c not in CONNECTION_SETUP]
    counts: dict[str, float] = {}
    for command in per_webhook:
        counts[command] = counts.get(command, 0) + 1
    return {
        "webhooks": webhooks,
        "round_trips": round(len(per_webhook) / webhooks, 2),
        "commands": {k: round(v / webhooks, 2) for k, v in sorted(counts.items())},
        "connection_setup_commands": len(from_clients) - len(per_webhook),
        "commands_inside_lua": round(sum(e.get("client_type") == "lua" for e in seen)
                                     / webhooks, 1),
    }


def command_stats(client: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(stats["calls"])
            for name, stats in client.info("commandstats").items()}


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Target:
    """What is benchmarked: how to start it and how to count the jobs it wrote."""

    name: str
    gunicorn_args: list[str]
    env: dict[str, str]
    count_jobs: Callable[[], dict[str, int]]


@dataclass
class Phase:
    name: str
    mode: str
    result: LoadResult
    server_cpu: float
    redis_cpu: float
    machine_cpu: float
    worker_cpu: list[float]
    commands: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    expected_jobs: int = 0
    redis_forks: int = 0

    def summary(self, items: int, rate: float | None) -> dict[str, Any]:
        r = self.result
        latencies = sorted(r.latencies)
        wall = r.wall_seconds or 1.0
        summary: dict[str, Any] = {
            "mode": self.mode,
            "offered_rate": rate,
            "duration_seconds": round(wall, 3),
            "ok": r.ok,
            "errors": r.failed,
            "error_detail": {"status": r.bad_status, "bad_body": r.bad_body, **r.errors},
            "first_error": r.first_bad or None,
            "throughput_per_second": round(r.ok / wall, 1),
            "latency_ms": {name: round(percentile(latencies, q) * 1000, 3) for name, q in
                           (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999),
                            ("max", 1.0))},
            "late_sends_over_1ms": r.late_sends,
            "connections_used": r.max_connections_used,
            "cpu_cores": {
                "generator": round(r.cpu_seconds / wall, 3),
                "gunicorn": round(self.server_cpu / wall, 3),
                "redis": round(self.redis_cpu / wall, 3),
                # Everything else on the machine (other users' processes): noise to report.
                "other": round(max(0.0, self.machine_cpu - r.cpu_seconds - self.server_cpu
                                   - self.redis_cpu) / wall, 3),
            },
            # Keep-alive connections stay with the worker that accepted them: how evenly the
            # gunicorn workers shared the work (CPU seconds of each, busiest first).
            "worker_cpu_seconds": self.worker_cpu,
            "busiest_worker_share": round(max(self.worker_cpu, default=0.0)
                                          / max(sum(self.worker_cpu), 1e-9), 3),
            "cpu_ms_per_webhook": {
                "generator": round(r.cpu_seconds * 1000 / max(r.ok, 1), 3),
                "gunicorn": round(self.server_cpu * 1000 / max(r.ok, 1), 3),
                "redis": round(self.redis_cpu * 1000 / max(r.ok, 1), 3),
            },
            "redis_commands_per_webhook": {
                name: round(calls / max(r.ok, 1), 2) for name, calls in
                sorted(self.commands.items(), key=lambda kv: -kv[1]) if calls},
            "jobs_in_redis": self.jobs,
            "jobs_expected": self.expected_jobs,
            # Forks for AOF rewrites while the phase ran: each stalls Redis, and the child then
            # takes a core for the rewrite.
            "redis_forks": self.redis_forks,
            "jobs_match": all(v == self.expected_jobs for v in self.jobs.values()),
        }
        extra = max(self.jobs.values(), default=0) - self.expected_jobs
        if extra and extra % items == 0 and 0 < extra // items <= r.failed:
            # A 503 after the ingest's Redis timeout can follow a script that did commit; the
            # sender's retry of that body is then answered "duplicate" with the original ids.
            summary["jobs_note"] = (f"{extra // items} deliveries answered with an error were "
                                    "committed by Redis after the ingest gave up waiting")
        elif extra:
            summary["jobs_note"] = f"{extra} jobs more (or fewer) than accepted x items"
        return summary


class Bench:
    def __init__(self, args: argparse.Namespace, redis_server: RedisServer, workdir: Path):
        self.args = args
        self.redis_server = redis_server
        self.workdir = workdir
        self.client = redis.Redis(port=redis_server.port)
        self.tag = datetime.now(UTC).strftime("%H%M%S")
        self.phase_index = 0

    def template(self) -> BodyTemplate:
        """A body of ``--items`` products whose quantities are the per-request counter and
        whose SKUs carry this phase's tag: bodies never repeat within or across runs."""
        self.phase_index += 1
        skus = [f"BENCH-{self.tag}-{self.phase_index}-{i}" for i in range(self.args.items)]
        body = inventory_body(skus, available=int(COUNTER_SENTINEL))
        return BodyTemplate.from_body(body)

    def load(self, port: int, mode: str, duration: float, connections: int,
             rate: float = 0.0) -> LoadResult:
        template = self.template()
        processes = self.args.processes
        start_at = time.time() + 0.3
        base = self.phase_index * 100_000_000

        def spec(i: int) -> LoadSpec:
            return LoadSpec(
                host="127.0.0.1", port=port, path="/webhooks/nhanh", template=template,
                counter_start=base + i * 10_000_000, mode=mode, duration=duration,
                connections=max(1, connections // processes), rate=rate / processes,
                max_connections=max(1, self.args.max_connections // processes),
                expected_accepted=self.args.items, start_at=start_at,
                keepalive=not self.args.no_keepalive)

        return run_processes(spec, processes)

    def empty_redis(self) -> None:
        """Start a phase on an empty Redis with a freshly rewritten (small) AOF: no phase
        inherits the previous one's jobs, or the AOF rewrite they would soon trigger."""
        self.client.flushall()
        for _ in range(3):
            self.wait_for_aof_rewrite()  # one Redis started itself (of the old data) ends first
            try:
                self.client.bgrewriteaof()
            except redis.ResponseError as exc:
                if "already in progress" not in str(exc):
                    raise
                continue
            self.wait_for_aof_rewrite()
            return
        raise RuntimeError("Redis kept starting AOF rewrites of its own; run on an idle machine")

    def wait_for_aof_rewrite(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            persistence = self.client.info("persistence")
            if not (persistence["aof_rewrite_in_progress"]
                    or persistence["aof_rewrite_scheduled"]):
                return
            time.sleep(0.05)
        raise TimeoutError(f"Redis did not finish rewriting its AOF within {timeout:g} s")

    def measure(self, server: Server, target: Target, name: str, mode: str,
                connections: int, rate: float) -> Phase:
        """One measured phase, on an emptied Redis."""
        self.empty_redis()
        redis_pid = self.redis_server.process.pid  # type: ignore[union-attr]
        self.client.config_resetstat()  # also zeroes total_forks
        forks = int(self.client.info("stats")["total_forks"])
        by_pid, cpu_redis = server.cpu_by_pid(), redis_cpu_seconds(redis_pid)
        cpu_machine = machine_busy_seconds()
        result = self.load(server.port, mode, self.args.duration, connections, rate)
        after = server.cpu_by_pid()
        workers = sorted((after[pid] - by_pid[pid] for pid in by_pid
                          if pid in after and pid != server.process.pid), reverse=True)
        cpu_server = sum(after.values()) - sum(by_pid.get(pid, 0.0) for pid in after)
        cpu_redis = redis_cpu_seconds(redis_pid) - cpu_redis
        cpu_machine = machine_busy_seconds() - cpu_machine
        phase = Phase(name, mode, result, cpu_server, cpu_redis, cpu_machine,
                      [round(w, 2) for w in workers], command_stats(self.client))
        phase.redis_forks = int(self.client.info("stats")["total_forks"]) - forks
        phase.expected_jobs = result.ok * self.args.items
        phase.jobs = target.count_jobs()
        return phase

    def run_target(self, target: Target) -> dict[str, Any]:
        port = int(target.env["BENCH_PORT"])
        self.client.flushall()
        with gunicorn(target.name, target.gunicorn_args, target.env, port,
                      self.workdir) as server:
            warm = self.load(port, "closed", self.args.warmup, self.args.connections)
            if warm.failed or not warm.ok:
                raise RuntimeError(f"{target.name}: warm-up failed ({warm.failed} errors, "
                                   f"first: {warm.first_bad}):\n{server.log_tail()}")
            probe_template = self.template()
            probe_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe_counter = iter(range(1, 1_000))

            def send_one() -> None:
                probe_conn.request("POST", "/webhooks/nhanh",
                                   probe_template.render(next(probe_counter)),
                                   {"Content-Type": "application/json"})
                answer = probe_conn.getresponse()
                body = answer.read()
                if answer.status != 200 or not NOT_DUPLICATE.search(body):
                    raise RuntimeError(f"{target.name}: probe answered {answer.status} {body!r}")

            probe = count_round_trips(redis.Redis(port=self.redis_server.port), send_one)
            probe_conn.close()
            saturation = self.measure(server, target, "saturation", "closed",
                                      self.args.connections, 0.0)
            fixed_runs = [self.measure(server, target, "fixed_rate", "open",
                                       self.args.open_connections, self.args.rate)
                          for _ in range(self.args.repeats)]
            gunicorn_errors = [line for line in server.log_tail(200_000).splitlines()
                               if '"level": "error"' in line or "Traceback" in line
                               or "[ERROR]" in line or "WORKER TIMEOUT" in line]
        return {
            "warmup": {"ok": warm.ok, "seconds": self.args.warmup},
            "redis_per_webhook": probe,
            "saturation": saturation.summary(self.args.items, None),
            **fixed_rate_summary(fixed_runs, self.args),
            "server_log_errors": gunicorn_errors[:5],
        }


def fixed_rate_summary(runs: list[Phase], args: argparse.Namespace) -> dict[str, Any]:
    """The fixed-rate repetitions: each one's summary, the median p99 (what the target is
    judged on) and the p99 of all latencies pooled. ``fixed_rate`` is the repetition whose p99
    is the median, shown whole."""
    summaries = [run.summary(args.items, args.rate) for run in runs]
    p99s = [summary["latency_ms"]["p99"] for summary in summaries]
    median_run = sorted(range(len(runs)), key=lambda i: p99s[i])[len(runs) // 2]
    pooled = sorted(latency for run in runs for latency in run.result.latencies)
    return {
        "fixed_rate": summaries[median_run],
        "fixed_rate_repetitions": summaries,
        "fixed_rate_p99_ms": {"each": p99s, "median": p99s[median_run],
                              "pooled": round(percentile(pooled, 0.99) * 1000, 3)},
    }


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    versions = {name: metadata.version(name) for name in
                ("falcon", "gunicorn", "dramatiq", "prometheus_client")}
    versions["redis_py"] = metadata.version("redis")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                         text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "services"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.count("\n")
    return {"git_commit": git, "uncommitted_service_files": dirty,
            "cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(), **versions}


def hookyard_target(args: argparse.Namespace, redis_url: str, base_env: dict[str, str],
                    client: redis.Redis) -> Target:
    port = free_port()
    shop = {"id": "acme", "nhanh_business_id": BUSINESS_ID,
            "shopify_domain": "acme.myshopify.com", "access_token": "x", "plan": "standard",
            "depots": {DEPOT: LOCATION}}
    env = {**base_env, "BENCH_PORT": str(port),
           "HOOKYARD_REDIS_URL": redis_url, "HOOKYARD_STATE_REDIS_DB": str(STATE_DB),
           "HOOKYARD_NHANH_TOKENS": TOKEN, "HOOKYARD_SHOPS": json.dumps([shop]),
           "HOOKYARD_INGEST_BIND": f"127.0.0.1:{port}",
           "HOOKYARD_INGEST_WORKERS": str(args.workers),
           "HOOKYARD_INGEST_THREADS": str(args.threads)}
    broker = client.connection_pool.connection_kwargs
    broker_db = redis.Redis(port=broker["port"], db=BROKER_DB)
    state_db = redis.Redis(port=broker["port"], db=STATE_DB)

    def count_jobs() -> dict[str, int]:
        return {"broker_queue": int(broker_db.llen(keys.broker_queue(INGEST_QUEUE))),
                "broker_messages": int(broker_db.hlen(keys.broker_messages(INGEST_QUEUE))),
                "job_records": int(state_db.zcard(keys.all_jobs()))}

    return Target("hookyard", ["-c", INGEST_CONFIG, INGEST_APP],
                  env, count_jobs)


def reference_target(args: argparse.Namespace, redis_url: str, base_env: dict[str, str],
                     client: redis.Redis) -> Target:
    port = free_port()
    env = {**base_env, "BENCH_PORT": str(port), "BENCH_REFERENCE_REDIS_URL": redis_url}
    broker_db = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=BROKER_DB)

    def count_jobs() -> dict[str, int]:
        return {"broker_queue": int(broker_db.llen(f"dramatiq:{REFERENCE_QUEUE}")),
                "broker_messages": int(broker_db.hlen(f"dramatiq:{REFERENCE_QUEUE}.msgs"))}

    # Same worker class, workers, threads and keep-alive as ingest.gunicorn_conf.
    gunicorn_args = ["--pythonpath", str(BENCH_DIR), "-k", "gthread", "-w", str(args.workers),
                     "--threads", str(args.threads), "--keep-alive", "5", "-b",
                     f"127.0.0.1:{port}", "reference_app:get_app()"]
    return Target("reference", gunicorn_args, env, count_jobs)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    hy, ref = results["hookyard"], results["reference"]
    ratio = (hy["saturation"]["throughput_per_second"]
             / max(ref["saturation"]["throughput_per_second"], 1e-9))
    p99 = hy["fixed_rate_p99_ms"]["median"]
    fixed_complete = all(run["errors"] == 0 and run["ok"] >= int(args.rate * args.duration * 0.99)
                         for run in hy["fixed_rate_repetitions"])
    honest = all(results[t]["saturation"]["jobs_match"]
                 and all(run["jobs_match"] for run in results[t]["fixed_rate_repetitions"])
                 for t in ("hookyard", "reference"))
    targets = {
        "throughput_ratio": {"value": round(ratio, 3), "target": f">= {THROUGHPUT_RATIO_TARGET}",
                             "verdict": verdict(ratio >= THROUGHPUT_RATIO_TARGET)},
        "p99_at_rate_ms": {"value": p99, "judged_on": f"median of {args.repeats} repetitions",
                           "each": hy["fixed_rate_p99_ms"]["each"],
                           "pooled": hy["fixed_rate_p99_ms"]["pooled"],
                           "target": f"<= {P99_TARGET_SECONDS * 1000:g}",
                           "verdict": verdict(p99 <= P99_TARGET_SECONDS * 1000
                                              and fixed_complete)},
        "jobs_in_redis_match": {"value": honest, "verdict": verdict(honest)},
    }

    def row(label: str, values: list[str]) -> str:
        return f"{label:<34}" + "".join(f"{v:>16}" for v in values)

    lines = ["", row("", ["hookyard", "reference"]), "-" * 66]
    for phase, title in (("saturation", "saturation (closed loop)"),
                         ("fixed_rate", f"fixed {args.rate:g}/s (open loop), the median "
                                        f"of {args.repeats} repetitions")):
        h, r = hy[phase], ref[phase]
        lines.append(f"{title}, {args.items} items/webhook, {args.duration:g} s")
        if phase == "fixed_rate":
            lines.append(row("  p99 of each repetition (ms)", [
                "/".join(f"{v:.1f}" for v in who["fixed_rate_p99_ms"]["each"])
                for who in (hy, ref)]))
            lines.append(row("  p99 of all repetitions (ms)", [
                f"{who['fixed_rate_p99_ms']['pooled']:.2f}" for who in (hy, ref)]))
        lines.append(row("  webhooks/s accepted", [f"{h['throughput_per_second']:.0f}",
                                                   f"{r['throughput_per_second']:.0f}"]))
        for q in ("p50", "p99", "p99.9", "max"):
            lines.append(row(f"  latency {q} (ms)", [f"{h['latency_ms'][q]:.2f}",
                                                     f"{r['latency_ms'][q]:.2f}"]))
        lines.append(row("  errors", [str(h["errors"]), str(r["errors"])]))
        lines.append(row("  Redis forks (AOF rewrites)", [str(h["redis_forks"]),
                                                          str(r["redis_forks"])]))
        lines.append(row("  jobs in Redis / expected",
                         [f"{min(h['jobs_in_redis'].values())}/{h['jobs_expected']}",
                          f"{min(r['jobs_in_redis'].values())}/{r['jobs_expected']}"]))
        for who in ("generator", "gunicorn", "redis", "other"):
            lines.append(row(f"  CPU cores used: {who}", [f"{h['cpu_cores'][who]:.2f}",
                                                          f"{r['cpu_cores'][who]:.2f}"]))
        lines.append(row("  busiest gunicorn worker's share",
                         [f"{h['busiest_worker_share']:.0%}", f"{r['busiest_worker_share']:.0%}"]))
        lines.append(row("  gunicorn CPU ms / webhook",
                         [f"{h['cpu_ms_per_webhook']['gunicorn']:.2f}",
                          f"{r['cpu_ms_per_webhook']['gunicorn']:.2f}"]))
    lines.append(row("Redis round trips / webhook", [str(hy["redis_per_webhook"]["round_trips"]),
                                                      str(ref["redis_per_webhook"]["round_trips"])]))
    lines.append(row("  commands / webhook", [
        ",".join(f"{k} {v:g}" for k, v in hy["redis_per_webhook"]["commands"].items()),
        ",".join(f"{k} {v:g}" for k, v in ref["redis_per_webhook"]["commands"].items())]))
    lines.append(row("  commands run inside Lua / webhook",
                     [str(hy["redis_per_webhook"]["commands_inside_lua"]),
                      str(ref["redis_per_webhook"]["commands_inside_lua"])]))
    lines.append("")
    lines.append(f"ingest / reference throughput: {ratio:.2f}  (target >= "
                 f"{THROUGHPUT_RATIO_TARGET})  {targets['throughput_ratio']['verdict']}")
    lines.append(f"ingest p99 at {args.rate:g}/s (median of {args.repeats}): {p99:.2f} ms  "
                 f"(target <= "
                 f"{P99_TARGET_SECONDS * 1000:g} ms, no errors)  "
                 f"{targets['p99_at_rate_ms']['verdict']}")
    lines.append(f"jobs in Redis == accepted x items after every phase: "
                 f"{targets['jobs_in_redis_match']['verdict']}")
    for name in ("hookyard", "reference"):
        phases = [("saturation", results[name]["saturation"])] + [
            (f"fixed_rate #{i + 1}", run)
            for i, run in enumerate(results[name]["fixed_rate_repetitions"])]
        for phase, summary in phases:
            other = summary["cpu_cores"]["other"]
            if other > 0.1:
                lines.append(f"WARNING: other processes used {other:.2f} cores during {name} "
                             f"{phase}: that phase's figures are disturbed; run on an idle "
                             "machine.")
            note = summary.get("jobs_note")
            if note:
                lines.append(f"{name} {phase} jobs: {note}")
            first = summary["first_error"]
            if first:
                lines.append(f"{name} {phase} first error: {first}")
        for line in results[name]["server_log_errors"]:
            lines.append(f"{name} server log: {line[:300]}")
    print("\n".join(lines))
    return targets


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0,
                        help="offered webhooks/s of the fixed-rate phase (default 500)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of each measured phase (default 20)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fixed-rate repetitions, each on an emptied Redis; the p99 target "
                             "is judged on their median (default 3)")
    parser.add_argument("--items", type=int, default=10,
                        help="products per webhook (default 10, at most 100)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (default 3)")
    parser.add_argument("--connections", type=int, default=32,
                        help="keep-alive connections of the saturation phase (default 32)")
    parser.add_argument("--open-connections", type=int, default=16,
                        help="connections opened up front for the fixed-rate phase (default 16)")
    parser.add_argument("--max-connections", type=int, default=64,
                        help="the fixed-rate phase opens more, up to this, when all are busy")
    parser.add_argument("--no-keepalive", action="store_true",
                        help="one connection per request (Connection: close) instead of "
                             "keep-alive connections")
    parser.add_argument("--processes", type=int, default=1,
                        help="load generator processes (default 1: enough, and leaves the "
                             "2 cores to the server)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn workers of both apps (ingest default: 2)")
    parser.add_argument("--threads", type=int, default=8,
                        help="gunicorn threads per worker of both apps (ingest default: 8)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (server logs, AOF) and print its path")
    args = parser.parse_args(argv)
    if not 1 <= args.items <= 100:
        parser.error("--items must be between 1 and 100 (the ingest's per-webhook limit)")
    if args.duration <= 0 or args.rate <= 0 or args.duration > 120:
        parser.error("--duration must be in (0, 120] and --rate positive")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="hookyard-bench-"))
    redis_server = RedisServer(directory=workdir / "redis")
    redis_server.start()
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("HOOKYARD_", "PROMETHEUS_MULTIPROC_DIR", "BENCH_"))}
    results: dict[str, Any] = {}
    try:
        client = redis.Redis(port=redis_server.port)
        redis_version = client.info("server")["redis_version"]
        bench = Bench(args, redis_server, workdir)
        url = redis_server.url(BROKER_DB)
        for make in (hookyard_target, reference_target):
            target = make(args, url, base_env, client)
            print(f"benchmarking {target.name} ...", flush=True)
            results[target.name] = bench.run_target(target)
    finally:
        redis_server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)
    targets = report(results, args)
    out = {
        "benchmark": "ingest",
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/ingest.py", *(argv or sys.argv[1:])]),
        "settings": vars(args),
        "machine": {**machine(), "redis_server": redis_version,
                    "redis_persistence": "appendonly yes, appendfsync everysec, noeviction"},
        "results": results,
        "targets": targets,
    }
    results_dir = BENCH_DIR / ".results"
    results_dir.mkdir(exist_ok=True)
    path = results_dir / f"ingest-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"results: {path.relative_to(REPO)}")
    return 0 if targets["jobs_in_redis_match"]["verdict"] == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
