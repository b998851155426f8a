"""Runs one queue's Dramatiq worker with Hookyard's runtime, presence, sweeper and metrics, and
for a sync queue the background snapshot prefill (``hookyard.sync.prefill``).

Shutdown (SIGTERM or SIGINT): stop fetching, let in-flight jobs finish for up to
``HOOKYARD_WORKER_SHUTDOWN_TIMEOUT_SECONDS``, put prefetched messages back, withdraw presence and
exit 0. A job still running at the deadline is abandoned with its message in this worker's ack
set; the heartbeat stops with the process, so the message is handed out again within
``HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import dramatiq

from hookyard.base.errors import SettingsError
from hookyard.base.logs import configure_logging
from hookyard.base.metrics import QueueStatsCollector
from hookyard.base.queues import DEPLOY
from hookyard.base.settings import Settings
from hookyard.jobs import broker as broker_module
from hookyard.jobs import runtime
from hookyard.jobs.presence import WorkerPresence
from hookyard.sync.prefill import prefiller_for

log = logging.getLogger("hookyard.worker")


def main(queue: str) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"hookyard worker: {exc.message}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    rt, broker = boot(settings)
    import hookyard.actors  # noqa: F401 - declares the actors on the installed broker

    return serve(rt, broker, queue)


def boot(settings: Settings) -> tuple[runtime.Runtime, broker_module.HookyardBroker]:
    """Install this process's runtime and broker around one job store: the actors' bodies and
    the lifecycle middleware share its connection pools and script connections."""
    rt = runtime.Runtime.build(settings)
    runtime.install(rt)
    return rt, broker_module.install(settings, jobs=rt.jobs)


def worker_threads(settings: Settings, queue: str) -> int:
    """Threads of ``queue``'s worker: ``HOOKYARD_DEPLOY_WORKER_THREADS`` for deploys (long jobs,
    few at once), ``HOOKYARD_WORKER_THREADS`` for the rest."""
    return settings.deploy_worker_threads if queue == DEPLOY else settings.worker_threads


def worker_timeout_ms(settings: Settings) -> int:
    """Dramatiq's ``worker_timeout``: the longest an idle consumer blocks on its queue's wake-up
    list (a new job ends the wait at once), a full one waits for a free slot, and a worker
    thread waits for work before it notices a stop."""
    return max(10, round(settings.worker_poll_timeout_seconds * 1000))


def serve(rt: runtime.Runtime, broker: broker_module.HookyardBroker, queue: str) -> int:
    """Run ``queue`` on the installed ``broker`` until SIGTERM/SIGINT; returns the exit code."""
    settings = rt.settings
    broker.declare_queue(queue)
    threads = worker_threads(settings, queue)
    # Defaults (8 threads, prefetch 2 x threads, 1 s poll timeout) and their trade-offs:
    # docs/performance.md, "Jobs".
    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=threads,
                             worker_timeout=worker_timeout_ms(settings))
    if settings.worker_prefetch:
        worker.queue_prefetch = settings.worker_prefetch
    presence = WorkerPresence(rt.jobs, broker_id=broker.broker_id, queue=queue,
                              held=broker.held)

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: draining (up to %ss)", signum,
                 settings.worker_shutdown_timeout_seconds)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    presence.beat()
    presence.start()
    if settings.metrics_port:
        from workers.health import serve_health

        serve_health(settings.metrics_host, settings.metrics_port,
                     healthy=lambda: presence.healthy,
                     collectors=[QueueStatsCollector(lambda: rt.jobs.queue_stats([queue]))])
    # What `dramatiq` the CLI does after importing the actors: starts the TimeLimit and
    # ShutdownNotifications timer threads. Without it no time limit is ever enforced.
    broker.emit_after("process_boot")
    worker.start()
    log.info("worker for queue %s started (%s threads)", queue, threads)
    prefill = prefiller_for(rt, queue)
    if prefill is not None:
        prefill.start()
    stop.wait()
    if prefill is not None:
        prefill.stop()
    worker.stop(timeout=settings.worker_shutdown_timeout_seconds * 1000)
    presence.stop()
    log.info("worker for queue %s stopped", queue)
    return 0
