"""``ShopifyClient``: one shop's GraphQL Admin API, paced by its shared ``RateBudget``.

GraphQL only (Shopify made REST legacy in 2024-10). ``execute`` is the single way to call
Shopify; it owns pacing, throttle waits and the mapping of failures onto the error tree:

========================================  ==================================================
answer                                    outcome
========================================  ==================================================
200 with ``data`` and no ``errors``       ``data`` is returned
200 with ``errors[].extensions.code``     wait (from ``throttleStatus``) and call again,
``== "THROTTLED"``                        inside this ``execute``
429                                       wait ``Retry-After`` and call again, inside
                                          this ``execute``
still throttled when the next wait would  ``ShopifyThrottled`` (``retry_after_seconds`` set)
pass ``max_throttle_wait_seconds``
5xx, timeout, connection error, non-JSON  ``ShopifyError`` (retryable: the job layer backs off)
200 with ``INTERNAL_SERVER_ERROR``        ``ShopifyError``
other 4xx, other GraphQL errors           ``ShopifyRejected`` (permanent)
(no call: the shop's breaker is open)     ``ShopifyUnavailable`` (``retry_after_seconds``: the
                                          time until the next probe call)
========================================  ==================================================

Throttle waits happen inside one ``execute`` so that waiting for budget never consumes one of
the job's retries. Every answer's ``extensions.cost`` is handed to the budget (refund, adopt
Shopify's throttleStatus) and to the ``hookyard_shopify_*`` metrics. The access token is sent
only in the ``X-Shopify-Access-Token`` header and never appears in an exception or a log line.

Before every HTTP attempt the shop's circuit breaker (``hookyard.shopify.breaker``, shared by
every replica) is asked; while it is open no call is made and ``ShopifyUnavailable`` says when
the next probe goes. After the attempt it is told what Shopify did: answered (data, a
rejection), failed (``ShopifyError``: 5xx, timeout, connection error, no data, a retryable
GraphQL code) or throttled (neither: the budget's business).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import requests

from hookyard.base import metrics
from hookyard.base.errors import (
    ShopifyError,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from hookyard.base.settings import Settings
from hookyard.base.shops import ShopConfig
from hookyard.shopify.breaker import Admission, Outcome
from hookyard.shopify.budget import Reservation
from hookyard.shopify.cost import (
    MAX_QUERY_COST,
    QueryCost,
    ThrottleStatus,
    error_codes,
    is_throttled,
    parse_cost,
    parse_retry_after,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_THROTTLE_WAIT_SECONDS = 60.0
"""Longest total time one ``execute`` waits for budget or throttles before ``ShopifyThrottled``."""

RETRYABLE_GRAPHQL_CODES = frozenset({"INTERNAL_SERVER_ERROR"})
"""GraphQL error codes that mean "Shopify failed", not "your request is wrong"."""

MESSAGE_LIMIT = 300


class Budget(Protocol):
    """What the client needs of a rate budget (``RateBudget`` is the real one)."""

    def reserve(self, points: int, *, deadline: float | None = None) -> Reservation: ...

    def settle(
        self,
        reservation: Reservation,
        *,
        actual: int | None = None,
        status: ThrottleStatus | None = None,
        drain: bool = False,
    ) -> float: ...


@dataclass(frozen=True)
class _Answer:
    """An HTTP attempt that raised nothing: Shopify's ``data``, or (``data`` None) a throttle to
    wait out, ``wait`` seconds (None: the budget knows the wait)."""

    data: dict[str, Any] | None = None
    wait: float | None = None
    requested: int | None = None
    """The query's requested cost, when the answer said it."""


class Breaker(Protocol):
    """What the client needs of a circuit breaker (``CircuitBreaker`` is the real one)."""

    def admit(self) -> Admission: ...

    def record(self, admission: Admission, outcome: Outcome) -> str: ...

    def release(self, admission: Admission) -> None: ...


class ShopifyClient:
    """The GraphQL Admin API of one shop.

    Collaborators are explicit; nothing is read from the environment and nothing touches the
    network until ``execute``. ``breaker`` is the shop's circuit breaker, asked before every HTTP
    attempt. ``base_url`` defaults to ``https://<shopify_domain>`` (the sandbox passes its own).
    ``connect_timeout_seconds`` / ``read_timeout_seconds`` bound one HTTP exchange (requests has
    no default timeout). ``max_throttle_wait_seconds`` bounds the total
    time one ``execute`` spends waiting for budget, ``Retry-After`` and ``THROTTLED`` answers.
    """

    def __init__(
        self,
        shop: ShopConfig,
        *,
        api_version: str,
        budget: Budget,
        breaker: Breaker,
        base_url: str | None = None,
        connect_timeout_seconds: float = 10.0,
        read_timeout_seconds: float = 10.0,
        max_throttle_wait_seconds: float = DEFAULT_MAX_THROTTLE_WAIT_SECONDS,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shop = shop
        root = (base_url or f"https://{shop.shopify_domain}").rstrip("/")
        self.endpoint = f"{root}/admin/api/{api_version}/graphql.json"
        self._budget = budget
        self._breaker = breaker
        self._timeout = (connect_timeout_seconds, read_timeout_seconds)
        self._max_wait = max_throttle_wait_seconds
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        shop: ShopConfig,
        budget: Budget,
        breaker: Breaker,
        *,
        session: requests.Session | None = None,
        max_throttle_wait_seconds: float | None = None,
    ) -> ShopifyClient:
        """A client configured by ``HOOKYARD_SHOPIFY_*`` (version, base URL, timeout); a
        ``max_throttle_wait_seconds`` below the setting's bounds this client's waits tighter."""
        max_wait = settings.shopify_max_throttle_wait_seconds
        if max_throttle_wait_seconds is not None:
            max_wait = min(max_wait, max_throttle_wait_seconds)
        return cls(
            shop,
            api_version=settings.shopify_api_version,
            budget=budget,
            breaker=breaker,
            base_url=settings.shopify_base_url,
            connect_timeout_seconds=settings.shopify_timeout_seconds,
            read_timeout_seconds=settings.shopify_timeout_seconds,
            max_throttle_wait_seconds=max_wait,
            session=session,
        )

    # --- the one entry point ------------------------------------------------------------------

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, estimated_cost: int
    ) -> dict[str, Any]:
        """Run one GraphQL operation and return its ``data`` (see the module table for failures).

        ``estimated_cost`` is reserved from the budget before the call (capped at Shopify's
        single-query maximum of 1000); when an answer reports a higher requested cost, later
        attempts of this call reserve that instead.
        """
        deadline = self._clock() + self._max_wait
        points = max(1, min(int(estimated_cost), MAX_QUERY_COST))
        payload = {"query": query, "variables": dict(variables or {})}
        while True:
            admission = self._admit()
            try:
                reservation = self._budget.reserve(points, deadline=deadline)
            except BaseException:
                self._breaker.release(admission)  # no call was made: nothing learnt of Shopify
                raise
            answer = self._attempt(payload, reservation, admission)
            if answer.requested is not None:
                points = max(points, min(answer.requested, MAX_QUERY_COST))
            if answer.data is not None:
                return answer.data
            if answer.wait is not None:
                self._wait(answer.wait, deadline)
            # Otherwise the budget now holds Shopify's bucket; reserve() waits the right time.

    # --- steps ----------------------------------------------------------------------------------

    def _admit(self) -> Admission:
        admission = self._breaker.admit()
        if not admission.admitted:
            metrics.shopify_breaker_rejected_calls_total.labels(shop=self.shop.id).inc()
            wait = admission.retry_after_seconds
            raise ShopifyUnavailable(
                f"Shopify failed shop {self.shop.id!r}'s calls repeatedly, so its circuit "
                f"breaker is open: no call is made until a probe call (in {wait:.1f}s) finds "
                "Shopify answering again; the job waits for it.",
                retry_after_seconds=wait)
        return admission

    def _report(self, admission: Admission, outcome: Outcome | None) -> None:
        """Tell the breaker what the attempt learnt (``None``: nothing, it ended before an
        answer for a reason of ours)."""
        if outcome is None:
            self._breaker.release(admission)
        else:
            self._breaker.record(admission, outcome)

    def _attempt(
        self, payload: dict[str, Any], reservation: Reservation, admission: Admission
    ) -> _Answer:
        """One HTTP exchange; whatever happens, the breaker hears what it learnt of Shopify."""
        outcome: Outcome | None = None
        try:
            answer = self._exchange(payload, reservation)
            outcome = Outcome.THROTTLED if answer.data is None else Outcome.ANSWERED
            return answer
        except ShopifyRejected:
            outcome = Outcome.ANSWERED  # Shopify is up; the request is wrong
            raise
        except ShopifyError:
            outcome = Outcome.FAILED
            raise
        finally:
            self._report(admission, outcome)

    def _exchange(self, payload: dict[str, Any], reservation: Reservation) -> _Answer:
        response = self._post(payload, reservation)
        if response.status_code == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            self._budget.settle(reservation, actual=0, drain=True)
            self._count_throttle(f"HTTP 429, Retry-After {wait:.2f}s")
            return _Answer(wait=wait)
        body = self._decode(response, reservation)
        cost = parse_cost(body)
        requested = None if cost is None else cost.requested
        if is_throttled(body):
            self._settle(reservation, cost, actual=0)
            self._count_throttle("THROTTLED")
            # Without Shopify's numbers the budget cannot know the wait: use the default.
            unknown = cost is None or cost.throttle_status is None
            return _Answer(wait=parse_retry_after(None) if unknown else None,
                           requested=requested)
        self._settle(reservation, cost, actual=None if cost is None else cost.actual)
        return _Answer(data=self._data(body), requested=requested)

    def _post(self, payload: dict[str, Any], reservation: Reservation) -> requests.Response:
        headers = {
            "X-Shopify-Access-Token": self.shop.access_token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            response = self._session.post(
                self.endpoint, json=payload, headers=headers, timeout=self._timeout
            )
        except requests.Timeout as exc:
            self._budget.settle(reservation, actual=None)
            self._fail("error", ShopifyError, f"timed out ({type(exc).__name__})")
        except requests.RequestException as exc:
            self._budget.settle(reservation, actual=None)
            self._fail("error", ShopifyError, f"could not be sent ({type(exc).__name__})")
        return response

    def _decode(self, response: requests.Response, reservation: Reservation) -> Any:
        status = response.status_code
        if status >= 500:
            self._budget.settle(reservation, actual=None)
            self._fail("error", ShopifyError, f"answered HTTP {status}")
        if status != 200:
            self._budget.settle(reservation, actual=0)
            self._fail(
                "rejected", ShopifyRejected,
                f"was rejected with HTTP {status}: {self._excerpt(response.text)}",
                details={"http_status": status},
            )
        try:
            return response.json()
        except ValueError:
            self._budget.settle(reservation, actual=None)
            self._fail("error", ShopifyError, "answered HTTP 200 with a body that is not JSON")

    def _settle(
        self, reservation: Reservation, cost: QueryCost | None, *, actual: int | None
    ) -> None:
        status = cost.throttle_status if cost is not None else None
        available = self._budget.settle(reservation, actual=actual, status=status)
        shop = self.shop.id
        metrics.shopify_budget_available_points.labels(shop=shop).set(
            status.currently_available if status is not None else available
        )
        if actual:
            metrics.shopify_cost_points_total.labels(shop=shop).inc(actual)

    def _data(self, body: Any) -> dict[str, Any]:
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if errors:
            codes = error_codes(body)
            message = self._error_messages(errors)
            if RETRYABLE_GRAPHQL_CODES.intersection(codes):
                self._fail("error", ShopifyError, f"failed inside Shopify: {message}",
                           details={"codes": codes})
            self._fail("rejected", ShopifyRejected, f"rejected the query: {message}",
                       details={"codes": codes})
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, dict):
            self._fail("error", ShopifyError, "answered without data or errors")
        metrics.shopify_calls_total.labels(shop=self.shop.id, outcome="ok").inc()
        return data

    def _wait(self, seconds: float, deadline: float) -> None:
        if self._clock() + seconds > deadline:
            raise ShopifyThrottled(
                f"Shopify kept shop {self.shop.id!r} throttled for longer than "
                f"{self._max_wait:.0f}s; the job should retry later.",
                retry_after_seconds=seconds,
            )
        self._sleep(seconds)

    def _count_throttle(self, what: str) -> None:
        shop = self.shop.id
        metrics.shopify_calls_total.labels(shop=shop, outcome="throttled").inc()
        metrics.shopify_throttled_total.labels(shop=shop).inc()
        log.info("shopify throttled (%s); waiting inside the call", what, extra={"shop": shop})

    def _fail(
        self,
        outcome: str,
        error: type[ShopifyError] | type[ShopifyRejected],
        what: str,
        *,
        details: dict[str, object] | None = None,
    ) -> NoReturn:
        metrics.shopify_calls_total.labels(shop=self.shop.id, outcome=outcome).inc()
        message = self._redact(f"Shopify call for shop {self.shop.id!r} {what}")
        log.warning("%s", message)
        exc = error(message)
        exc.details = dict(details or {})
        raise exc

    # --- message hygiene ------------------------------------------------------------------------

    def _error_messages(self, errors: Any) -> str:
        if not isinstance(errors, list):
            return self._excerpt(str(errors))
        parts = []
        for error in errors[:5]:
            if isinstance(error, Mapping):
                parts.append(str(error.get("message", "")))
        return self._excerpt("; ".join(parts))

    def _excerpt(self, text: str) -> str:
        text = " ".join(text.split())
        return text[:MESSAGE_LIMIT] + ("..." if len(text) > MESSAGE_LIMIT else "")

    def _redact(self, text: str) -> str:
        token = self.shop.access_token
        return text.replace(token, "[redacted]") if token else text
