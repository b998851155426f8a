"""Reading Shopify's cost and throttle signals out of a GraphQL Admin API answer.

Pure functions over already-decoded JSON and header values: no I/O, so the rules are unit-tested
on their own. Shapes follow Shopify's documented ``extensions.cost``::

    {"requestedQueryCost": 12, "actualQueryCost": 2,
     "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1998.0,
                        "restoreRate": 100.0}}

A throttle arrives either as HTTP 429 (with ``Retry-After``) or as HTTP 200 whose ``errors``
contain ``extensions.code == "THROTTLED"`` (then ``actualQueryCost`` is null).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_QUERY_COST = 1000
"""Shopify rejects a single query whose requested cost is above this (``MAX_COST_EXCEEDED``)."""

THROTTLED_CODE = "THROTTLED"
DEFAULT_RETRY_AFTER_SECONDS = 1.0
"""Wait used for an HTTP 429 that carries no usable ``Retry-After``."""


@dataclass(frozen=True)
class ThrottleStatus:
    """The shop's bucket as Shopify saw it when it answered."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    def seconds_until(self, points: float) -> float:
        """Seconds until ``points`` are available, at ``restore_rate``; 0 when already there."""
        missing = min(points, self.maximum_available) - self.currently_available
        if missing <= 0:
            return 0.0
        return missing / self.restore_rate if self.restore_rate > 0 else math.inf


@dataclass(frozen=True)
class QueryCost:
    """``extensions.cost`` of one answer; ``actual`` is None when the query did not run."""

    requested: int | None
    actual: int | None
    throttle_status: ThrottleStatus | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


def parse_throttle_status(raw: Any) -> ThrottleStatus | None:
    """A ``ThrottleStatus`` from ``throttleStatus``, or None when absent or malformed."""
    if not isinstance(raw, Mapping):
        return None
    maximum = _number(raw.get("maximumAvailable"))
    current = _number(raw.get("currentlyAvailable"))
    rate = _number(raw.get("restoreRate"))
    if maximum is None or current is None or rate is None or maximum <= 0 or rate <= 0:
        return None
    return ThrottleStatus(
        maximum_available=maximum,
        currently_available=min(current, maximum),
        restore_rate=rate,
    )


def parse_cost(body: Any) -> QueryCost | None:
    """``extensions.cost`` of a decoded answer, or None when the answer carries none."""
    if not isinstance(body, Mapping):
        return None
    extensions = body.get("extensions")
    if not isinstance(extensions, Mapping):
        return None
    raw = extensions.get("cost")
    if not isinstance(raw, Mapping):
        return None
    requested = _number(raw.get("requestedQueryCost"))
    actual = _number(raw.get("actualQueryCost"))
    return QueryCost(
        requested=None if requested is None else math.ceil(requested),
        actual=None if actual is None else math.ceil(actual),
        throttle_status=parse_throttle_status(raw.get("throttleStatus")),
    )


def error_codes(body: Any) -> list[str]:
    """``errors[].extensions.code`` of a decoded answer, in order (missing codes are skipped)."""
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    codes = []
    for error in errors:
        if isinstance(error, Mapping):
            extensions = error.get("extensions")
            if isinstance(extensions, Mapping) and isinstance(extensions.get("code"), str):
                codes.append(extensions["code"])
    return codes


def is_throttled(body: Any) -> bool:
    """True when a 200 answer is Shopify's ``THROTTLED`` GraphQL error."""
    return THROTTLED_CODE in error_codes(body)


def parse_retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta seconds); a default when unusable.

    Shopify sends delta seconds (e.g. ``2.0``); an HTTP date or garbage falls back to
    ``DEFAULT_RETRY_AFTER_SECONDS`` rather than failing the call.
    """
    if value is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        seconds = float(value.strip())
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS
    if not math.isfinite(seconds) or seconds < 0:
        return DEFAULT_RETRY_AFTER_SECONDS
    return seconds


def throttle_wait_seconds(cost: QueryCost | None, points: float) -> float:
    """Seconds to wait after a ``THROTTLED`` answer before ``points`` can run.

    Computed from the answer's throttleStatus; without one, the default Retry-After wait.
    """
    if cost is None or cost.throttle_status is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    return cost.throttle_status.seconds_until(points)
