"""Findings of the hostile-input review (issue #21) at the HTTP edge: each answers a 4xx in the
JSON error shape and changes nothing. docs/security.md lists them in its bad-input table."""

from __future__ import annotations

import json

import pytest
import redis

from hookyard.redis_server import RedisServer
from nhanh_payloads import DEPOT, customer_body, inventory_body, product_id
from platform_support import post_webhook

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
