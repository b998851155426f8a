"""Sync worker processes: two share one shop's Shopify budget and never exceed it; a started
worker loads its kind's mapping snapshots before any webhook, unless the setting says not to."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from hookyard.sync import catalog
from tests.support.nhanh_payloads import LOCATION, inventory_body

pytestmark = pytest.mark.e2e


def eventually(predicate: Callable[[], object], timeout: float, *services: Any) -> None:
    """Wait for ``predicate``; fail loudly with the services' output."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {s.name}\n{s.output()}" for s in services)
            raise AssertionError(f"not within {timeout}s\n{logs}")
        time.sleep(0.05)


def prefills(metrics_url: str, kind: str, outcome: str) -> float:
    """``hookyard_catalog_prefills_total{kind, outcome}`` as the worker's /metrics says."""
    text = requests.get(f"{metrics_url}/metrics", timeout=5).text
    found = re.search(rf'^hookyard_catalog_prefills_total{{kind="{kind}",outcome="{outcome}"}} '
                      r"(\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_two_worker_processes_sharing_one_shops_budget_never_exceed_it(stack, shop, sandbox):
    stack.start_ingest()
    stack.start_worker("workers.inventory_sync")
    stack.start_worker("workers.inventory_sync")
    # Serve even when the bucket is short, and count it: the client must never let that happen.
    sandbox.set_faults("acme", enforce_throttle=False)
    sandbox.set_bucket("acme", 25)
    rng = random.Random(11)
    latest: dict[str, int] = {}
    job_ids = []
    for _ in range(40):
        skus = rng.sample([f"SKU-{i}" for i in range(5)], 3)
        available = rng.randrange(1000)
        latest.update({sku: available for sku in skus})
        answer = stack.post(inventory_body(skus, available=available))
        assert answer.status_code == 200
        job_ids += answer.json()["jobs"]

    jobs = [stack.wait_job(job_id, "succeeded", "superseded", timeout=60) for job_id in job_ids]

    stats = sandbox.stats("acme")
    assert stats["budget_exceeded"] == 0
    assert all(job["attempts"] == 1 for job in jobs), "a throttle reached a job retry"
    final = {row["sku"]: row["available"] for row in sandbox.inventory("acme")
             if row["locationId"] == LOCATION}
    assert {sku: final[sku] for sku in latest} == latest


def test_started_sync_workers_load_every_shops_snapshot_before_any_webhook(stack, shop, sandbox):
    sandbox.set_faults("acme", bulk_start_seconds=0.2)
    inventory = stack.start_worker("workers.inventory_sync")
    customers = stack.start_worker("workers.customer_sync")
    state = stack.jobs.state

    eventually(lambda: all(catalog.read_snapshot(state, "acme", kind).completed_at_ms
                           for kind in ("inventory", "customer")), 20, inventory)

    assert sandbox.stats("acme")["bulk_operations"] == 2
    # Counted just after the snapshot is swapped in.
    eventually(lambda: prefills(inventory.metrics_url, "inventory", "completed") == 1, 5,
               inventory)
    # globex is configured but unknown to the sandbox (401): its customer export fails, the
    # worker logs and counts it and keeps running; globex maps no depot, so no inventory export.
    eventually(lambda: prefills(customers.metrics_url, "customer", "error") == 1, 10, customers)
    assert not catalog.read_snapshot(state, "globex", "inventory").failed_at_ms
    stack.start_ingest()
    sandbox.reset_stats("acme")
    job_ids = stack.post(inventory_body(["SKU-1", "SKU-2"], available=17)).json()["jobs"]
    for job_id in job_ids:
        stack.wait_job(job_id, "succeeded")
    assert sandbox.stats("acme")["calls_by_field"].get("productVariants", 0) == 0  # mapped
    assert inventory.process.poll() is None and customers.process.poll() is None


def test_with_the_prefill_turned_off_a_started_worker_exports_nothing(make_stack, shop, sandbox):
    stack = make_stack(HOOKYARD_CATALOG_PREFILL_ON_START="false")
    sandbox.set_faults("acme", bulk_start_seconds=0)
    worker = stack.start_worker("workers.inventory_sync")
    time.sleep(1.5)  # a prefill starts within milliseconds of the worker
    assert sandbox.stats("acme")["bulk_operations"] == 0
    assert "hookyard_catalog_prefills_total{" not in requests.get(
        f"{worker.metrics_url}/metrics", timeout=5).text
    assert catalog.read_snapshot(stack.jobs.state, "acme", "inventory").completed_at_ms is None
