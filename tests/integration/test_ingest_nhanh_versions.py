"""Ingest takes Nhanh's v2 and v3 webhooks (the token's place tells the version) and turns order
events into customer jobs that read the total from Nhanh, delayed so a burst coalesces."""

from __future__ import annotations

import pytest

from hookyard.base import keys
from hookyard.jobs.store import JobStore
from tests.support.nhanh_payloads import (
    TOKEN,
    encode,
    inventory_body,
    product_id,
    v2_order_document,
    v3_headers,
    v3_inventory_body,
    v3_order_delete_document,
    v3_order_document,
)
from tests.support.platform_support import post_webhook


def test_a_v3_inventory_delivery_with_the_token_in_authorization_is_accepted(client, jobs):
    answer = post_webhook(client, v3_inventory_body(["SKU-1", "SKU-2"]), headers=v3_headers())
    assert answer.status_code == 200, answer.json
    assert answer.json["accepted"] == 2
    record = jobs.get(answer.json["jobs"][0])
    assert record["entity"] == f"product:{product_id('SKU-1')}"
    assert record["source_event"]["version"] == 3
    assert record["payload"]["item"]["depots"]["D1"]["available"] == 7


def test_v2_and_v3_of_one_change_write_the_same_entity_fields(client, jobs):
    v2 = post_webhook(client, inventory_body(["SKU-1"], available=3))
    v3 = post_webhook(client, v3_inventory_body(["SKU-1"], available=3), headers=v3_headers())
    first, second = (jobs.get(a.json["jobs"][0]) for a in (v2, v3))
    assert first["payload"]["item"]["depots"]["D1"]["available"] == 3
    assert first["entity"] == second["entity"]
    accepted = jobs.state.hgetall(keys.entity_versions("acme", "inventory"))
    assert set(accepted) == {f"accepted:{product_id('SKU-1')}@D1".encode()}


@pytest.mark.parametrize("headers, error", [
    ({"Authorization": "not-the-token"}, "invalid_token"),
    ({"Authorization": ""}, "missing_token"),
])
def test_a_v3_delivery_with_a_bad_authorization_is_refused(client, jobs, headers, error):
    answer = post_webhook(client, v3_inventory_body(["SKU-1"]), headers=headers)
    assert (answer.status_code, answer.json["error"]) == (401, error)
    assert "Authorization" in answer.json["message"] or error == "invalid_token"


def test_a_v3_body_in_v2s_place_is_a_422_that_names_the_mismatch(client, jobs):
    document = {"event": "inventoryChange", "businessId": 1001, "webhooksVerifyToken": TOKEN,
                "data": [{"id": 5, "depots": [{"id": "D1", "available": 1}]}]}
    answer = post_webhook(client, encode(document))
    assert answer.status_code == 422
    assert answer.json["fields"][0]["field"] == "data[0].depots"


@pytest.mark.parametrize("version", [2, 3])
def test_the_handshake_of_either_version_is_answered_200(client, version):
    document = {"event": "webhooksEnabled", "businessId": 1001, "data": {}}
    headers = v3_headers() if version == 3 else {}
    if version == 2:
        document["webhooksVerifyToken"] = TOKEN
    answer = post_webhook(client, encode(document), headers=headers)
    assert answer.status_code == 200 and answer.json["accepted"] == 0


def test_an_order_event_makes_one_delayed_customer_job_that_reads_nhanh(client, jobs: JobStore):
    answer = post_webhook(client, encode(v3_order_document(501, 77)), headers=v3_headers(),
                          path="/webhooks/nhanh/customer")
    assert answer.status_code == 200, answer.json
    [job_id] = answer.json["jobs"]
    record = jobs.get(job_id)
    assert (record["queue"], record["entity"], record["state"]) == (
        "customer-sync", "customer:77", "queued")
    assert record["payload"]["read_total_from_nhanh"] is True
    assert record["payload"]["item"] == {"id": "77", "orders": ["501"]}
    # waiting in the delay queue (a burst of orders gathers into one batch), not on the queue
    assert jobs.broker.llen(keys.broker_queue("customer-sync")) == 0
    assert jobs.broker.hlen(keys.broker_delay_messages("customer-sync")) == 1


def test_a_deleted_order_reaches_the_customer_its_earlier_event_named(client, jobs):
    post_webhook(client, encode(v2_order_document(601, 88)))
    answer = post_webhook(client, encode(v3_order_delete_document([601, 999])),
                          headers=v3_headers())
    assert answer.status_code == 200, answer.json
    [job_id] = answer.json["jobs"]
    assert jobs.get(job_id)["payload"]["item"] == {"id": "88", "orders": ["601"]}


@pytest.mark.parametrize("document", [v3_order_document(701, None),
                                      v3_order_delete_document([702])])
def test_orders_of_nobody_are_answered_200_ignored_with_the_reason(client, jobs, document):
    answer = post_webhook(client, encode(document), headers=v3_headers())
    assert answer.status_code == 200
    assert answer.json["ignored"] is True and "customer" in answer.json["reason"]
    assert jobs.broker.hlen(keys.broker_delay_messages("customer-sync")) == 0


def test_the_inventory_alias_refuses_order_events(client):
    answer = post_webhook(client, encode(v3_order_document(1, 2)), headers=v3_headers(),
                          path="/webhooks/nhanh/inventory")
    assert (answer.status_code, answer.json["error"]) == (400, "wrong_event")
