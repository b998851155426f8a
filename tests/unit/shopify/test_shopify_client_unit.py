"""ShopifyClient against canned HTTP answers (a requests adapter; no network, no Redis)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from hookyard.base.errors import (
    ShopifyError,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from hookyard.base.shops import ShopConfig
from hookyard.shopify.breaker import Admission, Outcome
from hookyard.shopify.budget import Reservation
from hookyard.shopify.client import ShopifyClient
from hookyard.shopify.cost import ThrottleStatus

TOKEN = "shpat_secret_token_value"
SHOP = ShopConfig(id="acme", nhanh_business_id="1", shopify_domain="acme.myshopify.com",
                  access_token=TOKEN, plan="standard")
STATUS = {"maximumAvailable": 2000.0, "currentlyAvailable": 1500.0, "restoreRate": 100.0}


def ok(data: Any, requested: int = 10, actual: int = 4) -> tuple[int, dict, dict]:
    return 200, {}, {"data": data, "extensions": {"cost": {
        "requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": STATUS}}}


def throttled(available: float = 0.0) -> tuple[int, dict, dict]:
    return 200, {}, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                     "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None,
                                             "throttleStatus": {**STATUS,
                                                                "currentlyAvailable": available}}}}


class CannedAdapter(BaseAdapter):
    """Answers each request with the next canned (status, headers, body) or raises it."""

    def __init__(self, answers: list[Any]) -> None:
        super().__init__()
        self.answers: Iterator[Any] = iter(answers)
        self.requests: list[requests.PreparedRequest] = []

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.requests.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


class FakeBudget:
    def __init__(self) -> None:
        self.reserved: list[int] = []
        self.settled: list[dict[str, Any]] = []

    def reserve(self, points: int, *, deadline: float | None = None) -> Reservation:
        self.reserved.append(points)
        return Reservation("acme", str(len(self.reserved)), points, 0.0, 0.0)

    def settle(self, reservation: Reservation, *, actual: int | None = None,
               status: ThrottleStatus | None = None, drain: bool = False) -> float:
        self.settled.append({"actual": actual, "status": status, "drain": drain})
        return 0.0


class RecordingBreaker:
    """A closed breaker that keeps what the client told it (the real one: integration tests)."""

    def __init__(self, *, deny_for: float | None = None) -> None:
        self.deny_for = deny_for
        self.admitted = 0
        self.outcomes: list[Outcome | None] = []

    def admit(self) -> Admission:
        if self.deny_for is not None:
            return Admission(False, retry_after_seconds=self.deny_for)
        self.admitted += 1
        return Admission(True)

    def record(self, admission: Admission, outcome: Outcome) -> str:
        self.outcomes.append(outcome)
        return "closed"

    def release(self, admission: Admission) -> None:
        self.outcomes.append(None)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def make_client() -> Callable[..., tuple[ShopifyClient, CannedAdapter, FakeBudget, Clock]]:
    def make(answers: list[Any], **kwargs: Any) -> tuple[ShopifyClient, CannedAdapter,
                                                         FakeBudget, Clock]:
        session = requests.Session()
        adapter = CannedAdapter(answers)
        session.mount("https://", adapter)
        budget, clock = FakeBudget(), Clock()
        kwargs.setdefault("breaker", RecordingBreaker())
        client = ShopifyClient(SHOP, api_version="2026-10", budget=budget, session=session,
                               sleep=clock.sleep, clock=clock, **kwargs)
        return client, adapter, budget, clock
    return make


def test_data_is_returned_and_the_cost_settled_with_shopifys_status(make_client: Any) -> None:
    client, adapter, budget, _ = make_client([ok({"x": 1})])
    assert client.execute("{ x }", estimated_cost=12) == {"x": 1}
    request = adapter.requests[0]
    assert request.url == "https://acme.myshopify.com/admin/api/2026-10/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert budget.reserved == [12]
    assert budget.settled == [{"actual": 4, "status": ThrottleStatus(2000.0, 1500.0, 100.0),
                               "drain": False}]


def test_the_base_url_override_replaces_the_shop_domain(make_client: Any) -> None:
    client, _, _, _ = make_client([], base_url="http://127.0.0.1:8082/")
    assert client.endpoint == "http://127.0.0.1:8082/admin/api/2026-10/graphql.json"


def test_estimates_above_the_single_query_maximum_reserve_the_maximum(make_client: Any) -> None:
    client, _, budget, _ = make_client([ok({})])
    client.execute("{ x }", estimated_cost=5000)
    assert budget.reserved == [1000]


def test_a_throttled_answer_is_retried_inside_the_call(make_client: Any) -> None:
    client, adapter, budget, _ = make_client([throttled(), throttled(), ok({"x": 2})])
    assert client.execute("{ x }", estimated_cost=10) == {"x": 2}
    assert len(adapter.requests) == 3
    assert [s["actual"] for s in budget.settled] == [0, 0, 4]
    assert budget.settled[0]["status"].currently_available == 0.0


def test_a_429_waits_retry_after_and_drains_the_shared_budget(make_client: Any) -> None:
    client, _, budget, clock = make_client([(429, {"Retry-After": "2.0"}, "{}"), ok({"x": 3})])
    assert client.execute("{ x }", estimated_cost=10) == {"x": 3}
    assert clock.sleeps == [2.0]
    assert budget.settled[0] == {"actual": 0, "status": None, "drain": True}


def test_throttling_longer_than_the_bound_raises_shopify_throttled(make_client: Any) -> None:
    answers = [(429, {"Retry-After": "10"}, "{}")] * 10
    client, _, _, clock = make_client(answers, max_throttle_wait_seconds=25)
    with pytest.raises(ShopifyThrottled) as caught:
        client.execute("{ x }", estimated_cost=10)
    assert clock.sleeps == [10.0, 10.0]
    assert caught.value.retry_after_seconds == 10.0
    assert caught.value.retryable


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_raise_retryable_shopify_error(make_client: Any, status: int) -> None:
    client, _, budget, _ = make_client([(status, {}, "oops")])
    with pytest.raises(ShopifyError) as caught:
        client.execute("{ x }", estimated_cost=10)
    assert type(caught.value) is ShopifyError
    assert budget.settled == [{"actual": None, "status": None, "drain": False}]


@pytest.mark.parametrize(
    "failure", [requests.ConnectTimeout("c"), requests.ReadTimeout("r"),
                requests.ConnectionError("refused")],
)
def test_timeouts_and_connection_errors_raise_shopify_error(
    make_client: Any, failure: Exception
) -> None:
    client, _, _, _ = make_client([failure])
    with pytest.raises(ShopifyError) as caught:
        client.execute("{ x }", estimated_cost=10)
    assert type(caught.value) is ShopifyError


def test_a_bad_token_is_rejected_without_the_token_in_the_message(make_client: Any) -> None:
    body = {"errors": f"[API] Invalid API key or access token {TOKEN}"}
    client, _, _, _ = make_client([(401, {}, body)])
    with pytest.raises(ShopifyRejected) as caught:
        client.execute("{ x }", estimated_cost=10)
    assert TOKEN not in str(caught.value)
    assert not caught.value.retryable
    assert caught.value.details["http_status"] == 401


def test_graphql_errors_other_than_throttled_are_rejections(make_client: Any) -> None:
    body = {"errors": [{"message": "Field 'nope' doesn't exist",
                        "extensions": {"code": "undefinedField"}}]}
    client, _, _, _ = make_client([(200, {}, body)])
    with pytest.raises(ShopifyRejected, match="doesn't exist"):
        client.execute("{ nope }", estimated_cost=1)


def test_an_internal_error_inside_shopify_is_retryable(make_client: Any) -> None:
    body = {"errors": [{"message": "Internal error",
                        "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    client, _, _, _ = make_client([(200, {}, body)])
    with pytest.raises(ShopifyError) as caught:
        client.execute("{ x }", estimated_cost=1)
    assert type(caught.value) is ShopifyError


def test_a_body_that_is_not_json_is_a_retryable_error(make_client: Any) -> None:
    client, _, _, _ = make_client([(200, {}, "<html>")])
    with pytest.raises(ShopifyError):
        client.execute("{ x }", estimated_cost=1)


def test_a_higher_requested_cost_is_reserved_on_the_next_attempt(make_client: Any) -> None:
    answer = throttled()
    answer[2]["extensions"]["cost"]["requestedQueryCost"] = 80
    client, _, budget, _ = make_client([answer, ok({})])
    client.execute("{ x }", estimated_cost=10)
    assert budget.reserved == [10, 80]


# --- what the circuit breaker hears (the shared breaker itself: integration tests) ------------

INTERNAL = (200, {}, {"errors": [{"message": "Internal error",
                                  "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
INVALID = (200, {}, {"errors": [{"message": "bad", "extensions": {"code": "undefinedField"}}]})


@pytest.mark.parametrize(
    ("answers", "outcomes"),
    [
        ([ok({"x": 1})], [Outcome.ANSWERED]),
        ([(401, {}, {"errors": "Invalid API key"})], [Outcome.ANSWERED]),
        ([(404, {}, "no such shop")], [Outcome.ANSWERED]),
        ([INVALID], [Outcome.ANSWERED]),
        ([(500, {}, "oops")], [Outcome.FAILED]),
        ([(503, {}, "oops")], [Outcome.FAILED]),
        ([requests.ReadTimeout("r")], [Outcome.FAILED]),
        ([requests.ConnectionError("refused")], [Outcome.FAILED]),
        ([(200, {}, "<html>")], [Outcome.FAILED]),
        ([INTERNAL], [Outcome.FAILED]),
        ([(200, {}, {"extensions": {}})], [Outcome.FAILED]),  # neither data nor errors
        ([(429, {"Retry-After": "1"}, "{}"), ok({})], [Outcome.THROTTLED, Outcome.ANSWERED]),
        ([throttled(), (502, {}, "x")], [Outcome.THROTTLED, Outcome.FAILED]),
    ],
    ids=["data", "401", "404", "graphql-error", "500", "503", "timeout", "connection",
         "not-json", "internal-error", "no-data", "429-then-data", "throttled-then-502"],
)
def test_every_http_attempt_tells_the_breaker_what_shopify_did(
    make_client: Any, answers: list[Any], outcomes: list[Outcome]
) -> None:
    breaker = RecordingBreaker()
    client, adapter, _, _ = make_client(answers, breaker=breaker)
    try:
        client.execute("{ x }", estimated_cost=1)
    except (ShopifyError, ShopifyRejected):
        pass
    assert breaker.outcomes == outcomes
    assert breaker.admitted == len(adapter.requests)  # asked before every HTTP attempt


def test_an_open_breaker_raises_shopify_unavailable_without_a_call(make_client: Any) -> None:
    breaker = RecordingBreaker(deny_for=4.5)
    client, adapter, budget, _ = make_client([ok({})], breaker=breaker)
    with pytest.raises(ShopifyUnavailable) as caught:
        client.execute("{ x }", estimated_cost=1)
    assert caught.value.retry_after_seconds == 4.5
    assert caught.value.retryable and caught.value.upstream == "shopify"
    assert caught.value.code == "shopify_unavailable"
    assert adapter.requests == [] and budget.reserved == []  # no call, no points booked


def test_a_call_our_own_budget_gives_up_on_releases_the_breaker(make_client: Any) -> None:
    class ShortBudget(FakeBudget):
        def reserve(self, points: int, *, deadline: float | None = None) -> Reservation:
            raise ShopifyThrottled("budget", retry_after_seconds=9)

    breaker = RecordingBreaker()
    session = requests.Session()
    adapter = CannedAdapter([])
    session.mount("https://", adapter)
    client = ShopifyClient(SHOP, api_version="2026-10", budget=ShortBudget(), breaker=breaker,
                           session=session)
    with pytest.raises(ShopifyThrottled):
        client.execute("{ x }", estimated_cost=1)
    assert breaker.outcomes == [None]  # released: Shopify was never asked
    assert adapter.requests == []
