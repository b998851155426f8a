"""The Shopify sandbox as a subprocess on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from devstack.commands import sandbox_command
from devstack.launcher import Process
from devstack.redis_server import free_port

READY_TIMEOUT_SECONDS = 15.0


class SandboxProcess:
    """``python -m hookyard_sandbox`` on a free port, owned by the test session, its log in
    ``log_dir`` (a temporary folder unless given)."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder = log_dir or Path(tempfile.mkdtemp(prefix="hookyard-sandbox-"))
        self.launched = Process("sandbox", sandbox_command(self.port), log_dir=folder,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"}).start()
        assert self.launched.process is not None
        self.process = self.launched.process

    @property
    def output(self) -> list[str]:
        return self.launched.output().splitlines(keepends=True)

    def wait_ready(self) -> None:
        try:
            self.launched.wait_http(f"{self.url}/_sandbox/healthz", READY_TIMEOUT_SECONDS)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        self.launched.stop(timeout=10)
