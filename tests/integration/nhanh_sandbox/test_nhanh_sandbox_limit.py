"""Nhanh's request limit in the sandbox: N per sliding window per app + business + API path,
refused requests not counted, ``ERR_429`` with ``lockedSeconds`` and ``unlockedAt``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import BUSINESS_ID, NhanhApi, business_seed
from tests.support.nhanh_sandbox_process import NhanhSandboxProcess


def test_the_151st_request_in_30_seconds_is_refused_with_err_429(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    """Nhanh's own numbers, the sandbox's defaults: 150 requests per 30 s."""
    seeded()
    started = time.monotonic()
    answers = [api.customers({"paginator": {"size": 1}}) for _ in range(151)]
    assert time.monotonic() - started < 25, "too slow to test a 30 s window"
    assert [a["code"] for a in answers[:150]] == [1] * 150
    refused = answers[150]
    assert refused["code"] == 0 and refused["errorCode"] == "ERR_429"
    locked = refused["data"]["lockedSeconds"]
    assert 5 <= locked <= 30, refused
    assert abs(refused["data"]["unlockedAt"] - (time.time() + locked)) <= 2
    # The limit is per API path: the product list still has its own 150.
    assert api.products({})["code"] == 1
    # A refused request is not counted.
    assert api.customers({})["errorCode"] == "ERR_429"
    counts = nhanh_sandbox.requests(BUSINESS_ID)
    assert counts["admitted"] == {"/v3.0/customer/list": 150, "/v3.0/product/list": 1}
    assert counts["refused"] == {"/v3.0/customer/list": 2}


def test_the_window_slides_rather_than_resetting(api: NhanhApi, seeded: Any) -> None:
    """Two per 2 s: a request at 0 s and one at 1 s; at 2.3 s the first has left the window
    (one more is admitted) but the second has not (the next is refused), which a fixed window
    starting at 0 s would have allowed."""
    seeded(rateLimit={"requests": 2, "windowSeconds": 2})
    start = time.monotonic()
    assert api.customers({})["code"] == 1
    time.sleep(1.0)
    assert api.customers({})["code"] == 1
    third = api.customers({})
    assert third["errorCode"] == "ERR_429" and third["data"]["lockedSeconds"] == 1
    time.sleep(max(0.0, start + 2.3 - time.monotonic()))
    assert api.customers({})["code"] == 1
    fifth = api.customers({})
    assert fifth["errorCode"] == "ERR_429", fifth
    assert time.monotonic() - start < 2.95, "the machine was too slow for this timing"


def test_businesses_of_one_app_have_limits_of_their_own(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    seeded(rateLimit={"requests": 1, "windowSeconds": 30})
    nhanh_sandbox.seed_business({**business_seed(), "businessId": 2002, "accessToken": "t2",
                                 "rateLimit": {"requests": 1, "windowSeconds": 30}})
    assert api.customers({})["code"] == 1
    assert api.customers({})["errorCode"] == "ERR_429"
    assert api.customers({}, business_id=2002, token="t2")["code"] == 1


@pytest.fixture
def small_limit_sandbox() -> Iterator[NhanhSandboxProcess]:
    process = NhanhSandboxProcess(rate_limit=3, rate_window_seconds=1).wait_ready()
    yield process
    process.stop()


def test_the_command_line_sets_the_limit_and_a_wait_of_locked_seconds_gets_in(
    small_limit_sandbox: NhanhSandboxProcess,
) -> None:
    control = NhanhSandboxClient(small_limit_sandbox.url)
    control.seed_business(business_seed())
    api = NhanhApi(small_limit_sandbox.url)
    assert [api.customers({})["code"] for _ in range(3)] == [1, 1, 1]
    refused = api.customers({})
    assert refused["errorCode"] == "ERR_429" and refused["data"]["lockedSeconds"] == 1
    time.sleep(refused["data"]["lockedSeconds"])
    assert api.customers({})["code"] == 1
    assert control.requests(BUSINESS_ID)["limit"] == {"requests": 3, "windowSeconds": 1.0}
