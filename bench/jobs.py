"""Job benchmark: Hookyard's workers against plain Dramatiq and BullMQ, on one private Redis.

    python -m bench.jobs                 # throughput, idle pickup, round trips (about 7 min)
    python -m bench.jobs --memory        # a worker's RSS over 100,000 jobs (about 2-3 min)
    python -m bench.jobs --jobs 2000 --sleep-jobs 2000 --samples 50   # a quick look

In one run, on a private redis-server (loopback, AOF everysec, noeviction) in a temp dir:

1. **Drains.** ``--jobs`` no-op jobs, then ``--sleep-jobs`` jobs that sleep 50 ms (I/O-like),
   through ``--processes`` worker processes of ``threads`` threads and ``prefetch`` each (the
   production defaults from ``hookyard.base.settings`` unless overridden), for every system:

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

This file is the command (its options and the run); the rest is in ``jobs_systems`` (the
systems, their worker processes and queues), ``jobs_phases`` (drains, idle pickup, round
trips), ``jobs_memory`` (``--memory``), ``jobs_report`` (targets, tables, verdicts) and
``process_accounting`` (CPU and memory from /proc); ``jobs_worker`` is the worker process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.jobs_memory import run_memory
from bench.jobs_phases import Bench, run_throughput
from bench.jobs_report import machine, summarise
from bench.jobs_systems import BULLMQ_VERSION
from devstack.redis_server import RedisServer

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / ".results"


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
