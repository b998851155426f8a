"""Background snapshot prefill, as sync workers start it (``prefill.prefiller_for``), against the
session's Redis and the sandbox: every shop loaded with no webhook, one export per shop across
replicas, failures that stop nothing, refresh without a miss, and the setting that turns it off."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import redis
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry
from test_catalog import calls_by_kind, levels, post_inventory, seed_shop, settings_changed, state

from devstack.redis_server import free_port
from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs import runtime
from hookyard.sync import catalog
from hookyard.sync.inventory import INVENTORY_EXPORT
from hookyard.sync.prefill import SnapshotPrefiller, prefiller_for
from hookyard_sandbox.client import SandboxClient


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def loaded(shop: str, kind: str) -> bool:
    return catalog.read_snapshot(state(), shop, kind).completed_at_ms is not None


def prefills_counted(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("hookyard_catalog_prefills_total",
                                     {"kind": kind, "outcome": outcome}) or 0.0


@contextmanager
def running(queue: str, current: runtime.Runtime | None = None) -> Iterator[SnapshotPrefiller]:
    """The queue's prefill, started exactly as ``workers.runner.serve`` starts it, and stopped
    with its export under way finished, so that nothing of it runs into the next test."""
    prefill = prefiller_for(current or runtime.current(), queue)
    assert prefill is not None
    prefill.start()
    try:
        yield prefill
    finally:
        prefill.stop(timeout=30)
        assert not prefill.alive


def seed_globex(sandbox: SandboxClient, customers: int) -> None:
    sandbox.create_shop({"id": "globex", "token": "shpat_globex_test", "plan": "standard",
                         "locations": [], "products": [],
                         "customers": [{"email": f"g{i}@example.vn", "phone": f"+8492000{i:04d}"}
                                       for i in range(customers)]})


def test_started_prefills_load_every_configured_shops_snapshot_with_no_webhook(
        broker, sandbox, live_redis):
    seed_shop(sandbox, skus=40, customers=30)
    seed_globex(sandbox, customers=20)
    for shop in ("acme", "globex"):
        sandbox.set_faults(shop, bulk_start_seconds=0.2)
    with running("inventory-sync"), running("customer-sync"):
        wait_until(lambda: all(loaded(shop, kind) for shop, kind in (
            ("acme", "inventory"), ("acme", "customer"), ("globex", "customer"))), 15,
            "acme's inventory and both shops' customer snapshots")

    assert state().hlen(keys.shopify_cache("acme", "inventory-item")) == 40
    assert state().hlen(keys.shopify_cache("acme", "customer-phone")) == 30
    assert state().hlen(keys.shopify_cache("globex", "customer-email")) == 20
    assert sandbox.stats("acme")["bulk_operations"] == 2
    # globex maps no depot to a location: its SKUs could never be written, so no export.
    assert sandbox.stats("globex")["bulk_operations"] == 1
    assert not loaded("globex", "inventory")
    assert prefiller_for(runtime.current(), "deploy") is None


def test_two_replicas_starting_together_run_one_export_and_the_second_does_not_wait(
        settings, broker, sandbox, live_redis):
    seed_shop(sandbox, skus=60)
    sandbox.set_faults("acme", bulk_start_seconds=0.5)
    replicas = [SnapshotPrefiller(runtime.Runtime.build(settings), INVENTORY_EXPORT)
                for _ in range(2)]  # each with Redis connections of its own
    outcomes: list[tuple[str, float]] = []
    start = threading.Barrier(2)

    def run(prefill: SnapshotPrefiller) -> None:
        start.wait()
        began = time.monotonic()
        outcome = prefill.run_once()["acme"]
        outcomes.append((outcome, time.monotonic() - began))

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    by_outcome = dict(outcomes)
    assert sorted(by_outcome) == ["completed", "held"]
    assert by_outcome["held"] < 0.5 < by_outcome["completed"]  # moved on, did not wait
    assert sandbox.stats("acme")["bulk_operations"] == 1
    assert state().hlen(keys.shopify_cache("acme", "inventory-item")) == 60
    # Both now sleep until the snapshot turns stale.
    for replica in replicas:
        assert replica.seconds_until_due() > settings.catalog_refresh_seconds - 60


def test_a_failed_export_leaves_the_worker_running_and_the_reactive_path_still_loads(
        client, sandbox, worker, wait_state):
    seed_shop(sandbox, skus=60)
    sandbox.set_faults("acme", bulk_start_seconds=0, bulk_fail_next=1)
    failed_before = prefills_counted("inventory", "failed")
    with settings_changed(catalog_retry_seconds=1):
        with running("inventory-sync") as prefill:
            wait_until(lambda: prefills_counted("inventory", "failed") == failed_before + 1, 10,
                       "the export's failure counted")
            assert catalog.read_snapshot(state(), "acme", "inventory").failed_at_ms
            assert prefill.alive
        time.sleep(1.1)  # the cool-down (1 s here) is over: a cold batch exports by itself
        skus = [f"CAT-{i:03d}" for i in range(60)]
        records = [wait_state(j, "succeeded") for j in post_inventory(client, skus, 9)]

    assert all(r["attempts"] == 1 for r in records)
    assert levels(sandbox) == dict.fromkeys(skus, 9)
    # The prefill's failed export, then the batch's own: no per-SKU lookup.
    assert calls_by_kind(sandbox)[0]["bulkOperationRunQuery"] == 2
    assert sandbox.stats("acme")["calls_by_field"].get("productVariants", 0) == 0
    assert loaded("acme", "inventory")


def test_a_prefill_that_raises_is_logged_and_counted_and_its_thread_keeps_going(
        settings, broker, caplog):
    unreachable = runtime.Runtime(settings=replace(settings, heartbeat_timeout_seconds=1),
                                  jobs=runtime.current().jobs,
                                  state=redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0)))
    errors_before = prefills_counted("inventory", "error")
    with caplog.at_level(logging.WARNING, logger="hookyard.sync.prefill"):
        with running("inventory-sync", unreachable) as prefill:
            wait_until(lambda: prefills_counted("inventory", "error") >= errors_before + 2, 10,
                       "two passes, each failing on Redis")
            assert prefill.alive
    assert "the reactive path remains" in caplog.text


def test_a_snapshot_that_turns_stale_is_loaded_again_without_a_batch(broker, sandbox,
                                                                     live_redis):
    seed_shop(sandbox, skus=5)
    sandbox.set_faults("acme", bulk_start_seconds=0)
    with settings_changed(catalog_refresh_seconds=1) as current:
        with running("inventory-sync", current):
            wait_until(lambda: sandbox.stats("acme")["bulk_operations"] >= 2, 10,
                       "a second export once the first snapshot was 1 s old")
    assert loaded("acme", "inventory")


def test_a_cold_batch_during_the_prefill_waits_for_it_instead_of_exporting_again(
        client, sandbox, worker, wait_state):
    seed_shop(sandbox, skus=150)
    sandbox.set_faults("acme", bulk_start_seconds=1)
    skus = [f"CAT-{i:03d}" for i in range(150)]
    with running("inventory-sync"):
        records = [wait_state(j, "succeeded") for j in post_inventory(client, skus, 4)]

    assert all(r["attempts"] == 1 for r in records)
    assert levels(sandbox) == dict.fromkeys(skus, 4)
    assert sandbox.stats("acme")["bulk_operations"] == 1
    assert sandbox.stats("acme")["calls_by_field"].get("productVariants", 0) == 0


@pytest.mark.parametrize("value", ["false", "0", "off", "no"])
def test_the_setting_turns_the_prefill_off(value, redis_env):
    settings = Settings.from_env({**redis_env, "HOOKYARD_CATALOG_PREFILL_ON_START": value,
                                  "HOOKYARD_SHOPS": '[{"id": "a", "nhanh_business_id": "1", '
                                  '"shopify_domain": "a.myshopify.com", "access_token": "t", '
                                  '"depots": {"D": "gid://shopify/Location/1"}}]'})
    current = runtime.Runtime.build(settings)
    assert prefiller_for(current, "inventory-sync") is None
    assert prefiller_for(current, "customer-sync") is None
    on = runtime.Runtime.build(replace(settings, catalog_prefill_on_start=True))
    assert prefiller_for(on, "inventory-sync") is not None
