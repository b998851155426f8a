"""Throttles, faults and bad credentials against the real sandbox, paced by the Redis budget."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hookyard.base import metrics
from hookyard.base.errors import ShopifyError, ShopifyRejected, ShopifyThrottled
from hookyard.shopify import operations as ops
from hookyard_sandbox.client import SandboxClient


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_a_burst_of_429s_ends_in_success_inside_one_call(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("burst")
    sandbox.set_faults("burst", throttle_next=3, retry_after_seconds=0.1)
    client = make_client(seed)
    before = sample("hookyard_shopify_throttled_total", shop="burst")
    found = ops.find_inventory_items_by_sku(client, ["SKU-0"])
    assert set(found) == {"SKU-0"}
    stats = sandbox.stats("burst")
    assert stats["http_429"] == 3
    assert stats["served"] == 1
    assert stats["budget_exceeded"] == 0
    assert sample("hookyard_shopify_throttled_total", shop="burst") - before == 3


def test_throttled_answers_are_waited_out_from_the_reported_status(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("empty", plan="advanced")
    client = make_client(seed)
    ops.list_themes(client, first=10)  # the budget learns Shopify's bucket
    sandbox.set_bucket("empty", 0)  # something else drained it
    started = time.monotonic()
    themes = ops.list_themes(client, first=48)  # 50 points at 200 points/s: ~0.25 s
    elapsed = time.monotonic() - started
    assert [t["name"] for t in themes] == ["Dawn"]
    stats = sandbox.stats("empty")
    assert stats["throttled"] == 1  # the surprise; the retry waited for the refill
    assert stats["served"] == 2
    assert stats["budget_exceeded"] == 0
    assert 0.2 <= elapsed < 2.0


def test_a_shop_throttled_past_the_bound_raises_shopify_throttled(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("stuck")
    sandbox.set_faults("stuck", throttle_next=100, retry_after_seconds=0.2)
    client = make_client(seed, max_throttle_wait_seconds=0.5)
    with pytest.raises(ShopifyThrottled) as caught:
        ops.list_themes(client)
    assert caught.value.retryable
    assert sandbox.stats("stuck")["http_429"] <= 4


def test_server_errors_raise_shopify_error_for_the_job_to_retry(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("flaky")
    sandbox.set_faults("flaky", fail_next=1, fail_status=502)
    client = make_client(seed)
    with pytest.raises(ShopifyError) as caught:
        ops.list_themes(client)
    assert type(caught.value) is ShopifyError
    assert [t["name"] for t in ops.list_themes(client)] == ["Dawn"]  # the job's retry


def test_a_read_timeout_raises_shopify_error(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("slow")
    sandbox.set_faults("slow", latency_ms=600)
    client = make_client(seed, read_timeout_seconds=0.2)
    with pytest.raises(ShopifyError, match="timed out"):
        ops.list_themes(client)


def test_a_bad_token_is_rejected_and_never_printed(
    new_shop: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seed, _ = new_shop("locked")
    wrong = {**seed, "token": "shpat_wrong_token_123"}
    client = make_client(wrong)
    with pytest.raises(ShopifyRejected) as caught:
        ops.list_themes(client)
    assert caught.value.details["http_status"] == 401
    assert "Invalid API key or access token" in str(caught.value)
    assert "shpat_wrong_token_123" not in str(caught.value)
    assert "shpat_wrong_token_123" not in caplog.text


def test_an_over_budget_query_is_rejected_not_retried(new_shop: Any, make_client: Any) -> None:
    seed, _ = new_shop("greedy")
    client = make_client(seed)
    # 2 + 250 x (variant 1 + product 1 + item 1 + level 1) = 1002 > 1000
    query = """{ productVariants(first: 250) { edges { node { id product { id }
        inventoryItem { id inventoryLevel(locationId: "gid://shopify/Location/1") { id } } }
    } } }"""
    with pytest.raises(ShopifyRejected) as caught:
        client.execute(query, estimated_cost=10)
    assert caught.value.details["codes"] == ["MAX_COST_EXCEEDED"]
