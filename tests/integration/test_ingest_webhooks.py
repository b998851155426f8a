"""Ingest accepts Nhanh.vn webhooks durably, de-duplicates them and rejects bad input cleanly."""

from __future__ import annotations

import json
import logging
import unicodedata

import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard.base import keys
from hookyard.jobs.store import JobStore
from tests.support.nhanh_payloads import TOKEN, customer_body, inventory_body, product_id
from tests.support.platform_support import post_webhook


def enqueued_messages(jobs: JobStore) -> int:
    """Jobs waiting to run, whether with a message of their own or riding on their shop's
    turn (hookyard.jobs.turns)."""
    return sum(jobs.state.zcard(keys.jobs_in_state(q, "queued"))
               for q in ("customer-sync", "inventory-sync"))


def stored_keys(live_redis: RedisServer) -> int:
    return sum(redis.Redis(port=live_redis.port, db=db).dbsize() for db in (0, 1))


def test_inventory_webhook_creates_one_queued_job_per_item(client, jobs):
    result = post_webhook(client, inventory_body(["SKU-0", "SKU-1", "SKU-2"]))

    assert result.status_code == 200
    assert result.json["accepted"] == 3 and result.json["duplicate"] is False
    assert len(set(result.json["jobs"])) == 3
    assert enqueued_messages(jobs) == 3
    record = jobs.get(result.json["jobs"][0])
    assert record["state"] == "queued" and record["queue"] == "inventory-sync"
    assert record["shop"] == "acme" and record["entity"] == f"product:{product_id('SKU-0')}"
    assert record["source_event"]["event"] == "inventoryChange"


def test_a_shops_pending_items_stand_in_the_queue_as_one_message_its_turn(client, jobs):
    first = post_webhook(client, inventory_body(["SKU-0", "SKU-1", "SKU-2"])).json["jobs"]
    post_webhook(client, inventory_body(["SKU-3"]))

    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 1
    turn = jobs.state.hget(keys.shop_turn("acme", "inventory"), "rmid").decode()
    assert turn == jobs.get(first[0])["rmid"]
    assert jobs.state.zcard(keys.pending_batch("acme", "inventory")) == 4


def test_duplicate_webhook_returns_the_original_job_ids_and_creates_no_job(client, jobs):
    body = inventory_body(["SKU-0", "SKU-1"])
    first = post_webhook(client, body)
    again = post_webhook(client, body)

    assert again.status_code == 200
    assert again.json == {"accepted": 2, "jobs": first.json["jobs"], "duplicate": True}
    assert enqueued_messages(jobs) == 2


def test_a_different_body_is_not_a_duplicate(client, jobs):
    post_webhook(client, inventory_body(["SKU-0"], available=1))
    second = post_webhook(client, inventory_body(["SKU-0"], available=2))
    assert second.json["duplicate"] is False
    assert enqueued_messages(jobs) == 2


def test_customer_webhook_enqueues_customer_sync_jobs(client, jobs):
    result = post_webhook(client, customer_body([{"id": 7, "totalSpent": 1500000,
                                                  "mobile": "+84900000001"}]))
    assert result.status_code == 200
    assert jobs.get(result.json["jobs"][0])["queue"] == "customer-sync"


@pytest.mark.parametrize("header", ["verifyToken", "X-Nhanh-Verify-Token"])
def test_token_in_a_header_is_accepted(client, header):
    result = post_webhook(client, inventory_body(["SKU-0"], token=None), headers={header: TOKEN})
    assert result.status_code == 200


def test_every_configured_token_is_accepted_for_rotation(client):
    result = post_webhook(client, inventory_body(["SKU-0"], token="old-token"))
    assert result.status_code == 200


def test_webhooks_enabled_handshake_answers_200_without_jobs(client, jobs):
    body = json.dumps({"event": "webhooksEnabled", "businessId": "1001",
                       "webhooksVerifyToken": TOKEN}).encode()
    result = post_webhook(client, body)
    assert result.status_code == 200 and result.json["jobs"] == []
    assert enqueued_messages(jobs) == 0


def test_other_events_are_acknowledged_as_ignored(client, jobs):
    body = json.dumps({"event": "productAdd", "businessId": "1001", "data": {},
                       "webhooksVerifyToken": TOKEN}).encode()
    result = post_webhook(client, body)
    assert result.status_code == 200 and result.json["ignored"] is True
    assert enqueued_messages(jobs) == 0


def test_alias_takes_only_its_own_event(client, jobs):
    ok = post_webhook(client, inventory_body(["SKU-0"]), path="/webhooks/nhanh/inventory")
    wrong = post_webhook(client, inventory_body(["SKU-1"]), path="/webhooks/nhanh/customer")
    assert ok.status_code == 200
    assert wrong.status_code == 400 and wrong.json["error"] == "wrong_event"
    assert enqueued_messages(jobs) == 1


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_vietnamese_text_and_emoji_are_stored_byte_for_byte(client, jobs, form):
    name = unicodedata.normalize(form, "Áo dài Việt Nam 👘")
    body = inventory_body(["SKU-0"], extra={})
    document = json.loads(body)
    document["data"][str(product_id("SKU-0"))]["name"] = name
    result = post_webhook(client, json.dumps(document, ensure_ascii=False).encode())
    stored = jobs.get(result.json["jobs"][0])["payload"]["item"]["name"]
    assert stored.encode() == name.encode()


def _deep(levels: int) -> bytes:
    return b'{"event":"inventoryChange","businessId":"1001","data":' + b"[" * levels + \
        b"]" * levels + b"}"


BAD_INPUTS = [
    ("malformed JSON", b'{"event": "inventoryChange",', "application/json", 400, "invalid_json"),
    ("empty body", b"", "application/json", 400, "invalid_json"),
    ("invalid UTF-8", b'{"event": "\xff\xfe"}', "application/json", 400, "invalid_json"),
    ("NaN", b'{"event": "inventoryChange", "businessId": NaN}', "application/json", 400,
     "invalid_json"),
    ("Infinity", b'{"a": Infinity}', "application/json", 400, "invalid_json"),
    ("nesting deeper than 64", _deep(80), "application/json", 400, "invalid_json"),
    ("huge integer", b'{"businessId": 1' + b"0" * 40 + b"}", "application/json", 400,
     "invalid_json"),
    ("not a JSON content type", inventory_body(["SKU-0"]), "text/plain", 415,
     "unsupported_media_type"),
    ("missing token", inventory_body(["SKU-0"], token=None), "application/json", 401,
     "missing_token"),
    ("wrong token", inventory_body(["SKU-0"], token="nope"), "application/json", 401,
     "invalid_token"),
    ("unknown businessId", inventory_body(["SKU-0"], business_id="999"), "application/json",
     404, "unknown_shop"),
    ("missing data", json.dumps({"event": "inventoryChange", "businessId": "1001",
                                 "webhooksVerifyToken": TOKEN}).encode(), "application/json",
     422, "validation_failed"),
    ("wrong types", json.dumps({"event": "inventoryChange", "businessId": "1001",
                                "data": {"1": {"id": 1, "available": "many"}},
                                "webhooksVerifyToken": TOKEN}).encode(), "application/json",
     422, "validation_failed"),
    ("over 100 products", inventory_body([f"S{i}" for i in range(101)]), "application/json",
     422, "validation_failed"),
]


@pytest.mark.parametrize(("case", "body", "content_type", "status", "code"), BAD_INPUTS,
                         ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_gets_its_status_and_json_error_and_enqueues_nothing(
        client, jobs, live_redis, case, body, content_type, status, code):
    result = client.simulate_post("/webhooks/nhanh", body=body,
                                  headers={"Content-Type": content_type})
    assert result.status_code == status, result.text
    assert result.json["error"] == code
    assert result.json["message"]
    assert stored_keys(live_redis) == 0


def test_validation_errors_name_the_fields(client):
    body = json.dumps({"event": "customerUpdate", "businessId": "1001",
                       "data": [{"id": 1}], "webhooksVerifyToken": TOKEN}).encode()
    result = post_webhook(client, body)
    assert result.json["fields"] == [{"field": "data[0].totalSpent",
                                      "problem": "is required and must be a number"}]


def test_body_over_the_limit_is_413_by_content_length(client, settings, live_redis):
    body = b"{" + b" " * settings.max_body_bytes + b"}"
    result = post_webhook(client, body)
    assert result.status_code == 413 and result.json["error"] == "payload_too_large"
    assert stored_keys(live_redis) == 0


def test_wrong_method_is_405_with_allow(client):
    result = client.simulate_get("/webhooks/nhanh")
    assert result.status_code == 405
    assert "POST" in result.headers["Allow"]
    assert result.json["error"] == "method_not_allowed"


def test_redis_down_answers_503_with_retry_after_and_a_retry_is_accepted_later(
        client, jobs, live_redis):
    body = inventory_body(["SKU-0"])
    live_redis.kill()
    try:
        down = post_webhook(client, body)
    finally:
        live_redis.start()
    assert down.status_code == 503
    assert down.json["error"] == "unavailable" and down.headers["Retry-After"]
    assert stored_keys(live_redis) == 0

    again = post_webhook(client, body)
    assert again.status_code == 200 and again.json["duplicate"] is False


def test_redis_out_of_memory_answers_503_and_writes_nothing(client, live_redis):
    admin = redis.Redis(port=live_redis.port)
    admin.config_set("maxmemory", "1")
    try:
        result = post_webhook(client, inventory_body(["SKU-0"]))
    finally:
        admin.config_set("maxmemory", "0")
    assert result.status_code == 503 and result.json["error"] == "unavailable"
    assert stored_keys(live_redis) == 0


def test_slow_redis_answers_503_not_2xx(client, live_redis):
    admin = redis.Redis(port=live_redis.port)
    live_redis.process.send_signal(__import__("signal").SIGSTOP)
    try:
        result = post_webhook(client, inventory_body(["SKU-0"]))
    finally:
        live_redis.process.send_signal(__import__("signal").SIGCONT)
    assert result.status_code == 503
    admin.ping()


def test_the_access_log_names_each_answer_s_reason_and_a_422_s_failing_fields(client, caplog):
    bad = json.dumps({"event": "inventoryChange", "businessId": "1001", "webhooksVerifyToken":
                      TOKEN, "data": {"7": {"id": 7, "available": "lots"}}}).encode()
    with caplog.at_level(logging.INFO, logger="hookyard.access"):
        assert post_webhook(client, inventory_body(["SKU-0"])).status_code == 200
        assert post_webhook(client, inventory_body(["SKU-0"], token="old")).status_code == 401
        assert post_webhook(client, bad).status_code == 422

    lines = [r for r in caplog.records if r.name == "hookyard.access"]
    assert [(r.status, r.reason) for r in lines] == [  # type: ignore[attr-defined]
        (200, "accepted"), (401, "invalid_token"), (422, "validation_failed")]
    assert lines[2].fields == ["data.7.available"]  # type: ignore[attr-defined]
    assert not hasattr(lines[0], "fields")
