"""The Shopify sandbox as a subprocess on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from hookyard.processes import stop_process
from hookyard.redis_server import free_port

READY_TIMEOUT_SECONDS = 15.0


class SandboxProcess:
    """``python -m hookyard_sandbox`` on a free port, owned by the test session."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hookyard_sandbox", "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("listening on"):
                self._ready.set()

    def wait_ready(self) -> None:
        if not self._ready.wait(READY_TIMEOUT_SECONDS):
            self.stop()
            raise RuntimeError(
                f"sandbox did not print 'listening on' within {READY_TIMEOUT_SECONDS}s "
                f"(exit code {self.process.poll()}); output:\n{''.join(self.output)[-4000:]}"
            )

    def stop(self) -> None:
        stop_process(self.process, timeout=10)
