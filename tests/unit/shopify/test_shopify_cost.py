"""Reading cost and throttle signals out of Shopify answers (pure functions, no I/O)."""

from __future__ import annotations

import math

import pytest

from hookyard.shopify.cost import (
    DEFAULT_RETRY_AFTER_SECONDS,
    QueryCost,
    ThrottleStatus,
    error_codes,
    is_throttled,
    parse_cost,
    parse_retry_after,
    throttle_wait_seconds,
)

ANSWER = {
    "data": {"shop": {"name": "x"}},
    "extensions": {
        "cost": {
            "requestedQueryCost": 12,
            "actualQueryCost": 2,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1990.5,
                "restoreRate": 100.0,
            },
        }
    },
}
THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
    "extensions": {
        "cost": {
            "requestedQueryCost": 202,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 2.0,
                "restoreRate": 100.0,
            },
        }
    },
}


def test_cost_is_read_from_extensions_with_its_throttle_status() -> None:
    cost = parse_cost(ANSWER)
    assert cost == QueryCost(
        requested=12,
        actual=2,
        throttle_status=ThrottleStatus(2000.0, 1990.5, 100.0),
    )


def test_a_throttled_answer_has_no_actual_cost() -> None:
    cost = parse_cost(THROTTLED)
    assert cost is not None
    assert cost.requested == 202
    assert cost.actual is None


@pytest.mark.parametrize(
    "body",
    [None, [], {}, {"extensions": None}, {"extensions": {"cost": "x"}}, "text"],
)
def test_answers_without_cost_parse_to_none(body: object) -> None:
    assert parse_cost(body) is None


@pytest.mark.parametrize(
    "status",
    [
        {"maximumAvailable": 0, "currentlyAvailable": 0, "restoreRate": 100},
        {"maximumAvailable": 1000, "currentlyAvailable": 5, "restoreRate": 0},
        {"maximumAvailable": "1000", "currentlyAvailable": 5, "restoreRate": 50},
        {"maximumAvailable": 1000, "currentlyAvailable": -1, "restoreRate": 50},
        {"maximumAvailable": True, "currentlyAvailable": 5, "restoreRate": 50},
        {"maximumAvailable": math.nan, "currentlyAvailable": 5, "restoreRate": 50},
    ],
)
def test_a_malformed_throttle_status_is_ignored_rather_than_trusted(status: dict) -> None:
    body = {"extensions": {"cost": {"requestedQueryCost": 1, "throttleStatus": status}}}
    cost = parse_cost(body)
    assert cost is not None
    assert cost.throttle_status is None


def test_currently_available_is_capped_at_the_maximum() -> None:
    body = {"extensions": {"cost": {"throttleStatus": {
        "maximumAvailable": 1000, "currentlyAvailable": 5000, "restoreRate": 50}}}}
    cost = parse_cost(body)
    assert cost is not None and cost.throttle_status is not None
    assert cost.throttle_status.currently_available == 1000


def test_throttled_is_detected_only_from_the_error_code() -> None:
    assert is_throttled(THROTTLED)
    assert not is_throttled(ANSWER)
    assert not is_throttled({"errors": [{"message": "Throttled"}]})
    assert not is_throttled({"errors": "[API] Invalid API key or access token"})


def test_error_codes_skip_errors_without_a_code() -> None:
    body = {"errors": [{"message": "a"}, {"extensions": {"code": "MAX_COST_EXCEEDED"}}, 3]}
    assert error_codes(body) == ["MAX_COST_EXCEEDED"]


def test_the_throttle_wait_is_the_missing_points_over_the_restore_rate() -> None:
    assert throttle_wait_seconds(parse_cost(THROTTLED), 202) == pytest.approx(2.0)
    assert throttle_wait_seconds(parse_cost(ANSWER), 10) == 0.0


def test_the_throttle_wait_without_a_status_is_the_default() -> None:
    assert throttle_wait_seconds(None, 100) == DEFAULT_RETRY_AFTER_SECONDS


def test_a_wait_for_more_than_the_bucket_holds_is_a_wait_for_a_full_bucket() -> None:
    status = ThrottleStatus(maximum_available=1000, currently_available=0, restore_rate=50)
    assert status.seconds_until(5000) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2.0", 2.0), (" 3 ", 3.0), ("0", 0.0), (None, DEFAULT_RETRY_AFTER_SECONDS),
     ("Wed, 21 Oct 2015 07:28:00 GMT", DEFAULT_RETRY_AFTER_SECONDS),
     ("-1", DEFAULT_RETRY_AFTER_SECONDS), ("inf", DEFAULT_RETRY_AFTER_SECONDS)],
)
def test_retry_after_is_read_as_delta_seconds_with_a_safe_default(
    header: str | None, seconds: float
) -> None:
    assert parse_retry_after(header) == seconds
