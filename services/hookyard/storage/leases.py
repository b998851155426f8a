"""A short Redis lease kept alive by a thread while held.

If the holder dies (SIGKILL, OOM), the lease lapses within ``ttl_seconds`` and the next
contender gets it, instead of everyone waiting out a long fixed TTL.
"""

from __future__ import annotations

import threading
import time
import uuid
from types import TracebackType

import redis

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
POLL_SECONDS = 0.02


class LeaseBusy(Exception):
    """Someone else held the lease for longer than we were willing to wait."""


class Lease:
    def __init__(self, client: redis.Redis, key: str, *, ttl_seconds: float,
                 wait_seconds: float) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = max(1000, int(ttl_seconds * 1000))
        self.wait_seconds = wait_seconds
        self.owner = uuid.uuid4().hex
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def try_acquire(self) -> bool:
        """Take the lease if it is free (and keep it alive until ``release``)."""
        if not self.client.set(self.key, self.owner, nx=True, px=self.ttl_ms):
            return False
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name=f"lease:{self.key}",
                                         daemon=True)
        self._renewer.start()
        return True

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=2)
            self._renewer = None
        self.client.eval(RELEASE, 1, self.key, self.owner)

    def __enter__(self) -> Lease:
        deadline = time.monotonic() + self.wait_seconds
        while not self.try_acquire():
            if time.monotonic() > deadline:
                raise LeaseBusy(self.key)
            time.sleep(POLL_SECONDS)
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                self.client.eval(RENEW, 1, self.key, self.owner, self.ttl_ms)
            except redis.RedisError:
                continue  # a blip: the next renewal may still land within the TTL

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()
