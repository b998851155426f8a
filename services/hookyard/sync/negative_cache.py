"""Remember, for a while, the mapping keys Shopify did not know.

A SKU with no variant in Shopify, or a customer with no Shopify account, would otherwise be
looked up again on every webhook that mentions it: ~2 points per SKU, ~1 per customer, for an
answer that rarely changes. ``NegativeCache`` keeps such keys per shop and kind in one sorted set
(member = key, score = when the entry expires, in ms), so each can lapse on its own (Redis 6.2
has no per-field expiry on hashes). A key a later lookup or bulk export does find is resolved
from the positive cache first, so a stale negative entry never hides a mapping that exists.

Expiry uses the local clock: a skew of a second or two between replicas moves an expiry of
minutes by that much, which does not matter here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import redis


class NegativeCache:
    """Keys recently not found, each forgotten ``ttl_seconds`` after it was added (0: none)."""

    def __init__(self, client: redis.Redis, key: str, *, ttl_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._key = key
        self._ttl_ms = ttl_seconds * 1000
        self._clock = clock

    def known_missing(self, members: Iterable[str]) -> set[str]:
        """Which of ``members`` were not found within the last ``ttl_seconds``."""
        wanted = list(dict.fromkeys(members))
        if not self._ttl_ms or not wanted:
            return set()
        now = self._clock() * 1000
        scores = self._client.zmscore(self._key, wanted)
        return {m for m, score in zip(wanted, scores, strict=True)
                if score is not None and score > now}

    def add(self, members: Iterable[str]) -> None:
        """Remember ``members`` as not found; drops entries that have expired."""
        fresh = list(dict.fromkeys(members))
        if not self._ttl_ms or not fresh:
            return
        now = int(self._clock() * 1000)
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._key, dict.fromkeys(fresh, now + self._ttl_ms))
        pipe.zremrangebyscore(self._key, "-inf", now)
        pipe.pexpire(self._key, self._ttl_ms)
        pipe.execute()
