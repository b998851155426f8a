"""Mapping snapshots from Shopify bulk queries, end to end through ingest, a real worker, Redis
and the sandbox: what a cold batch costs, one bulk query per shop, fallbacks, negative cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
import redis

from hookyard.base import keys
from hookyard.jobs import runtime
from hookyard.sync import catalog, inventory
from hookyard.sync.customers import CUSTOMER_EXPORT
from hookyard.sync.inventory import INVENTORY_EXPORT
from hookyard.sync.negative_cache import NegativeCache
from hookyard_sandbox.client import SandboxClient
from tests.support.nhanh_payloads import LOCATION, customer_body, inventory_body
from tests.support.platform_support import SHOPIFY_TOKEN, post_webhook


def seed_shop(sandbox: SandboxClient, *, skus: int = 0, customers: int = 0) -> dict[str, Any]:
    """Sandbox shop 'acme' (the platform settings' token) with CAT-000... and customers."""
    return sandbox.create_shop({
        "id": "acme", "token": SHOPIFY_TOKEN, "plan": "standard",
        "locations": [{"id": LOCATION, "name": "Main"}],
        "products": [{"title": "Catalogue", "variants": [
            {"sku": f"CAT-{i:03d}", "inventory": {"Main": 0}} for i in range(skus)]}],
        "customers": [{"email": f"khach{i}@example.vn", "phone": f"+8491000{i:04d}"}
                      for i in range(customers)],
    })


@contextmanager
def settings_changed(**changes: Any) -> Iterator[runtime.Runtime]:
    installed = runtime.current()
    runtime.install(replace(installed, settings=replace(installed.settings, **changes)))
    try:
        yield runtime.current()
    finally:
        runtime.install(installed)


def post_inventory(client: Any, skus: list[str], available: int) -> list[str]:
    jobs = []
    for start in range(0, len(skus), 50):
        jobs += post_webhook(client, inventory_body(skus[start:start + 50],
                                                    available=available)).json["jobs"]
    return jobs


def levels(sandbox: SandboxClient) -> dict[str, int]:
    return {row["sku"]: row["available"] for row in sandbox.inventory("acme")}


def calls_by_kind(sandbox: SandboxClient) -> tuple[dict[str, int], int, int]:
    """(mutations by name, other GraphQL calls, points spent) since the stats were reset."""
    stats = sandbox.stats("acme")
    names: dict[str, int] = {}
    for mutation in sandbox.mutations("acme"):
        names[mutation["mutation"]] = names.get(mutation["mutation"], 0) + 1
    return names, stats["calls"] - sum(names.values()), stats["points_spent"]


def state() -> redis.Redis:
    return runtime.current().state


def test_a_cold_batch_costs_one_bulk_query_and_its_polls_instead_of_a_lookup_per_sku(
        client, sandbox, worker, wait_state):
    seed_shop(sandbox, skus=150)
    sandbox.set_faults("acme", bulk_start_seconds=0.2)
    skus = [f"CAT-{i:03d}" for i in range(150)]
    worker.pause()
    job_ids = post_inventory(client, skus, available=42)
    worker.resume()

    records = [wait_state(job_id, "succeeded") for job_id in job_ids]

    assert levels(sandbox) == dict.fromkeys(skus, 42)
    assert all(r["attempts"] == 1 for r in records)
    mutations, queries, points = calls_by_kind(sandbox)
    assert mutations["bulkOperationRunQuery"] == 1
    writes = mutations["inventorySetQuantities"]
    # Every query was a 1-point poll: 150 SKUs by lookup would be 3 calls of ~100 points.
    assert 1 <= queries <= 3
    assert points == 10 + 10 * writes + queries
    assert state().hlen(keys.shopify_cache("acme", "inventory-item")) == 150
    snapshot = catalog.read_snapshot(state(), "acme", "inventory")
    assert snapshot.rows == 150 and snapshot.completed_at_ms and snapshot.operation_id is None


def test_two_workers_cold_at_once_run_exactly_one_bulk_operation(settings, broker, sandbox,
                                                                 live_redis):
    seed_shop(sandbox, skus=60)
    sandbox.set_faults("acme", bulk_start_seconds=0.5)
    shop = settings.shop_by_id("acme")
    replicas = [runtime.Runtime.build(settings) for _ in range(2)]  # own Redis connections
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def run(replica: runtime.Runtime) -> None:
        start.wait()
        outcomes.append(catalog.ensure_snapshot(replica, shop, INVENTORY_EXPORT))

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["completed", "fresh"]  # the other one waited for it
    assert sandbox.stats("acme")["bulk_operations"] == 1
    assert replicas[0].state.hlen(keys.shopify_cache("acme", "inventory-item")) == 60


def test_a_failed_bulk_query_falls_back_to_lookups_and_is_not_retried_during_the_cooldown(
        client, sandbox, worker, wait_state):
    seed_shop(sandbox, skus=120)
    sandbox.set_faults("acme", bulk_start_seconds=0, bulk_fail_next=1)
    skus = [f"CAT-{i:03d}" for i in range(120)]

    first = [wait_state(j, "succeeded") for j in post_inventory(client, skus[:60], 5)]
    later = [wait_state(j, "succeeded") for j in post_inventory(client, skus[60:], 6)]

    assert all(r["attempts"] == 1 for r in first + later)
    assert levels(sandbox) == {**dict.fromkeys(skus[:60], 5), **dict.fromkeys(skus[60:], 6)}
    mutations, queries, _ = calls_by_kind(sandbox)
    assert mutations["bulkOperationRunQuery"] == 1  # the second cold batch did not try again
    assert queries >= 4  # 2 lookups of 50 + 10 SKUs per batch
    snapshot = catalog.read_snapshot(state(), "acme", "inventory")
    assert snapshot.completed_at_ms is None and "FAILED (INTERNAL_SERVER_ERROR)" in snapshot.error


def test_a_slow_bulk_query_is_waited_for_once_then_batches_use_lookups_without_waiting(
        client, sandbox, worker, wait_state):
    seed_shop(sandbox, skus=120)
    sandbox.set_faults("acme", bulk_start_seconds=0, bulk_rows_per_second=1)
    skus = [f"CAT-{i:03d}" for i in range(120)]
    with settings_changed(catalog_wait_seconds=2.0):
        first = [wait_state(j, "succeeded", timeout=20)
                 for j in post_inventory(client, skus[:60], 1)]
        later = [wait_state(j, "succeeded", timeout=20)
                 for j in post_inventory(client, skus[60:], 2)]

    def took(records: list[dict[str, Any]]) -> float:
        return (max(int(r["finished_at"]) for r in records)
                - min(int(r["started_at"]) for r in records)) / 1000

    assert took(first) >= 2.0  # waited for the bulk query, then looked up
    assert took(later) < 1.5  # one poll, no second wait
    assert levels(sandbox) == {**dict.fromkeys(skus[:60], 1), **dict.fromkeys(skus[60:], 2)}
    assert sandbox.stats("acme")["bulk_operations"] == 1
    assert catalog.read_snapshot(state(), "acme", "inventory").operation_id  # still running


def record_sku_lookups(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The SKUs of every per-SKU lookup call the inventory sync makes (its worker runs in this
    process), in the order made."""
    calls: list[list[str]] = []
    lookup = inventory.find_inventory_items_by_sku

    def recording(client: Any, skus: list[str]) -> dict[str, str]:
        calls.append(list(skus))
        return lookup(client, skus)

    monkeypatch.setattr(inventory, "find_inventory_items_by_sku", recording)
    return calls


def looked_up(calls: list[list[str]]) -> list[str]:
    """Each SKU once per lookup that asked for it, sorted."""
    return sorted(sku for skus in calls for sku in skus)


def test_unmapped_skus_are_not_looked_up_again_while_negatively_cached(
        client, sandbox, worker, wait_state, monkeypatch):
    # Counted per SKU, not per call: the webhook's three jobs form one batch, or two when a
    # worker thread starts one of them as the first batch claims the others (that job then waits
    # for the batch lease and leads the next batch). Either way each SKU is looked up once.
    seed_shop(sandbox, skus=1)
    lookups = record_sku_lookups(monkeypatch)
    body = ["CAT-000", "GHOST-1", "GHOST-2"]
    records = [wait_state(j, "succeeded") for j in post_inventory(client, body, 3)]
    assert [r["result"].get("skipped") for r in records] == [None, "no mapping", "no mapping"]
    assert looked_up(lookups) == body

    lookups.clear()
    sandbox.reset_stats("acme")
    for job_id in post_inventory(client, body, 4):
        wait_state(job_id, "succeeded")
    assert lookups == []  # CAT-000 cached, the ghosts known missing
    assert sandbox.stats("acme")["calls"] == 1  # the write only

    lookups.clear()
    sandbox.reset_stats("acme")
    with settings_changed(mapping_negative_ttl_seconds=0):
        for job_id in post_inventory(client, body, 5):
            wait_state(job_id, "succeeded")
    assert looked_up(lookups) == ["GHOST-1", "GHOST-2"]  # looked up again; CAT-000 is cached
    assert sandbox.stats("acme")["calls"] == len(lookups) + 1  # and the write


def test_customers_resolve_by_phone_or_email_from_the_export(client, sandbox, worker,
                                                            wait_state):
    seed_shop(sandbox, customers=60)
    sandbox.set_faults("acme", bulk_start_seconds=0.2)
    people = []
    for i in range(60):
        person: dict[str, Any] = {"id": 7000 + i, "totalSpent": 1000 + i}
        if i % 2:
            person["email"] = f"KHACH{i}@Example.vn"  # the export is indexed lowercased
        else:
            person["mobile"] = f"091000{i:04d}"  # Nhanh's form of +8491000...
        people.append(person)
    people += [{"id": 9001, "totalSpent": 1, "email": "nobody@example.vn"},
               {"id": 9002, "totalSpent": 2, "mobile": "0999999999"}]
    worker.pause()
    job_ids = post_webhook(client, customer_body(people)).json["jobs"]
    worker.resume()

    records = [wait_state(job_id, "succeeded") for job_id in job_ids]

    totals = {c["email"]: [m["value"] for m in c["metafields"]]
              for c in sandbox.customers("acme")}
    assert totals == {f"khach{i}@example.vn": [str(1000 + i)] for i in range(60)}
    assert sum(r["result"].get("skipped") == "no mapping" for r in records) == 2
    mutations, queries, _ = calls_by_kind(sandbox)
    assert mutations["bulkOperationRunQuery"] == 1
    assert queries <= 4  # polls and one lookup for the two unknown customers (not 7 lookups)
    assert state().hlen(keys.shopify_cache("acme", "customer")) == 60  # cached by Nhanh id
    assert state().hlen(keys.shopify_cache("acme", "customer-phone")) == 60
    assert state().zcard(keys.mapping_misses("acme", "customer")) == 2


def test_a_stale_snapshot_is_loaded_again_and_replaces_the_cache(settings, broker, sandbox,
                                                                live_redis):
    seed_shop(sandbox, skus=5)
    sandbox.set_faults("acme", bulk_start_seconds=0)
    shop = settings.shop_by_id("acme")
    cache = keys.shopify_cache("acme", "inventory-item")
    state().hset(cache, "DELETED-SKU", "gid://shopify/InventoryItem/404")
    with settings_changed(catalog_refresh_seconds=1, catalog_prefill_min_misses=1) as current:
        assert catalog.needs_prefill(current, shop, "inventory", 1)
        assert catalog.ensure_snapshot(current, shop, INVENTORY_EXPORT) == "completed"
        assert not catalog.needs_prefill(current, shop, "inventory", 1)
        assert not state().hexists(cache, "DELETED-SKU")
        time.sleep(1.1)
        assert catalog.needs_prefill(current, shop, "inventory", 1)
        assert catalog.ensure_snapshot(current, shop, INVENTORY_EXPORT) == "completed"
    assert sandbox.stats("acme")["bulk_operations"] == 2
    assert not catalog.needs_prefill(runtime.current(), shop, "inventory", 49)  # below 50


def test_other_bulk_queries_holding_the_slots_make_the_snapshot_give_up_as_busy(
        settings, broker, sandbox, live_redis):
    seed_shop(sandbox, skus=5, customers=5)
    sandbox.set_faults("acme", bulk_start_seconds=30, bulk_max_running=1)
    shop = settings.shop_by_id("acme")
    with settings_changed(catalog_wait_seconds=2.5) as current:
        assert catalog.ensure_snapshot(current, shop, CUSTOMER_EXPORT) == "timeout"
        started = time.monotonic()
        assert catalog.ensure_snapshot(current, shop, INVENTORY_EXPORT) == "busy"
        assert time.monotonic() - started < 4
        assert catalog.ensure_snapshot(current, shop, INVENTORY_EXPORT) == "cooldown"


def test_negative_entries_lapse_one_by_one(live_redis):
    now = [1000.0]
    cache = NegativeCache(redis.Redis(port=live_redis.port), "misses", ttl_seconds=10,
                          clock=lambda: now[0])
    cache.add(["a"])
    now[0] += 5
    cache.add(["b"])
    assert cache.known_missing(["a", "b", "c"]) == {"a", "b"}
    now[0] += 6
    assert cache.known_missing(["a", "b", "c"]) == {"b"}
