"""Fair by shop: a shop's backlog does not hold the queue positions another shop needs. Each
shop's pending jobs stand in the queue as one message, its turn, passed to the back after each
batch (hookyard.jobs.turns)."""

from __future__ import annotations

import time

from hookyard.base import keys
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import post_webhook

BACKLOG_ITEMS = 2000
"""Shop acme's backlog: eight batches of 250, each slowed by the sandbox's latency."""


def test_a_shop_behind_a_long_backlog_is_served_before_that_backlog_drains(
        client, shop, sandbox, worker, wait_state, jobs):
    sandbox.set_faults("acme", latency_ms=300)
    worker.pause()
    for start in range(0, BACKLOG_ITEMS, 100):
        post_webhook(client, inventory_body([f"BULK-{i}" for i in range(start, start + 100)]))
    other = post_webhook(client, inventory_body(["SKU-1"], business_id="2002")).json["jobs"]
    worker.resume()

    wait_state(other[0], "succeeded", timeout=60)
    acme_waiting = jobs.state.zcard(keys.pending_batch("acme", "inventory"))

    assert acme_waiting > BACKLOG_ITEMS / 2, (
        "shop globex was served only once most of acme's backlog had been claimed")
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) <= 2  # one turn per shop


def test_a_shops_turn_passes_until_its_backlog_is_done(client, shop, worker, wait_state, jobs):
    job_ids = []
    for start in range(0, 600, 100):
        job_ids += post_webhook(client, inventory_body(
            [f"ITEM-{i}" for i in range(start, start + 100)])).json["jobs"]

    for job_id in job_ids:
        wait_state(job_id, "succeeded", "superseded", timeout=60)
    deadline = time.monotonic() + 10
    while jobs.state.exists(keys.shop_turn("acme", "inventory")):
        assert time.monotonic() < deadline, "the turn outlived the shop's last pending job"
        time.sleep(0.05)
    assert jobs.state.zcard(keys.pending_batch("acme", "inventory")) == 0
