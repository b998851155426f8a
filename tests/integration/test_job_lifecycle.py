"""Jobs run in a real worker against the sandbox: success, retries, dead letters, replay, cancel."""

from __future__ import annotations

from hookyard.base import keys
from tests.support.nhanh_payloads import LOCATION, customer_body, inventory_body
from tests.support.platform_support import auth, post_webhook


def test_inventory_job_sets_the_quantity_in_shopify_and_succeeds(client, shop, sandbox, worker,
                                                                 wait_state):
    job_id = post_webhook(client, inventory_body(["SKU-1"], available=42)).json["jobs"][0]

    record = wait_state(job_id, "succeeded")

    assert record["attempts"] == 1
    [log] = record["result"]["items"]
    assert (log["location"], log["after"], log["outcome"]) == (LOCATION, 42, "applied")
    levels = {(lvl["sku"], lvl["locationId"]): lvl["available"]
              for lvl in sandbox.inventory("acme")}
    assert levels.get(("SKU-1", LOCATION)) == 42


def test_customer_job_sets_total_spent_metafield(client, shop, sandbox, worker, wait_state):
    body = customer_body([{"id": 9, "totalSpent": 2500000, "mobile": "+84900000001"}])
    job_id = post_webhook(client, body).json["jobs"][0]

    record = wait_state(job_id, "succeeded")

    assert record["result"]["items"][0]["after"] == "2500000"
    lan = next(c for c in sandbox.customers("acme") if c["email"] == "lan@example.vn")
    assert any(m["value"] == "2500000" for m in lan["metafields"])


def test_item_without_mapping_succeeds_as_skipped(client, shop, worker, wait_state):
    job_id = post_webhook(client, inventory_body(["NOT-IN-SHOPIFY"])).json["jobs"][0]
    record = wait_state(job_id, "succeeded")
    assert record["result"]["skipped"] == "no mapping"


def test_a_shopify_5xx_burst_makes_the_job_wait_without_spending_attempts(
        client, shop, sandbox, worker, wait_state):
    sandbox.set_faults("acme", fail_next=2)
    job_id = post_webhook(client, inventory_body(["SKU-2"], available=5)).json["jobs"][0]

    record = wait_state(job_id, "succeeded")

    assert record["attempts"] == 1  # Shopify's failures were not the job's
    assert record["error"] is None


def test_a_job_shopify_rejects_ends_dead_and_replays(client, shop, sandbox, worker,
                                                     wait_state, jobs):
    sandbox.set_faults("acme", fail_next=1000, fail_status=400)
    job_id = post_webhook(client, inventory_body(["SKU-3"])).json["jobs"][0]

    dead = wait_state(job_id, "failed")
    assert dead["attempts"] == 1
    assert dead["error"]["code"] == "shopify_rejected"
    listed = client.simulate_get("/queues/inventory-sync/dead", headers=auth()).json["jobs"]
    assert [j["id"] for j in listed] == [job_id]

    sandbox.set_faults("acme", fail_next=0)
    replay = client.simulate_post(f"/jobs/{job_id}/retry", headers=auth())
    assert replay.status_code == 202
    record = wait_state(job_id, "succeeded")
    assert record["attempts"] == 1
    assert jobs.state.zcard(keys.jobs_in_state("inventory-sync", "failed")) == 0


def test_cancelled_queued_job_never_runs(client, shop, sandbox, jobs, broker):
    job_id = post_webhook(client, inventory_body(["SKU-4"])).json["jobs"][0]

    cancel = client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth())
    assert cancel.status_code == 200 and cancel.json["state"] == "cancelled"

    import dramatiq

    worker = dramatiq.Worker(broker, queues={"inventory-sync"}, worker_threads=1,
                             worker_timeout=50)
    worker.start()
    try:
        broker.join("inventory-sync", timeout=5000)
    finally:
        worker.stop(timeout=5000)
    assert jobs.get(job_id)["state"] == "cancelled"
    assert not [m for m in sandbox.mutations("acme") if "inventory" in str(m).lower()]


def test_cancel_of_a_finished_job_is_409(client, shop, worker, wait_state):
    job_id = post_webhook(client, inventory_body(["NOT-MAPPED"])).json["jobs"][0]
    wait_state(job_id, "succeeded")
    result = client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth())
    assert result.status_code == 409 and result.json["error"] == "conflict"


def test_stale_message_copy_is_skipped_and_the_job_runs_once(client, shop, sandbox, jobs,
                                                             broker, worker, wait_state):
    job_id = post_webhook(client, inventory_body(["SKU-0"], available=3)).json["jobs"][0]
    wait_state(job_id, "succeeded")
    before = len(sandbox.mutations("acme"))
    record = jobs.get(job_id)
    stale = jobs.message_for(record)
    # A copy of the message that is not the job's current one (as after a sweeper re-enqueue).
    jobs.broker.hset(keys.broker_messages("inventory-sync"), stale.redis_message_id, stale.data)
    jobs.broker.rpush(keys.broker_queue("inventory-sync"), stale.redis_message_id)
    broker.join("inventory-sync", timeout=5000)

    assert jobs.get(job_id)["attempts"] == 1
    assert len(sandbox.mutations("acme")) == before
