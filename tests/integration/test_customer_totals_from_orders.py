"""Customer totals follow Nhanh's documented order events: each customer an order event names is
read once from Nhanh's customer API and written to Shopify through the newest-wins batch; a burst
of one customer's orders costs one read."""

from __future__ import annotations

from dataclasses import replace

import falcon.testing

from hookyard.nhanh.customers import CUSTOMER_LIST
from ingest.app import create_app, ingest_job_store
from tests.support.nhanh_payloads import (
    customer_body,
    encode,
    v2_order_document,
    v3_headers,
    v3_order_delete_document,
    v3_order_document,
)
from tests.support.nhanh_sandbox_api import BUSINESS_ID, business_seed
from tests.support.platform_support import post_webhook


def totals(sandbox) -> dict[str, list[str]]:
    return {c["email"]: [m["value"] for m in c["metafields"]] for c in sandbox.customers("acme")}


def customer_list_reads(nhanh_sandbox) -> int:
    return int(nhanh_sandbox.requests(BUSINESS_ID)["admitted"].get(CUSTOMER_LIST, 0))


def test_a_burst_of_orders_is_read_once_and_shopify_gets_nhanhs_total(
        settings, shop, sandbox, nhanh_sandbox, worker, wait_state):
    # A delay far longer than posting five webhooks takes, however busy the machine.
    client = falcon.testing.TestClient(create_app(
        replace(settings, nhanh_customer_read_delay_seconds=3.0),
        jobs=ingest_job_store(settings)))
    nhanh_sandbox.seed_business(business_seed(customers=2))  # 1: 0900000001 (Lan), 1000 spent
    job_ids = []
    for order in range(1, 6):
        nhanh_sandbox.add_order(BUSINESS_ID, 1, 250, orderId=order)
        answer = post_webhook(client, encode(v3_order_document(order, 1)), headers=v3_headers())
        assert answer.status_code == 200, answer.json
        job_ids += answer.json["jobs"]

    records = [wait_state(job_id, "succeeded", "superseded") for job_id in job_ids]

    assert totals(sandbox)["lan@example.vn"] == ["2250"]
    assert customer_list_reads(nhanh_sandbox) == 1
    leader = next(r for r in records if r["result"].get("items", [{}])[0].get("outcome")
                  == "applied")
    assert leader["result"]["items"][0]["read_from_nhanh"] is True
    assert leader["result"]["batch"]["size"] == 5


def test_a_deleted_order_is_read_again_for_the_customer_its_add_named(
        client, shop, sandbox, nhanh_sandbox, worker, wait_state):
    nhanh_sandbox.seed_business(business_seed(customers=2))
    nhanh_sandbox.add_order(BUSINESS_ID, 2, 500, orderId=71)
    added = post_webhook(client, encode(v2_order_document(71, 2)))
    wait_state(added.json["jobs"][0], "succeeded")
    assert totals(sandbox)["minh@example.vn"] == ["2500"]

    nhanh_sandbox.delete_order(BUSINESS_ID, 71)
    deleted = post_webhook(client, encode(v3_order_delete_document([71])), headers=v3_headers())
    wait_state(deleted.json["jobs"][0], "succeeded")
    assert totals(sandbox)["minh@example.vn"] == ["2000"]


def test_a_customer_nhanh_does_not_know_is_skipped_with_the_reason(
        client, shop, sandbox, nhanh_sandbox, worker, wait_state):
    nhanh_sandbox.seed_business(business_seed(customers=1))
    answer = post_webhook(client, encode(v3_order_document(9, 404)), headers=v3_headers())
    record = wait_state(answer.json["jobs"][0], "succeeded")
    assert record["result"]["skipped"] == "not in nhanh"
    assert "404" in record["result"]["reason"]


def test_a_pushed_total_and_a_read_total_keep_newest_wins(
        client, shop, sandbox, nhanh_sandbox, worker, wait_state):
    nhanh_sandbox.seed_business(business_seed(customers=1))
    worker.pause()
    pushed = post_webhook(client, customer_body([{"id": 1, "totalSpent": 5,
                                                  "mobile": "0900000001"}])).json["jobs"]
    nhanh_sandbox.add_order(BUSINESS_ID, 1, 100, orderId=3)
    ordered = post_webhook(client, encode(v3_order_document(3, 1)),
                           headers=v3_headers()).json["jobs"]
    worker.resume()

    assert wait_state(pushed[0], "succeeded", "superseded")["state"] == "superseded"
    wait_state(ordered[0], "succeeded")
    assert totals(sandbox)["lan@example.vn"] == ["1100"]  # Nhanh's total, read after both
