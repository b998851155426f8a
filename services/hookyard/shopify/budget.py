"""A shop's Shopify rate budget, shared in Redis by every Hookyard process.

Shopify limits the GraphQL Admin API per (app, shop) with a leaky bucket of *points*: a query
needs its requested cost available before it runs, and the bucket refills at the plan's restore
rate up to its capacity. Every replica calling one shop draws from that one bucket, so the
bucket is mirrored in one Redis hash per shop (``keys.shopify_budget``) and changed only by
``lua/shopify_budget.lua``, atomically, with the Redis server's clock.

Contract:

* ``reserve(points)`` books ``points`` in the bucket (refilled by ``restore_rate x elapsed``,
  capped at ``capacity``) and returns a ``Reservation`` once the call may start. Being short never
  fails: the points are booked at once (the bucket goes into debt) and the caller sleeps until
  the bucket has restored them, so callers are served in the order they asked and none starves
  (a plain "sleep and ask again" lets whoever just got a refund win every race). It raises
  ``ShopifyThrottled`` only when the wait would pass the caller's deadline, and then books
  nothing. Because every call's cost is booked atomically before it starts and it starts only
  when the bucket covers it, N processes together never spend more than the bucket holds.
* ``settle(reservation, ...)`` after the call: refund ``requested - actual`` when the answer said
  what the query really cost; when it carried ``throttleStatus``, adopt Shopify's
  ``currentlyAvailable`` / ``maximumAvailable`` / ``restoreRate`` as the truth, minus the points
  other processes have reserved and not yet settled (Shopify may not have seen them yet).
* A reservation whose process died before settling expires after ``reservation_lease_seconds``;
  its points stay spent (the safe side).

Before any answer was seen, plan presets apply (``PLAN_PRESETS``): restore 100/200/1000/2000
points/s for standard/advanced/plus/enterprise, capacity 20 x restore (shopify.dev, "GraphQL
Admin API rate limits"). The first answer replaces them with Shopify's numbers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from hookyard.base import keys
from hookyard.base.errors import ShopifyThrottled
from hookyard.shopify.cost import MAX_QUERY_COST, ThrottleStatus
from hookyard.storage import scripts

BURST_SECONDS = 20
"""Capacity of a preset bucket in seconds of restore rate."""


@dataclass(frozen=True)
class PlanPreset:
    """Bucket parameters assumed for a plan until Shopify reports its own."""

    restore_rate: float
    """Points per second."""
    capacity: float
    """Most points the bucket holds."""


PLAN_PRESETS: dict[str, PlanPreset] = {
    plan: PlanPreset(restore_rate=rate, capacity=rate * BURST_SECONDS)
    for plan, rate in (("standard", 100.0), ("advanced", 200.0), ("plus", 1000.0),
                       ("enterprise", 2000.0))
}


def plan_preset(plan: str) -> PlanPreset:
    """The preset of ``plan``; raises ``ValueError`` naming the known plans for another."""
    try:
        return PLAN_PRESETS[plan]
    except KeyError:
        known = ", ".join(PLAN_PRESETS)
        raise ValueError(f"unknown Shopify plan {plan!r}; one of {known}") from None


@dataclass(frozen=True)
class Reservation:
    """Points taken from a shop's bucket for one call; hand it back to ``settle``."""

    shop: str
    id: str
    points: int
    available_after: float
    """The bucket after booking these points (negative: later callers' points are booked)."""
    waited_seconds: float
    """How long the caller had to wait for its turn."""


@dataclass(frozen=True)
class BudgetState:
    """A read-only view of the bucket as last stored (not refilled to now)."""

    available: float
    capacity: float
    restore_rate: float
    in_flight: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RateBudget:
    """The shared leaky bucket of one shop (see the module docstring for the contract).

    ``client`` is the *state* DB Redis client; ``sleep`` and ``clock`` are there for tests.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        shop: str,
        plan: str = "standard",
        reservation_lease_seconds: float = 120.0,
        key_ttl_seconds: int = 86_400,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shop = shop
        self.preset = plan_preset(plan)
        self._client = client
        self._script = scripts.register(client, "shopify_budget")
        self._key = keys.shopify_budget(shop)
        self._lease_ms = int(reservation_lease_seconds * 1000)
        self._ttl_ms = int(key_ttl_seconds * 1000)
        self._sleep = sleep
        self._clock = clock

    def try_reserve(
        self, points: int, *, max_wait: float | None = None
    ) -> tuple[Reservation | None, float]:
        """One atomic booking: ``(reservation, wait)``, ``wait`` being the seconds to sleep
        before calling; ``(None, wait)`` when that wait would exceed ``max_wait``."""
        points = max(1, min(int(points), MAX_QUERY_COST))
        rid = uuid.uuid4().hex
        max_wait_ms = -1 if max_wait is None else max(0, int(max_wait * 1000))
        wait_ms, available, taken = self._script(
            keys=[self._key],
            args=["reserve", rid, points, self.preset.capacity, self.preset.restore_rate,
                  self._lease_ms, self._ttl_ms, max_wait_ms],
        )
        wait = int(wait_ms) / 1000
        if not int(taken):
            return None, wait
        return Reservation(self.shop, rid, points, float(_text(available)), wait), wait

    def reserve(self, points: int, *, deadline: float | None = None) -> Reservation:
        """Take ``points`` (capped at Shopify's single-query maximum), waiting for our turn.

        Being short never fails: the points are booked at once and this sleeps until the bucket
        has restored them (callers are served in the order they asked). ``deadline`` is a
        ``clock()`` value: when the wait would end after it, nothing is booked and
        ``ShopifyThrottled`` is raised with the wait as ``retry_after_seconds``.
        """
        max_wait = None if deadline is None else max(0.0, deadline - self._clock())
        reservation, wait = self.try_reserve(points, max_wait=max_wait)
        if reservation is None:
            raise ShopifyThrottled(
                f"Shopify budget of shop {self.shop!r} needs {wait:.2f}s to afford {points} "
                f"points, beyond the allowed wait; retry later.",
                retry_after_seconds=wait,
            )
        if wait > 0:
            self._sleep(wait)
        return reservation

    def settle(
        self,
        reservation: Reservation,
        *,
        actual: int | None = None,
        status: ThrottleStatus | None = None,
        drain: bool = False,
    ) -> float:
        """Return unused points and adopt Shopify's view; returns the points now available.

        ``actual`` is what the call really cost (0 when it never ran, None when unknown: nothing
        is refunded). ``status`` is the answer's throttleStatus. ``drain`` empties the local
        bucket (an HTTP 429 proves Shopify's is empty whatever we thought).
        """
        refund = 0 if actual is None else max(0, reservation.points - actual)
        args: list[Any] = ["settle", reservation.id, refund, self.preset.capacity,
                           self.preset.restore_rate]
        if status is not None:
            args += [1, status.currently_available, status.maximum_available, status.restore_rate]
        else:
            args += [0, 0, 0, 0]
        args += [1 if drain else 0, self._ttl_ms]
        return float(_text(self._script(keys=[self._key], args=args)))

    def state(self) -> BudgetState:
        """The stored bucket (presets when nothing is stored yet)."""
        raw = {_text(k): _text(v) for k, v in self._client.hgetall(self._key).items()}
        capacity = float(raw.get("capacity", self.preset.capacity))
        in_flight = sum(
            int(float(value.split("|", 1)[0]))
            for field, value in raw.items()
            if field.startswith("r:")
        )
        return BudgetState(
            available=float(raw.get("available", capacity)),
            capacity=capacity,
            restore_rate=float(raw.get("restore_rate", self.preset.restore_rate)),
            in_flight=in_flight,
        )
