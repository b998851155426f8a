"""Sliding-window rate limits kept in Redis, shared by every ingest replica."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis

from hookyard.storage import scripts


@dataclass(frozen=True)
class Admission:
    admitted: bool
    retry_after_seconds: int
    """When refused: whole seconds until the oldest admission in the window expires."""


class SlidingWindowLimit:
    """At most ``limit`` admissions per key within any ``window_seconds`` (``lua/rate_limit.lua``).

    A refused attempt is not recorded, so a client that waits ``Retry-After`` gets in.
    """

    def __init__(self, client: redis.Redis, *, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window_ms = window_seconds * 1000
        self._script = scripts.register(client, "rate_limit")

    def admit(self, key: str) -> Admission:
        admitted, retry_after_ms = self._script(
            keys=[key], args=[self.limit, self.window_ms, uuid.uuid4().hex])
        return Admission(bool(int(admitted)), math.ceil(int(retry_after_ms) / 1000))
