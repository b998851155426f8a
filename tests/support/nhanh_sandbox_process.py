"""The Nhanh.vn sandbox as a subprocess on a free port, for tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from devstack.commands import nhanh_sandbox_command
from devstack.launcher import Process
from devstack.redis_server import free_port

READY_TIMEOUT_SECONDS = 15.0
RETRY_SCALE = 0.001
"""The test session's sandbox re-sends failed webhooks after 0.3, 0.6 and 1.8 s (Nhanh: 5, 10
and 30 minutes)."""


class NhanhSandboxProcess:
    """``python -m nhanh_sandbox`` on a free port, owned by the test session, its log in
    ``log_dir`` (a temporary folder unless given). ``options`` are those of
    ``devstack.commands.nhanh_sandbox_command`` (rate_limit, retry_scale, webhook_url, ...)."""

    def __init__(self, log_dir: Path | None = None, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder = log_dir or Path(tempfile.mkdtemp(prefix="hookyard-nhanh-sandbox-"))
        self.launched = Process("nhanh-sandbox", nhanh_sandbox_command(self.port, **options),
                                log_dir=folder,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"}).start()
        assert self.launched.process is not None
        self.process = self.launched.process

    @property
    def output(self) -> str:
        return self.launched.output()

    def wait_ready(self) -> NhanhSandboxProcess:
        try:
            self.launched.wait_http(f"{self.url}/_sandbox/healthz", READY_TIMEOUT_SECONDS)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.launched.stop(timeout=10)
