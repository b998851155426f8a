"""A shop's Shopify circuit breaker, shared in Redis by every Hookyard process.

When Shopify fails a shop's calls (5xx, timeouts, connection errors), calling on only keeps
workers busy with calls that fail and spends jobs' attempts. The breaker stops calling that shop
until Shopify is seen to answer again. It is one Redis hash per shop (``keys.shopify_breaker``)
changed only by ``lua/shopify_breaker.lua``, atomically and on the Redis server's clock, so every
replica sees one breaker: a replica that just started knows the shop is down, and the probe that
finds it back up reopens the shop for all of them.

Contract (``ShopifyClient.execute`` is the one caller; docs/shopify.md, "Circuit breaker"):

* **closed**: calls flow. Every call's outcome is recorded: ``FAILED`` (Shopify failed: 5xx,
  timeout, connection error, an answer without data, a retryable GraphQL code) adds one to the
  consecutive failures, and ``failures`` of them in a row open the breaker; ``ANSWERED``
  (Shopify answered: data, GraphQL or user errors, a 4xx rejection) sets the count back to 0;
  ``THROTTLED`` (429 / ``THROTTLED``: Shopify is up and the rate budget handles it) changes
  nothing.
* **open**: ``admit()`` answers "denied" with the seconds until the next probe; no call is made.
  The first wait is ``probe_seconds``; every failed probe doubles it, up to
  ``probe_max_seconds`` (``probe_delay_seconds``), each shortened at random by up to
  ``PROBE_JITTER`` so that shops opened by one Shopify-wide outage do not probe in step.
* **half_open**: once the wait is over, exactly one caller, across every replica, is admitted as
  the probe, holding a lease of ``probe_lease_seconds`` (the call's timeouts plus a margin);
  everyone else stays denied until it reports. Shopify answering the probe (``ANSWERED`` or
  ``THROTTLED``) closes the breaker; ``FAILED`` opens it again with the next, longer wait. A
  probe whose worker died says nothing: its lease lapses and the next caller probes. A probe
  that ends before its call (``release``) frees the lease at once.
* Only the probe changes a breaker that is not closed: calls that started before it opened report
  what is older news than the failures that opened it.

Every transition records when the new state began (``since_ms``, Redis' clock) and is counted in
``hookyard_shopify_breaker_transitions_total{shop,to}``. ``read_breakers`` reads any number of
shops in one round trip (ingest's ``/metrics`` and ``GET /shops``).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from hookyard.base import keys, metrics
from hookyard.base.settings import Settings
from hookyard.jobs.records import iso
from hookyard.storage import scripts

log = logging.getLogger(__name__)

PROBE_JITTER = 0.2
"""A probe's wait is its nominal interval shortened by a random 0..20 %: never past the cap."""
PROBE_LEASE_MARGIN_SECONDS = 5.0
"""Added to a Shopify call's connect and read timeouts to make the probe's lease."""


class Outcome(StrEnum):
    """What one call learnt of Shopify."""

    ANSWERED = "answered"
    """Shopify answered: data, GraphQL or user errors, a 4xx rejection."""
    FAILED = "failed"
    """Shopify failed: 5xx, timeout, connection error, no data, a retryable GraphQL code."""
    THROTTLED = "throttled"
    """Shopify throttled the call (429, ``THROTTLED``): up, and the budget's business."""


@dataclass(frozen=True)
class Admission:
    """``admit()``'s answer; hand it back to ``record`` (or ``release``) after the call."""

    admitted: bool
    retry_after_seconds: float = 0.0
    """When denied: seconds until a probe may go (the open wait, or the running probe's lease)."""
    probe: str | None = None
    """The lease token when this call is the breaker's one probe."""


@dataclass(frozen=True)
class BreakerState:
    """One shop's breaker as stored (a shop Hookyard never called: closed, ``since_ms`` None)."""

    state: str
    since_ms: int | None
    consecutive_failures: int
    next_probe_ms: int | None
    """Open: when the next probe may go. Half open: when the probe's lease lapses (a new probe
    may go then if it has not reported). Closed: None."""

    def view(self) -> dict[str, Any]:
        """The ``breaker`` object of ``GET /shops``."""
        return {"state": self.state, "since": iso(self.since_ms),
                "consecutive_failures": self.consecutive_failures,
                "next_probe_at": iso(self.next_probe_ms)}


def probe_delay_seconds(failed_probes: int, *, base: float, cap: float, jitter: float,
                        draw: Callable[[], float] = random.random) -> float:
    """The wait before the next probe once ``failed_probes`` probes failed in a row (0: the
    breaker has just opened): ``base x 2^failed_probes``, at most ``cap``, shortened by a random
    fraction of up to ``jitter`` (``draw()`` in [0, 1)). Never longer than ``cap``."""
    nominal = min(cap, base * 2.0 ** min(failed_probes, 64))
    return nominal * (1.0 - jitter * draw())


def probe_schedule_ms(*, base: float, cap: float, jitter: float,
                      draw: Callable[[], float] = random.random) -> list[int]:
    """The waits in ms after 0, 1, 2, ... failed probes, freshly jittered, up to the first one
    that reaches ``cap`` (the script uses that last one for every later failed probe). Its
    length is ``1 + ceil(log2(cap / base))``: a handful."""
    schedule: list[int] = []
    failed = 0
    while True:
        delay = probe_delay_seconds(failed, base=base, cap=cap, jitter=jitter, draw=draw)
        schedule.append(max(1, round(delay * 1000)))
        if base * 2.0 ** failed >= cap:
            return schedule
        failed += 1


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class CircuitBreaker:
    """The shared circuit breaker of one shop (see the module docstring for the contract).

    ``client`` is the *state* DB Redis client. ``failures`` consecutive failed calls open it;
    ``probe_seconds`` .. ``probe_max_seconds`` bound the wait between probes;
    ``probe_lease_seconds`` is how long the one probe call may take before another caller may
    probe. ``draw`` is the jitter's random source (tests).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        shop: str,
        failures: int,
        probe_seconds: float,
        probe_max_seconds: float,
        probe_lease_seconds: float,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.shop = shop
        self.failures = failures
        self.probe_seconds = probe_seconds
        self.probe_max_seconds = probe_max_seconds
        self._script = scripts.register(client, "shopify_breaker")
        self._client = client
        self._key = keys.shopify_breaker(shop)
        self._lease_ms = max(1, round(probe_lease_seconds * 1000))
        self._draw = draw

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings, shop: str) -> CircuitBreaker:
        """The breaker of ``shop`` as ``HOOKYARD_BREAKER_*`` configure it; the probe's lease is
        one Shopify call's connect and read timeouts (``HOOKYARD_SHOPIFY_TIMEOUT_SECONDS``
        each) plus ``PROBE_LEASE_MARGIN_SECONDS``."""
        return cls(client, shop=shop, failures=settings.breaker_failures,
                   probe_seconds=settings.breaker_probe_seconds,
                   probe_max_seconds=settings.breaker_probe_max_seconds,
                   probe_lease_seconds=2 * settings.shopify_timeout_seconds
                   + PROBE_LEASE_MARGIN_SECONDS)

    def admit(self) -> Admission:
        """May a call to the shop go now? Closed: yes. Open with its wait over, or half open
        with the probe's lease lapsed: yes, as the one probe (``Admission.probe``). Otherwise
        denied, with the seconds until a probe may go."""
        token = uuid.uuid4().hex
        verdict, wait_ms, moved = self._script(keys=[self._key],
                                               args=["admit", token, self._lease_ms])
        self._count(_text(moved))
        verdict = _text(verdict)
        if verdict == "denied":
            return Admission(False, retry_after_seconds=int(wait_ms) / 1000)
        return Admission(True, probe=token if verdict == "probe" else None)

    def record(self, admission: Admission, outcome: Outcome) -> str:
        """Tell the breaker what an admitted call learnt of Shopify; returns the state after."""
        schedule = [] if outcome is not Outcome.FAILED else probe_schedule_ms(
            base=self.probe_seconds, cap=self.probe_max_seconds, jitter=PROBE_JITTER,
            draw=self._draw)
        state, moved = self._script(
            keys=[self._key],
            args=["record", outcome.value, admission.probe or "", self.failures, *schedule])
        self._count(_text(moved))
        return _text(state)

    def release(self, admission: Admission) -> None:
        """An admitted call ends before it reached Shopify: if it was the probe, the next
        caller may probe at once. Nothing to do for other calls."""
        if admission.probe is not None:
            self._script(keys=[self._key], args=["release", admission.probe])

    def state(self) -> BreakerState:
        """The shop's breaker as stored now."""
        return read_breakers(self._client, [self.shop])[self.shop]

    def _count(self, moved: str) -> None:
        if not moved:
            return
        metrics.shopify_breaker_transitions_total.labels(shop=self.shop, to=moved).inc()
        if moved == "open":
            log.warning("shopify circuit breaker opened: no calls to the shop until a probe "
                        "call succeeds", extra={"shop": self.shop})
        else:
            log.info("shopify circuit breaker %s", moved.replace("_", " "),
                     extra={"shop": self.shop})


_FIELDS = ("state", "since_ms", "failures", "next_probe_ms", "probe_until_ms")


def read_breakers(client: redis.Redis, shops: Iterable[str]) -> dict[str, BreakerState]:
    """The breakers of ``shops`` (state DB ``client``), in one round trip."""
    shops = list(shops)
    pipe = client.pipeline(transaction=False)
    for shop in shops:
        pipe.hmget(keys.shopify_breaker(shop), *_FIELDS)
    found: dict[str, BreakerState] = {}
    for shop, row in zip(shops, pipe.execute(), strict=True):
        stored, since, failures, next_probe, probe_until = (
            None if value is None else _text(value) for value in row)
        state = "closed" if stored not in metrics.BREAKER_STATE_VALUES else str(stored)
        upcoming = {"open": next_probe, "half_open": probe_until}.get(state)
        found[shop] = BreakerState(
            state=state, since_ms=None if since is None else int(float(since)),
            consecutive_failures=int(float(failures or 0)),
            next_probe_ms=None if upcoming is None else int(float(upcoming)))
    return found
