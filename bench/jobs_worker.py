"""Worker process of the job benchmark (``bench/jobs.py``); not for production.

    python bench/jobs_worker.py hookyard   # the production runner + the bench actors
    python bench/jobs_worker.py dramatiq   # plain Dramatiq (RedisBroker, default middleware)

Both declare the same three actors on queue ``customer-sync``: ``bench_noop`` (returns at once),
``bench_sleep`` (sleeps ``BENCH_SLEEP_SECONDS``, like a job waiting on I/O) and ``bench_probe``
(pushes ``"<message id> <time.time()>"`` onto ``bench:started:<system>`` in the control DB, so
the benchmark can measure enqueue -> start).

Hookyard: ``broker.install`` + ``hookyard.actors`` + ``workers.runner.serve`` exactly as
``python -m workers.customer_sync`` does (production middleware, JobLifecycle, presence, sweeper,
metrics), with the bench actors declared on the installed HookyardBroker the way
``tests/e2e/crashing_worker.py`` declares its actor.

Plain Dramatiq: ``RedisBroker`` with Dramatiq's default middleware on the DB in
``BENCH_DRAMATIQ_URL``, a ``dramatiq.Worker`` with the same threads, prefetch and worker timeout
as the Hookyard runner, started after ``process_boot`` as the dramatiq CLI does.

Both wait at a gate (BLPOP ``bench:go:<system>`` in the control DB) after importing everything
and before starting to consume, so the benchmark times the drain, not Python's start-up.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

import dramatiq
import redis

QUEUE = "customer-sync"
GATE_TIMEOUT_SECONDS = 600


def control_client() -> redis.Redis:
    # No socket timeout: the gate's BLPOP waits up to GATE_TIMEOUT_SECONDS, far beyond redis-py's
    # default of 5 s (a worker whose turn came after a phase longer than that died waiting).
    return redis.Redis.from_url(os.environ["BENCH_CONTROL_URL"], socket_timeout=None)


def declare_actors(broker: dramatiq.Broker, system: str) -> None:
    """The bench actors on ``broker`` (explicit broker: nothing binds to a global by accident)."""
    sleep_seconds = float(os.environ.get("BENCH_SLEEP_SECONDS", "0.05"))
    control = control_client()
    started_key = f"bench:started:{system}"

    @dramatiq.actor(actor_name="bench_noop", queue_name=QUEUE, broker=broker)
    def bench_noop(job_id: str) -> None:
        return None

    @dramatiq.actor(actor_name="bench_sleep", queue_name=QUEUE, broker=broker)
    def bench_sleep(job_id: str) -> None:
        time.sleep(sleep_seconds)

    @dramatiq.actor(actor_name="bench_probe", queue_name=QUEUE, broker=broker)
    def bench_probe(job_id: str) -> None:
        control.rpush(started_key, f"{job_id} {time.time():.6f}")


def wait_at_gate(system: str) -> None:
    control = control_client()
    control.rpush(f"bench:ready:{system}", os.getpid())
    if control.blpop([f"bench:go:{system}"], timeout=GATE_TIMEOUT_SECONDS) is None:
        raise SystemExit(f"bench worker {os.getpid()}: no go signal in {GATE_TIMEOUT_SECONDS}s")


def run_hookyard() -> int:
    from hookyard.base.logs import configure_logging
    from hookyard.base.settings import Settings
    from workers.runner import boot, serve

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    rt, broker = boot(settings)
    import hookyard.actors  # noqa: F401 - the production actors, as workers.customer_sync has

    declare_actors(broker, "hookyard")
    wait_at_gate("hookyard")
    return serve(rt, broker, QUEUE)


def run_dramatiq() -> int:
    from dramatiq.brokers.redis import RedisBroker

    from hookyard.base.settings import Settings
    from workers.runner import worker_timeout_ms

    threads = int(os.environ["BENCH_THREADS"])
    prefetch = int(os.environ["BENCH_PREFETCH"])
    broker = RedisBroker(url=os.environ["BENCH_DRAMATIQ_URL"])
    dramatiq.set_broker(broker)
    declare_actors(broker, "dramatiq")
    wait_at_gate("dramatiq")

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    broker.declare_queue(QUEUE)
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=threads,
                             worker_timeout=worker_timeout_ms(Settings.from_env()))
    worker.queue_prefetch = prefetch
    broker.emit_after("process_boot")
    worker.start()
    stop.wait()
    worker.stop(timeout=10_000)
    return 0


def main(argv: list[str]) -> int:
    runners: dict[str, Any] = {"hookyard": run_hookyard, "dramatiq": run_dramatiq}
    if len(argv) != 2 or argv[1] not in runners:
        print(f"usage: {argv[0]} hookyard|dramatiq", file=sys.stderr)
        return 2
    result: int = runners[argv[1]]()
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv))
