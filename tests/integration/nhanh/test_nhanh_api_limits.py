"""Hookyard's Nhanh client under Nhanh's request limit: clients on separate Redis connections
share one budget and never let Nhanh refuse; Nhanh's own ERR_429 becomes a retryable error."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hookyard.base import metrics
from hookyard.base.errors import NhanhThrottled
from hookyard.jobs.failures import is_retryable
from hookyard.nhanh.client import NhanhClient
from hookyard.nhanh.customers import CUSTOMER_LIST, read_customers
from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import BUSINESS_ID, NhanhApi
from tests.support.nhanh_sandbox_process import NhanhSandboxProcess
from tests.support.nhanh_shops import nhanh_shop


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_two_clients_sharing_one_limit_never_exceed_it(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    """The sandbox allows 4 requests per 1 s; both clients read as hard as they can for 3.5 s,
    each on its own Redis connection (as two replicas would), and Nhanh refuses none."""
    business(customers=5, rateLimit={"requests": 4, "windowSeconds": 1})
    clients: list[NhanhClient] = [make_client(requests=4, window_seconds=1) for _ in range(2)]
    served = [0, 0]
    own_give_ups = [0, 0]
    errors: list[BaseException] = []
    throttled_before = sample("hookyard_nhanh_api_throttled_total", shop="acme")
    deadline = time.monotonic() + 3.5

    def hammer(index: int) -> None:
        try:
            while time.monotonic() < deadline:
                try:
                    found = read_customers(clients[index], nhanh_shop(), ["1", "2"])
                except NhanhThrottled as exc:
                    assert exc.locked_seconds is None, "Nhanh itself refused"
                    own_give_ups[index] += 1
                    continue
                assert set(found) == {"1", "2"}
                served[index] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    counts = nhanh_sandbox.requests(BUSINESS_ID)
    context = f"served={served} give_ups={own_give_ups} counts={counts}"
    assert counts["refused"] == {}, context
    assert counts["admitted"][CUSTOMER_LIST] == sum(served), context
    # 4 per (1 s + our 1 s margin) over 3.5 s: 8 to 12 requests; pacing is not wildly cautious.
    assert 8 <= sum(served) <= 12, context
    assert min(served) >= 1, context
    assert sample("hookyard_nhanh_api_throttled_total", shop="acme") > throttled_before


def test_a_call_waits_inside_for_room_in_the_shared_limit(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business(rateLimit={"requests": 2, "windowSeconds": 1})
    client = make_client(requests=2, window_seconds=1)
    started = time.monotonic()
    for _ in range(3):
        client.call(CUSTOMER_LIST, {})
    assert 1.0 <= time.monotonic() - started < 4.0
    assert nhanh_sandbox.requests(BUSINESS_ID)["refused"] == {}


def test_a_call_that_would_wait_past_its_bound_raises_a_retryable_throttle(
    business: Any, make_client: Any
) -> None:
    business()
    client = make_client(requests=1, window_seconds=30, max_wait_seconds=0.5)
    client.call(CUSTOMER_LIST, {})
    with pytest.raises(NhanhThrottled) as raised:
        client.call(CUSTOMER_LIST, {})
    assert is_retryable(raised.value)
    assert raised.value.locked_seconds is None
    assert 1 <= (raised.value.retry_after_seconds or 0) <= 31


def test_nhanhs_err_429_becomes_a_retryable_error_carrying_locked_seconds(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient,
    nhanh_sandbox_process: NhanhSandboxProcess,
) -> None:
    """Another client of the same app (not Hookyard's limit) spent Nhanh's limit."""
    business(rateLimit={"requests": 2, "windowSeconds": 30})
    other = NhanhApi(nhanh_sandbox_process.url)
    assert [other.customers({})["code"] for _ in range(2)] == [1, 1]
    before = sample("hookyard_nhanh_api_calls_total", shop="acme", endpoint=CUSTOMER_LIST,
                    outcome="throttled")
    with pytest.raises(NhanhThrottled) as raised:
        read_customers(make_client(), nhanh_shop(), ["1"])
    error = raised.value
    assert is_retryable(error) and error.code == "nhanh_throttled"
    assert error.locked_seconds is not None and 20 <= error.locked_seconds <= 30
    assert error.retry_after_seconds == error.locked_seconds
    assert error.details == {"locked_seconds": error.locked_seconds}
    assert "ERR_429" in error.message
    assert sample("hookyard_nhanh_api_calls_total", shop="acme", endpoint=CUSTOMER_LIST,
                  outcome="throttled") == before + 1
    assert nhanh_sandbox.requests(BUSINESS_ID)["refused"] == {CUSTOMER_LIST: 1}
