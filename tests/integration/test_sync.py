"""Shopify sync: batched writes, coalescing (newest wins), and no stale write under faults."""

from __future__ import annotations

import random
from dataclasses import replace

from hookyard.jobs import runtime
from tests.support.nhanh_payloads import LOCATION, customer_body, inventory_body
from tests.support.platform_support import post_webhook


def levels(sandbox) -> dict[str, int]:
    return {row["sku"]: row["available"] for row in sandbox.inventory("acme")
            if row["locationId"] == LOCATION}


def inventory_writes(sandbox) -> list[dict]:
    return [m for m in sandbox.mutations("acme") if m["mutation"] == "inventorySetQuantities"
            and m["outcome"] != "replayed"]


def test_waiting_jobs_of_a_shop_are_written_together_in_few_calls(client, shop, sandbox, worker,
                                                                 wait_state):
    worker.pause()
    job_ids = []
    for available in range(1, 7):
        job_ids += post_webhook(client, inventory_body(["SKU-0", "SKU-1", "SKU-2", "SKU-3"],
                                                       available=available)).json["jobs"]
    worker.resume()

    records = [wait_state(job_id, "succeeded", "superseded") for job_id in job_ids]

    assert levels(sandbox) == {"SKU-0": 6, "SKU-1": 6, "SKU-2": 6, "SKU-3": 6, "SKU-4": 1}
    assert len(inventory_writes(sandbox)) <= 2  # two worker threads may each lead one batch
    assert sum(r["state"] == "superseded" for r in records) >= 20
    assert all(r["attempts"] == 1 for r in records)


def test_an_older_quantity_never_overwrites_a_newer_one_already_applied(client, shop, sandbox,
                                                                        worker, wait_state):
    sandbox.set_faults("acme", fail_next=1)
    older = post_webhook(client, inventory_body(["SKU-1"], available=5)).json["jobs"][0]
    wait_state(older, "retrying", "succeeded")
    newer = post_webhook(client, inventory_body(["SKU-1"], available=9)).json["jobs"][0]

    newer_record = wait_state(newer, "succeeded", "superseded")
    older_record = wait_state(older, "succeeded", "superseded")

    assert levels(sandbox)["SKU-1"] == 9
    assert newer_record["state"] == "succeeded" and older_record["state"] == "superseded"
    written = [q["quantity"] for m in inventory_writes(sandbox)
               for q in m["args"]["input"]["quantities"]]
    assert 5 not in written[written.index(9):]


def test_throttles_and_5xx_bursts_end_in_success_without_lost_or_stale_writes(
        client, shop, sandbox, worker, wait_state):
    rng = random.Random(7)
    worker.pause()
    sandbox.set_faults("acme", throttle_next=3, fail_next=2)
    latest: dict[str, int] = {}
    job_ids = []
    for _ in range(15):
        sku = f"SKU-{rng.randrange(5)}"
        latest[sku] = rng.randrange(100)
        job_ids += post_webhook(client, inventory_body([sku], available=latest[sku])).json["jobs"]
    worker.resume()

    states = {wait_state(job_id, "succeeded", "superseded", timeout=30)["state"]
              for job_id in job_ids}

    assert states <= {"succeeded", "superseded"}
    assert {sku: levels(sandbox)[sku] for sku in latest} == latest


def test_customers_are_written_in_batches_with_the_newest_total(client, shop, sandbox, worker,
                                                               wait_state):
    worker.pause()
    ids = []
    for total in (100, 200, 300):
        ids += post_webhook(client, customer_body([
            {"id": 1, "totalSpent": total, "mobile": "0900000001"},
            {"id": 2, "totalSpent": total + 1, "email": "minh@example.vn"},
            {"id": 3, "totalSpent": total + 2, "email": "nobody@example.vn"}])).json["jobs"]
    worker.resume()

    records = [wait_state(job_id, "succeeded", "superseded") for job_id in ids]

    totals = {c["email"]: [m["value"] for m in c["metafields"]]
              for c in sandbox.customers("acme")}
    assert totals == {"lan@example.vn": ["300"], "minh@example.vn": ["301"]}
    skipped = [r for r in records if r["result"].get("skipped") == "no mapping"]
    assert len(skipped) == 3


def test_an_explicit_mapping_wins_over_the_sku_lookup(client, shop, sandbox, settings, worker,
                                                      wait_state):
    skus = {row["sku"]: row["inventoryItemId"] for row in sandbox.inventory("acme")}
    acme = settings.shop_by_id("acme")
    mapped = replace(acme, inventory_items={"NHANH-ONLY-CODE": skus["SKU-4"]})
    installed = runtime.current()
    runtime.install(replace(installed, settings=replace(
        settings, shops=(mapped, *[s for s in settings.shops if s.id != "acme"]))))
    try:
        job_id = post_webhook(client, inventory_body(["NHANH-ONLY-CODE"], available=77)
                              ).json["jobs"][0]
        record = wait_state(job_id, "succeeded")
    finally:
        runtime.install(installed)

    assert record["result"]["items"][0]["inventory_item"] == skus["SKU-4"]
    assert levels(sandbox)["SKU-4"] == 77


def test_jobs_waiting_for_the_batch_lock_join_the_next_batch_instead_of_writing_alone(
        client, shop, sandbox, broker, wait_state):
    import dramatiq

    sandbox.set_faults("acme", latency_ms=400)
    busy = dramatiq.Worker(broker, queues={"inventory-sync"}, worker_threads=4, worker_timeout=50)
    busy.start()
    try:
        job_ids = []
        for available in range(12):
            job_ids += post_webhook(client, inventory_body([f"SKU-{available % 5}"],
                                                           available=available)).json["jobs"]
        records = [wait_state(job_id, "succeeded", "superseded", timeout=30)
                   for job_id in job_ids]
    finally:
        busy.stop(timeout=5000)

    # One write for the first job, then the waiting threads' jobs and the queued ones together.
    assert len(inventory_writes(sandbox)) <= 3
    assert all(r["attempts"] == 1 for r in records)
    assert levels(sandbox) == {"SKU-0": 10, "SKU-1": 11, "SKU-2": 7, "SKU-3": 8, "SKU-4": 9}
