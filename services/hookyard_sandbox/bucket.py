"""The per-shop leaky bucket the sandbox enforces, as Shopify does.

Capacity is 20 x the plan's restore rate (points per second): standard 100, advanced 200,
plus 1000, enterprise 2000. A query may start only when its *requested* cost is available; it is
charged that cost, then refunded ``requested - actual`` when it finishes.

With ``enforce`` off (a fault switch) a short bucket does not throttle: the query runs, the
bucket goes negative, and ``exceeded`` counts it. That measures a client's own pacing: a client
that paces itself by the bucket keeps ``exceeded`` at 0.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

RESTORE_RATES = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
BURST_SECONDS = 20


@dataclass(frozen=True)
class Admission:
    """Outcome of asking the bucket for a query's requested cost."""

    admitted: bool
    exceeded: bool
    """Admitted although the bucket was short (only with ``enforce`` off)."""


class LeakyBucket:
    """Thread-safe leaky bucket of one shop."""

    def __init__(self, plan: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        if plan not in RESTORE_RATES:
            raise ValueError(f"unknown plan {plan!r}; one of {', '.join(RESTORE_RATES)}")
        self.restore_rate = RESTORE_RATES[plan]
        self.capacity = self.restore_rate * BURST_SECONDS
        self.enforce = True
        self._available = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(
            self.capacity, self._available + (now - self._updated) * self.restore_rate
        )
        self._updated = now

    def admit(self, cost: int) -> Admission:
        """Charge ``cost`` if available (or, with ``enforce`` off, anyway)."""
        with self._lock:
            self._refill()
            short = self._available < cost
            if short and self.enforce:
                return Admission(admitted=False, exceeded=False)
            self._available -= cost
            return Admission(admitted=True, exceeded=short)

    def refund(self, points: int) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.capacity, self._available + max(0, points))

    def set_available(self, points: float) -> None:
        """Control endpoint: put the bucket at ``points`` (tests drain it this way)."""
        with self._lock:
            self._refill()
            self._available = min(self.capacity, points)

    def status(self) -> dict[str, float]:
        """``throttleStatus`` as Shopify reports it."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": float(self.capacity),
                # Rounded down: a client adopting this number must never be told too much.
                "currentlyAvailable": max(0.0, math.floor(self._available * 10) / 10),
                "restoreRate": float(self.restore_rate),
            }
