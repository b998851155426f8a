"""Nhanh's v2 and v3 webhook shapes: each validated strictly in its own version, both turned into
the same items. Payloads are copied in shape from the documentation pages each builder cites
(tests/support/nhanh_payloads.py)."""

from __future__ import annotations

import pytest

from hookyard.base.errors import ValidationFailed
from hookyard.nhanh.webhooks.envelope import parse_webhook, presented_tokens
from hookyard.nhanh.webhooks.orders import OrderChange
from tests.support.nhanh_payloads import (
    DEPOT,
    product_id,
    v2_order_document,
    v3_inventory_document,
    v3_order_delete_document,
    v3_order_document,
)


def problems(document, *, version) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_webhook(document, version=version)
    return [f"{f['field']}: {f['problem']}" for f in caught.value.details["fields"]]


def test_v3_inventory_becomes_the_same_item_as_v2():
    v3 = parse_webhook(v3_inventory_document(["SKU-1"], available=4), version=3)
    pid = product_id("SKU-1")
    v2 = parse_webhook({"event": "inventoryChange", "businessId": 1001, "data": {
        str(pid): {"id": pid, "code": "SKU-1", "available": 4,
                   "depots": {DEPOT: {"available": 4}}}}}, version=2)
    assert v3.version == 3 and v2.version == 2
    assert v3.items[0]["id"] == v2.items[0]["id"] == str(pid)
    assert v3.items[0]["depots"][DEPOT]["available"] == v2.items[0]["depots"][DEPOT]["available"]
    assert v3.items[0]["depots"][DEPOT]["damaged"] == 0  # v3's names are kept as sent


def test_v3_refuses_v2s_object_shapes_and_says_where_the_v2_token_goes():
    keyed = v3_inventory_document(["SKU-1"])
    keyed["data"] = {"1": keyed["data"][0]}
    assert "webhooksVerifyToken" in problems(keyed, version=3)[0]
    depots_keyed = v3_inventory_document(["SKU-1"])
    depots_keyed["data"][0]["depots"] = {DEPOT: {"available": 1}}
    [problem] = problems(depots_keyed, version=3)
    assert problem.startswith("data[0].depots: must be an array")


def test_v2_refuses_v3s_depot_array_and_says_where_the_v3_token_goes():
    document = {"event": "inventoryChange", "businessId": 1,
                "data": {"5": {"id": 5, "depots": [{"id": DEPOT, "available": 1}]}}}
    [problem] = problems(document, version=2)
    assert "Authorization" in problem and problem.startswith("data.5.depots")


@pytest.mark.parametrize("field", ["remain", "shipping", "damaged", "holding", "transfering",
                                   "available"])
def test_every_v3_quantity_is_checked_by_its_v3_name(field):
    document = v3_inventory_document(["SKU-1"])
    document["data"][0]["depots"][0][field] = 1.5
    assert problems(document, version=3) == [
        f"data[0].depots[0].{field}: must be a whole number (a JSON integer, no decimal point)"]


def test_a_v3_depot_without_an_id_or_listed_twice_is_refused():
    document = v3_inventory_document(["SKU-1"])
    depot = document["data"][0]["depots"][0]
    document["data"][0]["depots"] = [depot, dict(depot), {"available": 1}]
    assert problems(document, version=3) == ["data[0].depots[1].id: depot D1 is listed twice",
                                             "data[0].depots[2].id: is required (string or "
                                             "integer)"]


def test_order_events_name_the_order_and_its_customer_in_both_versions():
    v3 = parse_webhook(v3_order_document(501, 77), version=3)
    v2 = parse_webhook(v2_order_document(501, 77), version=2)
    assert v3.orders == v2.orders == (OrderChange("501", "77"),)


@pytest.mark.parametrize("document, version", [
    (v3_order_document(501, None), 3), (v2_order_document(501, None), 2)])
def test_a_walk_in_order_names_no_customer(document, version):
    assert parse_webhook(document, version=version).orders == (OrderChange("501", None),)


def test_order_delete_lists_order_ids_without_customers():
    parsed = parse_webhook(v3_order_delete_document([12345, 12346]), version=3)
    assert parsed.orders == (OrderChange("12345", None), OrderChange("12346", None))


def test_an_order_without_its_id_is_refused_by_each_versions_field_name():
    v3 = v3_order_document(1, 2)
    del v3["data"]["info"]["id"]
    v2 = v2_order_document(1, 2)
    del v2["data"]["orderId"]
    assert problems(v3, version=3) == ["data.info.id: is required (the order's id)"]
    assert problems(v2, version=2) == ["data.orderId: is required (the order's id)"]


@pytest.mark.parametrize("headers, body, expected", [
    ({"AUTHORIZATION": "tok"}, {}, (["tok"], 3)),
    ({"AUTHORIZATION": "Bearer tok"}, {}, (["tok"], 3)),
    ({"VERIFYTOKEN": "tok"}, {}, (["tok"], 2)),
    ({"X-NHANH-VERIFY-TOKEN": "tok"}, {}, (["tok"], 2)),
    ({}, {"webhooksVerifyToken": "tok"}, (["tok"], 2)),
    ({"AUTHORIZATION": "other"}, {"webhooksVerifyToken": "tok"}, (["tok", "other"], 2)),
    ({"VERIFYTOKEN": "a"}, {"webhooksVerifyToken": "b"}, (["a", "b"], 2)),
    ({"AUTHORIZATION": " "}, {}, ([], 3)),
    ({}, {}, ([], 3)),
])
def test_the_tokens_place_tells_the_version_and_every_token_is_presented(headers, body,
                                                                         expected):
    assert presented_tokens(headers, body) == expected
