"""Bulk queries through the real client, Redis budget and sandbox: start, join, poll, download."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hookyard.base.errors import ShopifyBulkBusy, ShopifyBulkFailed, ShopifyRejected
from hookyard.shopify import bulk
from hookyard_sandbox.client import SandboxClient

VARIANTS = "{ productVariants { edges { node { id sku inventoryItem { id } } } } }"
CUSTOMERS = "{ customers { edges { node { id email phone } } } }"


def run_to_end(client: Any, query: str, timeout: float = 10.0) -> bulk.BulkOperation:
    operation, joined = bulk.start_bulk_query(client, query)
    assert not joined
    return bulk.wait_for_bulk_operation(client, operation, deadline=time.monotonic() + timeout)


def rows(operation: bulk.BulkOperation) -> list[dict[str, Any]]:
    return list(bulk.iter_bulk_rows(operation.url, connect_timeout_seconds=2,
                                    read_timeout_seconds=2))


def test_a_bulk_query_exports_every_variant_with_the_selected_fields(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(skus=300)  # more than one page of a normal query
    sandbox.set_faults(seed["id"], bulk_start_seconds=0.2)
    client = make_client(seed)

    operation = run_to_end(client, VARIANTS)

    assert operation.status == "COMPLETED" and operation.object_count == 300
    exported = {row["sku"]: row["inventoryItem"]["id"] for row in rows(operation)}
    assert exported == {sku: v["inventoryItem"] for sku, v in ids["skus"].items()}
    assert set(rows(operation)[0]) == {"id", "sku", "inventoryItem"}
    stats = sandbox.stats(seed["id"])
    polls = stats["calls"] - 1
    assert stats["bulk_operations"] == 1 and stats["bulk_downloads"] == 2
    assert 1 <= polls <= 3
    assert stats["points_spent"] == 10 + polls  # the mutation, then 1 point a poll


def test_customers_are_exported_with_phone_and_email(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop(customers=3)
    sandbox.set_faults(seed["id"], bulk_start_seconds=0)
    operation = run_to_end(make_client(seed), CUSTOMERS)
    assert sorted((r["email"], r["phone"]) for r in rows(operation)) == [
        (f"c{i}@example.com", f"+8490000000{i}") for i in range(3)]


def test_a_bulk_query_that_matches_nothing_completes_without_a_file(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop(skus=2)
    sandbox.set_faults(seed["id"], bulk_start_seconds=0)
    query = '{ productVariants(query: "sku:NOPE") { edges { node { id sku } } } }'
    operation = run_to_end(make_client(seed), query)
    assert operation.status == "COMPLETED" and operation.url is None
    assert rows(operation) == []


@pytest.mark.parametrize(("fault", "status", "code"), [
    ({"bulk_fail_next": 1, "bulk_error_code": "TIMEOUT"}, "FAILED", "TIMEOUT"),
    ({"bulk_cancel_next": 1}, "CANCELED", None),
])
def test_a_bulk_query_that_fails_reports_its_status_and_error_code(
    fault: dict[str, Any], status: str, code: str | None, new_shop: Any, make_client: Any,
    sandbox: SandboxClient,
) -> None:
    seed, _ = new_shop(skus=10)
    sandbox.set_faults(seed["id"], bulk_start_seconds=0, **fault)
    operation = run_to_end(make_client(seed), VARIANTS)
    assert (operation.status, operation.error_code, operation.url) == (status, code, None)
    if status == "FAILED":
        partial = list(bulk.iter_bulk_rows(operation.partial_data_url, connect_timeout_seconds=2,
                                           read_timeout_seconds=2))
        assert len(partial) == 5


def test_a_running_query_with_the_same_text_is_joined_and_another_is_refused_as_busy(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop(skus=5)
    sandbox.set_faults(seed["id"], bulk_start_seconds=5, bulk_max_running=1)
    client = make_client(seed)
    first, joined = bulk.start_bulk_query(client, VARIANTS)
    assert not joined

    again, joined = bulk.start_bulk_query(client, "{ productVariants {\n  edges { node { id sku "
                                                  "inventoryItem { id } } } } }")
    assert joined and again.id == first.id
    with pytest.raises(ShopifyBulkBusy):
        bulk.start_bulk_query(client, CUSTOMERS)
    assert sandbox.stats(seed["id"])["bulk_operations"] == 1


def test_five_bulk_queries_may_run_at_once_from_api_2026_01(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop(skus=1)
    sandbox.set_faults(seed["id"], bulk_start_seconds=5)
    client = make_client(seed)
    for i in range(5):
        query = f'{{ productVariants(query: "sku:S{i}") {{ nodes {{ id }} }} }}'
        bulk.start_bulk_query(client, query)
    assert len(bulk.running_bulk_queries(client)) == 5
    with pytest.raises(ShopifyBulkBusy):
        bulk.start_bulk_query(client, CUSTOMERS)


def test_an_invalid_bulk_query_is_rejected_with_shopifys_code(
    new_shop: Any, make_client: Any
) -> None:
    seed, _ = new_shop()
    with pytest.raises(ShopifyRejected) as caught:
        bulk.start_bulk_query(make_client(seed),
                              "{ customers { nodes { id metafields { nodes { id } } } } }")
    assert caught.value.details["codes"] == ["INVALID"]


def test_polling_stops_at_the_deadline_with_the_operation_still_running(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop(skus=50)
    sandbox.set_faults(seed["id"], bulk_start_seconds=0, bulk_rows_per_second=10)
    client = make_client(seed)
    operation, _ = bulk.start_bulk_query(client, VARIANTS)
    started = time.monotonic()
    seen = bulk.wait_for_bulk_operation(client, operation, deadline=started + 1.0)
    assert not seen.done and seen.status == "RUNNING"
    assert time.monotonic() - started < 1.5
    assert bulk.get_bulk_operation(client, operation.id).object_count > 0


def test_a_failed_download_is_a_bulk_failure(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop(skus=3)
    sandbox.set_faults(seed["id"], bulk_start_seconds=0, bulk_download_fail_next=1)
    operation = run_to_end(make_client(seed), VARIANTS)
    with pytest.raises(ShopifyBulkFailed, match="HTTP 503"):
        rows(operation)
    assert len(rows(operation)) == 3
