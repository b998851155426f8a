"""The command lines of Hookyard's processes, as the image and the chart run them."""

from __future__ import annotations

import sys
from pathlib import Path

INGEST_APP = "ingest.app:get_app()"
INGEST_CONFIG = "python:ingest.gunicorn_conf"
WORKER_MODULES = ("workers.customer_sync", "workers.inventory_sync", "workers.deploy")


def ingest_command() -> list[str]:
    """gunicorn with ingest's configuration (bind, workers, threads from ``HOOKYARD_*``)."""
    return [sys.executable, "-m", "gunicorn", "-c", INGEST_CONFIG, INGEST_APP]


def worker_command(module: str) -> list[str]:
    """``python -m workers.<kind>`` (or a test's worker module)."""
    return [sys.executable, "-m", module]


def sandbox_command(port: int, *, host: str = "127.0.0.1",
                    shops_file: Path | None = None) -> list[str]:
    """The local Shopify sandbox on ``host:port``, seeded from ``shops_file`` if given."""
    command = [sys.executable, "-m", "hookyard_sandbox", "--host", host, "--port", str(port)]
    return [*command, "--shops-file", str(shops_file)] if shops_file else command
