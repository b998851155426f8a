"""The contract's bad-input table, the rows not already covered elsewhere: 405 with Allow on
every route, 401 on every bearer endpoint, 404 for foreign ids on every job route, token
precedence, and the aliases. docs/security.md maps every row of the table to its tests.
"""

from __future__ import annotations

import json

import pytest
import redis

from devstack.redis_server import RedisServer
from tests.support.nhanh_payloads import TOKEN, inventory_body
from tests.support.platform_support import OTHER_SHOP_TOKEN, SHOP_TOKEN, auth, post_webhook

# route -> (a method it does not take, the methods it takes)
ROUTES = {
    "/webhooks/nhanh": ("GET", {"POST"}),
    "/webhooks/nhanh/inventory": ("PUT", {"POST"}),
    "/webhooks/nhanh/customer": ("DELETE", {"POST"}),
    "/jobs": ("POST", {"GET"}),
    "/jobs/some-id": ("DELETE", {"GET"}),
    "/jobs/some-id/retry": ("GET", {"POST"}),
    "/jobs/some-id/cancel": ("GET", {"POST"}),
    "/deploys": ("GET", {"POST"}),
    "/queues": ("POST", {"GET"}),
    "/queues/deploy/dead": ("POST", {"GET"}),
    "/audit": ("DELETE", {"GET"}),
    "/healthz": ("POST", {"GET"}),
    "/readyz": ("POST", {"GET"}),
    "/metrics": ("POST", {"GET"}),
    "/openapi.yaml": ("POST", {"GET"}),
}

BEARER_ENDPOINTS = [("GET", "/jobs"), ("GET", "/jobs/some-id"), ("POST", "/jobs/some-id/retry"),
                    ("POST", "/jobs/some-id/cancel"), ("GET", "/queues"),
                    ("GET", "/queues/deploy/dead"), ("GET", "/audit"), ("POST", "/deploys")]


def stored_keys(live_redis: RedisServer) -> int:
    return sum(redis.Redis(port=live_redis.port, db=db).dbsize() for db in (0, 1))


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_a_wrong_method_is_405_json_with_allow_on_every_route(client, live_redis, path):
    method, allowed = ROUTES[path]
    result = client.simulate_request(method, path, body=inventory_body(["SKU-0"]),
                                     headers={"Content-Type": "application/json", **auth()})
    assert result.status_code == 405, result.text
    assert result.json["error"] == "method_not_allowed" and result.json["message"]
    assert allowed <= {m.strip() for m in result.headers["Allow"].split(",")}
    assert stored_keys(live_redis) == 0


@pytest.mark.parametrize(("method", "path"), BEARER_ENDPOINTS)
def test_every_bearer_endpoint_without_or_with_a_bad_token_is_401_json(
        client, live_redis, method, path):
    for headers, code in (({}, "missing_token"), (auth("wrong"), "invalid_token"),
                          ({"Authorization": f"Basic {SHOP_TOKEN}"}, "missing_token"),
                          ({"Authorization": "Bearer "}, "missing_token")):
        result = client.simulate_request(method, path, headers=headers)
        assert (result.status_code, result.json["error"]) == (401, code), (headers, result.text)
    assert stored_keys(live_redis) == 0


def test_foreign_and_unknown_ids_look_the_same_to_a_shop_token_on_every_job_route(client):
    job_id = post_webhook(client, inventory_body(["SKU-0"])).json["jobs"][0]
    foreign = client.simulate_get(f"/jobs/{job_id}", headers=auth(OTHER_SHOP_TOKEN))
    unknown = client.simulate_get("/jobs/00000000-0000-0000-0000-000000000000",
                                  headers=auth(OTHER_SHOP_TOKEN))
    listing = client.simulate_get("/jobs", params={"shop": "acme"},
                                  headers=auth(OTHER_SHOP_TOKEN))
    assert foreign.status_code == unknown.status_code == listing.status_code == 404
    assert foreign.json["error"] == unknown.json["error"] == "not_found"
    assert "acme" not in foreign.text


def test_a_wrong_header_token_is_401_even_when_the_body_token_is_right(client, live_redis):
    result = post_webhook(client, inventory_body(["SKU-0"], token=TOKEN),
                          headers={"verifyToken": "stale"})
    assert (result.status_code, result.json["error"]) == (401, "invalid_token")
    assert stored_keys(live_redis) == 0


def test_a_non_string_body_token_counts_as_missing(client, live_redis):
    document = json.loads(inventory_body(["SKU-0"], token=None))
    for token in (12345, ["x"], None, {"t": TOKEN}, ""):
        body = json.dumps({**document, "webhooksVerifyToken": token}).encode()
        result = post_webhook(client, body)
        assert (result.status_code, result.json["error"]) == (401, "missing_token"), token
    assert stored_keys(live_redis) == 0


@pytest.mark.parametrize("path", ["/webhooks/nhanh/inventory", "/webhooks/nhanh/customer"])
@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{", 400, "invalid_json"),
    (b'{"event": "inventoryChange", "businessId": NaN}', 400, "invalid_json"),
    (b"[" * 70 + b"]" * 70, 400, "invalid_json"),
    (b'{"webhooksVerifyToken": "nhanh-test-token", "event": 1}', 422, "validation_failed"),
])
def test_the_aliases_reject_bad_bodies_like_the_main_route(client, live_redis, path, body,
                                                           status, code):
    result = post_webhook(client, body, path=path)
    assert (result.status_code, result.json["error"]) == (status, code), result.text
    assert stored_keys(live_redis) == 0


@pytest.mark.parametrize("path", ["/webhooks/nhanh", "/webhooks/nhanh/inventory"])
def test_a_body_over_the_limit_is_413_on_every_webhook_route(client, settings, live_redis, path):
    result = post_webhook(client, b"[" + b"1," * (settings.max_body_bytes // 2) + b"1]",
                          path=path)
    assert (result.status_code, result.json["error"]) == (413, "payload_too_large")
    assert stored_keys(live_redis) == 0


@pytest.mark.parametrize("content_type", [None, "text/json", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_missing_or_non_json_content_type_is_415(client, live_redis, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    result = client.simulate_post("/webhooks/nhanh", body=inventory_body(["SKU-0"]),
                                  headers=headers)
    assert (result.status_code, result.json["error"]) == (415, "unsupported_media_type")
    assert stored_keys(live_redis) == 0
