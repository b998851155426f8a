"""Two inventory worker processes share one shop's Shopify budget and never exceed it."""

from __future__ import annotations

import random

import pytest

from nhanh_payloads import LOCATION, inventory_body

pytestmark = pytest.mark.e2e


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
