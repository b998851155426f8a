"""The gunicorn servers the ingest benchmark measures: started through ``devstack.launcher``,
ready once ``/healthz`` answers and the workers are forked, stopped on exit."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.process_accounting import process_cpu_seconds
from devstack.launcher import Process

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    """One gunicorn master (and its workers) started by the benchmark."""

    name: str
    launched: Process
    port: int

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.launched.process is not None
        return self.launched.process

    def pids(self) -> list[int]:
        return [self.process.pid, *self.launched.children()]

    def cpu_by_pid(self) -> dict[int, float]:
        return {pid: process_cpu_seconds(pid) for pid in self.pids()}

    def log_tail(self, chars: int = 3000) -> str:
        return self.launched.tail(chars)

    def answers_healthz(self) -> bool:
        """``GET /healthz`` is 200 and the master has forked its workers."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
        except OSError:
            return False
        return status == 200 and len(self.pids()) > 1


@contextmanager
def gunicorn(name: str, args: list[str], env: dict[str, str], port: int,
             workdir: Path) -> Iterator[Server]:
    launched = Process(name, [sys.executable, "-m", "gunicorn", *args], log_dir=workdir,
                       env=env, cwd=REPO).start()
    server = Server(name, launched, port)
    try:
        launched.wait_ready(server.answers_healthz, 30, f"answering /healthz on {port}")
        yield server
    finally:
        launched.stop(timeout=30)
