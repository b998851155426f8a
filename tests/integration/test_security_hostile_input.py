"""Findings of the hostile-input review (issue #21) at the HTTP edge: each answers a 4xx in the
JSON error shape and changes nothing. docs/security.md lists them in its bad-input table."""

from __future__ import annotations

import json
import logging
import random
import re

import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard.base import metrics
from hookyard.jobs.store import JobStore
from tests.support.nhanh_payloads import DEPOT, customer_body, inventory_body, product_id
from tests.support.platform_support import auth, post_webhook

QUANTITY_FIELDS = ("remain", "shipping", "holding", "damage", "available")


def stored_keys(live_redis: RedisServer) -> int:
    return sum(redis.Redis(port=live_redis.port, db=db).dbsize() for db in (0, 1))


def with_quantity(field: str, value: object, *, in_depot: bool) -> bytes:
    document = json.loads(inventory_body(["SKU-0"]))
    product = document["data"][str(product_id("SKU-0"))]
    (product["depots"][DEPOT] if in_depot else product)[field] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize("field", QUANTITY_FIELDS)
@pytest.mark.parametrize("in_depot", [False, True], ids=["product", "depot"])
@pytest.mark.parametrize("value", [0.5, 1.0, 4611686018427387904, -1_000_000_001])
def test_a_fractional_or_out_of_range_quantity_is_422_naming_the_field_and_enqueues_nothing(
        client, live_redis, field, in_depot, value):
    result = post_webhook(client, with_quantity(field, value, in_depot=in_depot))

    assert (result.status_code, result.json["error"]) == (422, "validation_failed")
    path = f"data.{product_id('SKU-0')}." + (f"depots.{DEPOT}." if in_depot else "") + field
    assert [f["field"] for f in result.json["fields"]] == [path]
    assert "whole number" in result.text or "Shopify" in result.text
    assert stored_keys(live_redis) == 0


@pytest.mark.parametrize("value", [10**13, -(10**13), 4611686018427387904, 1.5e300])
def test_a_total_spent_beyond_what_shopify_stores_is_422_naming_the_field(client, live_redis,
                                                                         value):
    result = post_webhook(client, customer_body([{"id": 7, "totalSpent": value}]))

    assert (result.status_code, result.json["error"]) == (422, "validation_failed")
    assert [f["field"] for f in result.json["fields"]] == ["data[0].totalSpent"]
    assert stored_keys(live_redis) == 0


BAD_CURSOR = "cursor is not one this API gave out; start without it."
LISTINGS = ["/jobs", "/queues/inventory-sync/dead", "/audit"]


def dead_jobs(client, jobs: JobStore, count: int) -> list[str]:
    """``count`` inventory jobs that failed for good, oldest first."""
    job_ids = []
    for available in range(count):
        job_id = post_webhook(client, inventory_body(["SKU-0"], available=available)
                              ).json["jobs"][0]
        rmid = jobs.get(job_id)["rmid"]
        jobs.start(job_id, "inventory-sync", rmid)
        assert jobs.finish(job_id, "inventory-sync", rmid, "failed",
                           error={"code": "shopify_rejected", "message": "test"})
        job_ids.append(job_id)
    return job_ids


@pytest.mark.parametrize("cursor", ["99999999999999999999-0", "0-18446744073709551616",
                                    "\u0661-\u0661", "1-1\n", "1-", "-1-1", "1.5-0", "x"])
def test_an_audit_cursor_this_api_never_hands_out_is_400_not_a_false_outage(client, caplog,
                                                                           cursor):
    with caplog.at_level(logging.WARNING):
        result = client.simulate_get("/audit", params={"cursor": cursor}, headers=auth())

    assert result.status_code == 400, result.text
    assert result.json == {"error": "bad_request", "message": BAD_CURSOR}
    assert "redis unavailable" not in caplog.text


@pytest.mark.parametrize(("cursor", "older"), [
    ("0-0", False), ("0-1", False), ("1-0", False), ("00001-000", False),
    ("18446744073709551615-18446744073709551615", True)])
def test_any_well_formed_audit_cursor_answers_200(client, cursor, older):
    job_id = post_webhook(client, inventory_body(["SKU-0"])).json["jobs"][0]
    client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth())

    result = client.simulate_get("/audit", params={"cursor": cursor}, headers=auth())

    assert result.status_code == 200, result.text
    assert [e["job_id"] for e in result.json["entries"]] == ([job_id] if older else [])


@pytest.mark.parametrize("path", LISTINGS)
@pytest.mark.parametrize("cursor", ["garbage", "!!", "bm90LWEtY3Vyc29y"])
def test_every_listing_rejects_a_cursor_it_never_handed_out_with_the_same_400(client, path,
                                                                             cursor):
    result = client.simulate_get(path, params={"cursor": cursor}, headers=auth())

    assert result.status_code == 400, result.text
    assert result.json == {"error": "bad_request", "message": BAD_CURSOR}


@pytest.mark.parametrize("path", LISTINGS)
@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "1" * 5000, "+5", " 5", "5.0"])
def test_every_listing_rejects_a_limit_that_is_not_plain_ascii_digits_with_400(client, path,
                                                                              limit):
    result = client.simulate_get(path, params={"limit": limit}, headers=auth())

    assert result.status_code == 400, result.text
    assert result.json["error"] == "bad_request" and "limit" in result.json["message"]


def test_dead_letters_page_newest_first_with_limit_and_cursor(client, jobs):
    job_ids = dead_jobs(client, jobs, 5)

    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = client.simulate_get("/queues/inventory-sync/dead", params=params, headers=auth())
        assert page.status_code == 200, page.text
        assert len(page.json["jobs"]) <= 2
        seen += [job["id"] for job in page.json["jobs"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(job_ids))


HTTP_SERIES = re.compile(r"^hookyard_http_request\w*\{(?P<labels>.*)\} \S+$", re.MULTILINE)
ROUTES = ["/webhooks/nhanh", "/jobs", "/jobs/some-id", "/queues/deploy/dead", "/audit",
          "/metrics"]


def invented_method(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(4, 12)))


def series(client) -> list[dict[str, str]]:
    page = client.simulate_get("/metrics").text
    return [dict(re.findall(r'(\w+)="([^"]*)"', m["labels"])) for m in HTTP_SERIES.finditer(page)]


@pytest.mark.filterwarnings("ignore::wsgiref.validate.WSGIWarning")
def test_invented_methods_and_unknown_paths_add_no_metric_series(client):
    rng = random.Random(21)
    routes = {r.uri_template for r in walk_routes(client.app)}
    for path in [*ROUTES, "/no-such-route"]:  # each route's one series for invented methods
        client.simulate_request(invented_method(rng), path, headers=auth())
    client.simulate_get("/no-such-route")
    series(client)  # the scrape's own series exist from now on
    before = series(client)

    for _ in range(50):
        method = invented_method(rng)
        client.simulate_request(method, rng.choice(ROUTES), headers=auth())
        client.simulate_request(method, f"/{invented_method(rng).lower()}/{rng.random()}")
        client.simulate_get(f"/nope-{rng.random()}")
    after = series(client)

    assert len(after) == len(before)
    for labels in after:
        assert labels["route"] in routes | {metrics.UNMATCHED_ROUTE}, labels
        assert labels["method"] in metrics.HTTP_METHODS | {metrics.OTHER}, labels
        assert labels.get("status", "200").isdigit(), labels


def walk_routes(app) -> list:
    found, nodes = [], list(app._router._roots)
    while nodes:
        node = nodes.pop()
        if node.resource is not None:
            found.append(node)
        nodes += node.children
    return found


@pytest.mark.filterwarnings("ignore::wsgiref.validate.WSGIWarning")
@pytest.mark.parametrize("path", ["/webhooks/nhanh", "/jobs", "/queues/deploy/dead"])
def test_an_invented_method_is_405_json_with_allow_and_enqueues_nothing(client, live_redis,
                                                                       path):
    result = client.simulate_request("XQWERTYUIOP", path, body=inventory_body(["SKU-0"]),
                                     headers={"Content-Type": "application/json", **auth()})

    assert result.status_code == 405, result.text
    assert result.json["error"] == "method_not_allowed" and result.json["message"]
    assert "XQWERTYUIOP" not in result.text
    assert "OPTIONS" in result.headers["Allow"] and len(result.headers["Allow"].split(",")) > 1
    assert stored_keys(live_redis) == 0


@pytest.mark.filterwarnings("ignore::wsgiref.validate.WSGIWarning")
def test_a_method_that_is_not_an_http_token_is_400_json(client, live_redis):
    result = client.simulate_request("G\u00e9T", "/jobs", headers=auth())

    assert (result.status_code, result.json["error"]) == (400, "bad_request")
    assert "HTTP method" in result.json["message"]
    assert stored_keys(live_redis) == 0


@pytest.mark.parametrize("path", ["/jobs/" + "x" * 5000, "/queues/" + "q" * 5000 + "/dead",
                                  "/jobs?shop=" + "s" * 5000 + "&state=" + "t" * 5000])
def test_an_error_never_echoes_a_long_id_back_whole(client, path):
    answer = client.simulate_get(path, headers=auth())
    assert answer.status_code in (400, 404)
    assert len(answer.json["message"]) < 300, answer.json["message"][:400]
    assert "5000 characters" in answer.json["message"]
