"""Gunicorn configuration for ingest, from ``HOOKYARD_INGEST_*`` settings.

``gthread`` workers: a slow client holds one thread, not a whole process (the ingress buffers
bodies too, see docs/kubernetes.md). Prometheus multiprocess mode: the master points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before forking, and removes a dead worker's live
gauges when it exits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from hookyard.logs import configure_logging
from hookyard.settings import Settings

_settings = Settings.from_env()

bind = [_settings.ingest_bind]
workers = _settings.ingest_workers
threads = _settings.ingest_threads
worker_class = "gthread"
timeout = _settings.ingest_timeout_seconds
graceful_timeout = 20
keepalive = 5
accesslog = None  # ingest logs one JSON line per request itself
limit_request_line = 8190
limit_request_fields = 100


def on_starting(server: Any) -> None:
    configure_logging(_settings.log_level)
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
