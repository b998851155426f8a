"""Gunicorn configuration for ingest, from ``HOOKYARD_INGEST_*`` settings.

``gthread`` workers: a slow client holds one thread, not a whole process (the ingress buffers
bodies too, see docs/kubernetes.md). Prometheus multiprocess mode: the master points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before forking, and removes a dead worker's live
gauges when it exits.

``reuse_port``: every worker listens on a socket of its own (``SO_REUSEPORT``) and the kernel
spreads new connections evenly over them. On one shared socket the accept race is not even:
the benchmark saw one of two workers take 89-93 % of the keep-alive connections, and a worker
is one GIL, so its latency exploded while the other idled (docs/performance.md). Because a
``SO_REUSEPORT`` bind would silently share a port another ingest already serves, the master
first checks that the address is free and refuses to start otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from typing import Any

from hookyard.base.logs import configure_logging
from hookyard.base.settings import Settings
from ingest.gunicorn_logging import JsonGunicornLogger

_settings = Settings.from_env()

bind = [_settings.ingest_bind]
workers = _settings.ingest_workers
threads = _settings.ingest_threads
worker_class = "ingest.gunicorn_worker.IngestWorker"  # gthread with read deadlines
timeout = _settings.ingest_timeout_seconds
graceful_timeout = 20
keepalive = 5
reuse_port = True
accesslog = None  # ingest logs one JSON line per request itself
logger_class = JsonGunicornLogger
loglevel = _settings.log_level.lower()
limit_request_line = 8190
limit_request_fields = 100


def refuse_a_taken_address(bind: str) -> None:
    """Raise ``SystemExit`` with advice when something already listens on ``bind``.

    A plain bind (without ``SO_REUSEPORT``) fails when any socket holds the port, including a
    ``SO_REUSEPORT`` group, which the workers' own binds would join without an error.
    """
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    for family, kind, proto, _, address in socket.getaddrinfo(host, int(port),
                                                              type=socket.SOCK_STREAM):
        probe = socket.socket(family, kind, proto)
        # As gunicorn does: a port with only TIME_WAIT connections left counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise SystemExit(f"Ingest cannot listen on {bind}: {exc.strerror}. Another process "
                             "(another ingest?) holds it; stop it or set HOOKYARD_INGEST_BIND "
                             "to a free address.") from None
        finally:
            probe.close()


def on_starting(server: Any) -> None:
    configure_logging(_settings.log_level)
    refuse_a_taken_address(_settings.ingest_bind)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = os.path.join(tempfile.gettempdir(), f"hookyard-metrics-{os.getpid()}")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def post_fork(server: Any, worker: Any) -> None:
    configure_logging(_settings.log_level)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
