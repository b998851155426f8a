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


def nhanh_sandbox_command(port: int, *, host: str = "127.0.0.1",
                          businesses_file: Path | None = None,
                          rate_limit: int | None = None,
                          rate_window_seconds: float | None = None,
                          webhook_url: str | None = None, webhook_token: str | None = None,
                          webhook_version: int | None = None,
                          retry_scale: float | None = None) -> list[str]:
    """The local Nhanh.vn sandbox on ``host:port``; every option left None keeps the sandbox's
    default (Nhanh's 150 requests per 30 s, no webhook target, real re-send delays)."""
    command = [sys.executable, "-m", "nhanh_sandbox", "--host", host, "--port", str(port)]
    options: dict[str, object] = {
        "--businesses-file": businesses_file, "--rate-limit": rate_limit,
        "--rate-window-seconds": rate_window_seconds, "--webhook-url": webhook_url,
        "--webhook-token": webhook_token, "--webhook-version": webhook_version,
        "--retry-scale": retry_scale,
    }
    for flag, value in options.items():
        if value is not None:
            command += [flag, str(value)]
    return command
