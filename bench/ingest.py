"""Ingest benchmark: Hookyard's ``POST /webhooks/nhanh`` against a bare Falcon + Dramatiq endpoint.

    python -m bench.ingest [--rate 500] [--duration 20] [--repeats 3] [--items 10]

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

This file is the command (its options, the two targets, the run); the rest is in
``ingest_phases`` (a measured phase and what it cost), ``ingest_server`` (the gunicorn
servers), ``ingest_report`` (targets, verdicts, the printed table), ``process_accounting``
(CPU seconds from /proc), ``load_generator`` and ``reference_app``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from bench.ingest_phases import Bench, Target
from bench.ingest_report import machine, report
from bench.reference_app import QUEUE as REFERENCE_QUEUE
from devstack.commands import INGEST_APP, INGEST_CONFIG
from devstack.redis_server import RedisServer, free_port
from hookyard.base import keys
from tests.support.nhanh_payloads import BUSINESS_ID, DEPOT, LOCATION, TOKEN

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

BROKER_DB = 0
STATE_DB = 1
INGEST_QUEUE = "inventory-sync"


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
        # Waiting jobs, not messages: with turns a shop's pending jobs share one message
        # (docs/design.md, "Fair by shop"); the turn's message is checked to exist.
        turn_listed = int(broker_db.llen(keys.broker_queue(INGEST_QUEUE))) >= 1
        return {"queued_jobs": int(state_db.zcard(keys.jobs_in_state(INGEST_QUEUE, "queued"))),
                "job_records": int(state_db.zcard(keys.all_jobs())) if turn_listed else 0}

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
