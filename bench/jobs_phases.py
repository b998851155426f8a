"""The job benchmark's measurements: timed drains, idle pickup and Redis round trips per job,
and the throughput run that strings them together."""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import dramatiq
import redis

from bench.jobs_systems import (
    BULL_DB,
    DRAMATIQ_DB,
    HOOKYARD_BROKER_DB,
    HOOKYARD_STATE_DB,
    QUEUE,
    JobSystems,
)
from hookyard.jobs.records import NewJob


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def redis_cpu_seconds(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def script_names() -> dict[str, str]:
    """sha1 -> a readable name for every Lua script the Python systems run."""
    names = {}
    lua = resources.files("hookyard.storage") / "lua"
    for entry in lua.iterdir():
        if entry.name.endswith(".lua"):
            source = entry.read_text(encoding="utf-8").encode()
            names[hashlib.sha1(source, usedforsecurity=False).hexdigest()] = \
                "hookyard:" + entry.name[:-4]
    dispatch = Path(dramatiq.__file__).parent / "brokers" / "redis" / "dispatch.lua"
    sha = hashlib.sha1(dispatch.read_bytes(), usedforsecurity=False).hexdigest()
    names[sha] = "dramatiq:dispatch"
    return names


class Bench(JobSystems):
    """The measurements: drains, idle pickup and round trips, over every system."""

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
