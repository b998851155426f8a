"""Any request to the webhook routes gets a JSON answer with a known status, never a 5xx, and
nothing is written to Redis unless the answer is 200 (Hypothesis, through the Falcon app and the
session's real Redis)."""

from __future__ import annotations

import json
from typing import Any

import redis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devstack.redis_server import RedisServer
from hookyard.base import keys
from tests.support import nhanh_payloads
from tests.support.nhanh_payloads import (
    BUSINESS_ID,
    DEPOT,
    TOKEN,
    customer_body,
    inventory_body,
    v3_inventory_body,
    v3_order_delete_document,
    v3_order_document,
)

KNOWN = {200, 400, 401, 404, 413, 415, 422}
QUEUES = ("customer-sync", "inventory-sync")

quantities = st.fixed_dictionaries({}, optional={
    q: st.integers(-5, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(
        max_size=3) | st.none() for q in ("available", "remain", "shipping", "holding", "damage")})
product = st.fixed_dictionaries(
    {"id": st.integers(1, 10**9) | st.text(max_size=6)},
    optional={"code": st.text(max_size=12) | st.integers(),
              "shopProductId": st.text(max_size=8), "name": st.text(max_size=20),
              "depots": st.dictionaries(st.sampled_from([DEPOT, "D2", ""]), quantities,
                                        max_size=2) | st.lists(quantities, max_size=2)},
).flatmap(lambda p: quantities.map(lambda q: {**p, **q}))
customer = st.fixed_dictionaries(
    {"id": st.integers(1, 10**9) | st.text(max_size=6)},
    optional={"totalSpent": st.integers(0, 10**12) | st.floats(allow_nan=False,
                                                               allow_infinity=False)
              | st.text(max_size=4), "mobile": st.text(max_size=12),
              "email": st.text(max_size=20)})
full_documents = st.fixed_dictionaries({
    "event": st.sampled_from(["inventoryChange", "customerUpdate", "webhooksEnabled", "orderAdd",
                              "orderDelete", "productAdd"])
    | st.text(max_size=10) | st.integers(),
    "businessId": st.sampled_from([BUSINESS_ID, int(BUSINESS_ID), "2002", "999"])
    | st.text(max_size=5),
    "webhooksVerifyToken": st.sampled_from([TOKEN, TOKEN, "wrong", ""]) | st.integers(),
    "data": st.lists(product | customer, max_size=3)
    | st.dictionaries(st.text(max_size=4), product, max_size=3) | st.text(max_size=5) | st.none(),
})
# Mostly well-formed deliveries (so the 200 path is exercised), some with fields dropped.
documents = full_documents | full_documents.flatmap(
    lambda d: st.sets(st.sampled_from(sorted(d))).map(
        lambda dropped: {k: v for k, v in d.items() if k not in dropped}))


def encode(document: dict[str, Any], ascii_only: bool) -> bytes:
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


encoded = documents.flatmap(lambda d: st.booleans().map(lambda a: encode(d, a)))
# Deliveries as Nhanh builds them (some repeat: duplicates), with any text in a free field.
valid = st.builds(
    lambda skus, available, note: inventory_body(skus, available=available, extra={"note": note}),
    st.lists(st.sampled_from(["SKU-0", "SKU-1", "SKU-2"]), min_size=1, max_size=3, unique=True),
    st.integers(0, 3), st.text(max_size=10),
) | st.builds(lambda spent: customer_body([{"id": 7, "totalSpent": spent}]), st.integers(0, 9)
) | st.builds(lambda skus, available: v3_inventory_body(skus, available=available),
              st.lists(st.sampled_from(["SKU-0", "SKU-1"]), min_size=1, max_size=2, unique=True),
              st.integers(0, 3)
) | st.builds(lambda order, customer, event: nhanh_payloads.encode(
    v3_order_document(order, customer, event=event)), st.integers(1, 5),
    st.none() | st.integers(1, 3), st.sampled_from(["orderAdd", "orderUpdate"])
) | st.builds(lambda orders: nhanh_payloads.encode(v3_order_delete_document(orders)),
              st.lists(st.integers(1, 5), min_size=1, max_size=3))
bodies = (valid | valid | encoded | encoded | encoded | st.binary(max_size=300)
          | documents.map(lambda d: encode(d, True)[: max(0, len(encode(d, True)) // 2)]))
headers = st.fixed_dictionaries(
    {"Content-Type": st.sampled_from(["application/json"] * 5 + [
        "application/json; charset=utf-8", "application/vnd.x+json", "text/plain", ""])},
    optional={"verifyToken": st.sampled_from([TOKEN, TOKEN, TOKEN, "wrong"]),
              "Authorization": st.sampled_from([TOKEN, TOKEN, "wrong", ""])})


def snapshot(live_redis: RedisServer) -> tuple[int, ...]:
    broker = redis.Redis(port=live_redis.port, db=0)
    state = redis.Redis(port=live_redis.port, db=1)
    # Jobs waiting per queue (a shop's pending jobs share one message, its turn), the
    # messages of every queue, and everything else written.
    return (*(state.zcard(keys.jobs_in_state(q, "queued")) for q in QUEUES[:2]),
            sum(broker.llen(keys.broker_queue(q)) + broker.hlen(keys.broker_delay_messages(q))
                for q in QUEUES), state.dbsize())


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies, request_headers=headers,
       path=st.sampled_from(["/webhooks/nhanh", "/webhooks/nhanh/inventory",
                             "/webhooks/nhanh/customer"]))
def test_any_webhook_request_gets_a_known_json_answer_and_only_a_200_writes(
        client, live_redis, body, request_headers, path):
    before = snapshot(live_redis)
    result = client.simulate_post(path, body=body, headers=request_headers)
    after = snapshot(live_redis)

    assert result.status_code in KNOWN, (result.status_code, result.text)
    event(f"status {result.status_code}")
    answer = result.json
    assert isinstance(answer, dict)
    if result.status_code == 200:
        assert answer.get("ignored") is True or {"accepted", "jobs", "duplicate"} <= set(answer)
        jobs_created = 0 if answer.get("ignored") or answer["duplicate"] else answer["accepted"]
        assert sum(after[:2]) - sum(before[:2]) == jobs_created
    else:
        assert set(answer) >= {"error", "message"} and answer["message"]
        assert after == before, (result.status_code, answer)
