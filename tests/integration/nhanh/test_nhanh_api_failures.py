"""Hookyard's Nhanh client against failures of the real sandbox: bad credentials are permanent
and name the setting to fix; server errors, timeouts and connection errors are retryable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.redis_server import RedisServer, free_port
from hookyard.base import metrics
from hookyard.base.errors import NhanhError, NhanhNotConfigured, NhanhRejected
from hookyard.base.settings import Settings
from hookyard.jobs.failures import is_retryable
from hookyard.jobs.runtime import Runtime
from hookyard.nhanh.access import client_for
from hookyard.nhanh.customers import CUSTOMER_LIST, read_customers
from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import APP_ID, BUSINESS_ID, TOKEN
from tests.support.nhanh_shops import nhanh_shop


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(("shop_kwargs", "code", "field"), [
    ({"token": "wrong-token"}, "ERR_INVALID_ACCESS_TOKEN", "nhanh_access_token"),
    ({"app_id": APP_ID + 1}, "ERR_INVALID_APP_ID", "nhanh_app_id"),
    ({"business_id": BUSINESS_ID + 1}, "ERR_INVALID_BUSINESS_ID", "nhanh_business_id"),
])
def test_bad_credentials_are_permanent_and_name_the_shop_setting_to_fix(
    business: Any, make_client: Any, shop_kwargs: dict[str, Any], code: str, field: str
) -> None:
    business()
    shop = nhanh_shop(**shop_kwargs)
    before = sample("hookyard_nhanh_api_calls_total", shop="acme", endpoint=CUSTOMER_LIST,
                    outcome="rejected")
    with pytest.raises(NhanhRejected) as raised:
        read_customers(make_client(shop), shop, ["1"])
    error = raised.value
    assert not is_retryable(error) and error.code == "nhanh_rejected"
    assert code in error.message and field in error.message and "'acme'" in error.message
    assert "HOOKYARD_SHOPS" in error.message
    assert error.details == {"error_code": code}
    assert "wrong-token" not in error.message and TOKEN not in error.message
    assert sample("hookyard_nhanh_api_calls_total", shop="acme", endpoint=CUSTOMER_LIST,
                  outcome="rejected") == before + 1


def test_a_request_nhanh_calls_invalid_is_permanent(business: Any, make_client: Any) -> None:
    business()
    with pytest.raises(NhanhRejected) as raised:
        make_client().call(CUSTOMER_LIST, {"paginator": {"size": 500}})
    assert "ERR_INVALID_DATA" in raised.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable_and_the_retry_succeeds(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient, status: int
) -> None:
    business()
    nhanh_sandbox.set_faults(BUSINESS_ID, fail_next=1, fail_status=status)
    client = make_client()
    with pytest.raises(NhanhError) as raised:
        read_customers(client, nhanh_shop(), ["1"])
    assert type(raised.value) is NhanhError and is_retryable(raised.value)
    assert f"HTTP {status}" in raised.value.message
    assert set(read_customers(client, nhanh_shop(), ["1"])) == {"1"}


def test_an_http_4xx_is_permanent_and_points_at_the_api_url(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business()
    nhanh_sandbox.set_faults(BUSINESS_ID, fail_next=1, fail_status=404)
    with pytest.raises(NhanhRejected) as raised:
        make_client().call(CUSTOMER_LIST, {})
    assert "HOOKYARD_NHANH_API_URL" in raised.value.message


def test_a_read_timeout_is_retryable(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business()
    nhanh_sandbox.set_faults(BUSINESS_ID, latency_ms=1500)
    with pytest.raises(NhanhError) as raised:
        make_client(timeout_seconds=0.3).call(CUSTOMER_LIST, {})
    assert "timed out" in raised.value.message and is_retryable(raised.value)


def test_a_connection_error_is_retryable(make_client: Any) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NhanhError) as raised:
        client.call(CUSTOMER_LIST, {})
    assert "could not be sent" in raised.value.message and is_retryable(raised.value)


def test_a_shop_without_nhanh_credentials_fails_permanently_naming_the_fields(
    live_redis: RedisServer,
) -> None:
    shops = [{"id": "plain", "nhanh_business_id": "1001", "shopify_domain": "p.myshopify.com",
              "access_token": "shpat_x"}]
    settings = Settings.from_env({"HOOKYARD_REDIS_URL": live_redis.url(0),
                                  "HOOKYARD_SHOPS": json.dumps(shops)})
    runtime = Runtime.build(settings)
    shop = settings.shop_by_id("plain")
    assert shop is not None
    with pytest.raises(NhanhNotConfigured) as raised:
        read_customers(runtime, shop, ["1"])
    assert not is_retryable(raised.value)
    assert "nhanh_app_id" in raised.value.message
    assert "nhanh_access_token" in raised.value.message
    with pytest.raises(NhanhNotConfigured):
        client_for(runtime, shop)
