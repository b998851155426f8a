"""Fair by shop: a shop's backlog does not hold the queue positions another shop needs. Each
shop's pending jobs stand in the queue as one message, its turn, passed to the back after each
batch (hookyard.jobs.turns)."""

from __future__ import annotations

import time

from hookyard.base import keys
from hookyard.jobs.turns import Turns
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import auth, post_webhook

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


def test_each_shops_backlog_is_seen_in_get_shops_and_the_metrics(client, jobs):
    post_webhook(client, inventory_body([f"WAIT-{i}" for i in range(30)]))

    shops = client.simulate_get("/shops", headers=auth()).json["shops"]
    scraped = client.simulate_get("/metrics").text

    assert shops["acme"]["backlog"]["inventory-sync"]["waiting"] == 30
    assert shops["acme"]["backlog"]["inventory-sync"]["oldest_waiting_age_seconds"] >= 0
    assert shops["globex"]["backlog"]["inventory-sync"]["waiting"] == 0
    assert shops["acme"]["weight"] == 1
    assert 'hookyard_shop_backlog{queue="inventory-sync",shop="acme"} 30.0' in scraped


def test_a_weightier_shop_takes_that_many_turns_in_a_row_at_the_queues_head(client, jobs):
    for shop_business in ("1001", "2002"):
        post_webhook(client, inventory_body(["SKU-1", "SKU-2", "SKU-3"],
                                            business_id=shop_business))
    turns = Turns(jobs)
    queue = keys.broker_queue("inventory-sync")

    def hand_on(shop: str, weight: int) -> str:
        holder = jobs.state.hget(keys.shop_turn(shop, "inventory"), "rmid").decode()
        oldest = jobs.state.zrange(keys.pending_batch(shop, "inventory"), 0, 0)[0].decode()
        jobs.state.zrem(keys.pending_batch(shop, "inventory"), oldest)  # as a batch claims it
        return turns.pass_on(shop, "inventory", holders=(holder,), weight=weight)

    assert [hand_on("acme", weight=2), hand_on("acme", weight=2)] == ["head", "tail"]
    assert hand_on("globex", weight=1) == "tail"
    assert hand_on("acme", weight=2) == "idle"  # nothing left pending: the turn ends
    assert not jobs.state.exists(keys.shop_turn("acme", "inventory"))
    assert jobs.broker.llen(queue) >= 3
