"""The ingest benchmark's phases: load on one server from an emptied Redis, what it cost
(CPU of the generator, gunicorn, Redis and the rest of the machine), the jobs it left in Redis,
and the Redis commands per webhook."""

from __future__ import annotations

import argparse
import http.client
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from bench.ingest_server import Server, gunicorn
from bench.load_generator import (
    COUNTER_SENTINEL,
    BodyTemplate,
    LoadResult,
    LoadSpec,
    percentile,
    run_processes,
)
from bench.process_accounting import machine_busy_seconds, redis_cpu_seconds
from devstack.redis_server import RedisServer
from tests.support.nhanh_payloads import inventory_body

NOT_DUPLICATE = re.compile(rb'"duplicate":\s*false')


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
