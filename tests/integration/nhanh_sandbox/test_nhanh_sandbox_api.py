"""The Nhanh sandbox's Open API v3 list endpoints: paging, filters, answers, auth errors."""

from __future__ import annotations

from typing import Any

import pytest

from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import APP_ID, BUSINESS_ID, TOKEN, NhanhApi


def walk(api: NhanhApi, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every answer of a list, following ``next``."""
    answers = [api.post(path, body)]
    while answers[-1]["paginator"]["next"] is not None:
        paginator = {**body.get("paginator", {}), "next": answers[-1]["paginator"]["next"]}
        answers.append(api.post(path, {**body, "paginator": paginator}))
    return answers


def test_customers_page_by_next_in_id_order_with_the_total_on_the_first_page_only(
    api: NhanhApi, seeded: Any
) -> None:
    seeded(customers=250)
    answers = walk(api, "/v3.0/customer/list", {"paginator": {"size": 100}})
    assert [a["code"] for a in answers] == [1, 1, 1]
    assert [len(a["data"]) for a in answers] == [100, 100, 50]
    assert answers[0]["paginator"] == {"next": {"id": 100}, "totalItems": 250}
    assert answers[1]["paginator"] == {"next": {"id": 200}}
    assert answers[2]["paginator"] == {"next": None}
    ids = [c["id"] for a in answers for c in a["data"]]
    assert ids == list(range(1, 251))
    assert answers[0]["data"][1] == {
        "id": 2, "type": 1, "name": "Khách 2", "mobile": "0900000002", "code": "KH2",
        "points": 0, "totalAmount": 2000, "updatedAt": answers[0]["data"][1]["updatedAt"]}


def test_the_default_page_size_is_fifty(api: NhanhApi, seeded: Any) -> None:
    seeded(customers=60)
    answer = api.customers({})
    assert len(answer["data"]) == 50 and answer["paginator"]["next"] == {"id": 50}


def test_a_short_page_still_has_a_next(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    seeded(customers=10)
    nhanh_sandbox.set_faults(BUSINESS_ID, page_cap=3)
    answers = walk(api, "/v3.0/customer/list", {"paginator": {"size": 100}})
    assert [len(a["data"]) for a in answers] == [3, 3, 3, 1]
    assert [c["id"] for a in answers for c in a["data"]] == list(range(1, 11))


def test_ids_filter_returns_only_known_ids_and_pages_within_them(
    api: NhanhApi, seeded: Any
) -> None:
    seeded(customers=20)
    answer = api.customers({"filters": {"ids": [15, 3, 999, "7"]}, "paginator": {"size": 2}})
    assert [c["id"] for c in answer["data"]] == [3, 7]
    assert answer["paginator"] == {"next": {"id": 7}, "totalItems": 3}
    rest = api.customers({"filters": {"ids": [15, 3, 999, "7"]},
                          "paginator": {"size": 2, "next": {"id": 7}}})
    assert [c["id"] for c in rest["data"]] == [15] and rest["paginator"]["next"] is None


def test_products_carry_inventory_summed_over_depots(api: NhanhApi, seeded: Any) -> None:
    seeded(products=2)
    answer = api.products({"filters": {"ids": [102]}})
    assert answer["data"] == [{
        "id": 102, "code": "SKU-2", "barcode": "", "name": "Áo 2",
        "inventory": {
            "remain": 6, "shipping": 0, "damaged": 0, "holding": 0, "transfering": 0,
            "available": 5,
            "depots": [
                {"id": 1, "remain": 5, "shipping": 0, "damaged": 0, "holding": 0,
                 "transfering": 0, "available": 4},
                {"id": 2, "remain": 1, "shipping": 0, "damaged": 0, "holding": 0,
                 "transfering": 0, "available": 1},
            ]}}]


@pytest.mark.parametrize("body", [
    {"paginator": {"size": 0}},
    {"paginator": {"size": 101}},
    {"paginator": {"size": "10"}},
    {"paginator": {"next": "abc"}},
    {"paginator": {"next": {"page": 2}}},
    {"paginator": []},
    {"filters": []},
    {"filters": {"ids": "1,2"}},
    {"filters": {"ids": ["x"]}},
    {"filters": {"ids": list(range(1, 102))}},
])
def test_bad_filters_or_paginator_answer_err_invalid_data(
    api: NhanhApi, seeded: Any, body: dict[str, Any]
) -> None:
    seeded()
    answer = api.customers(body)
    assert answer["code"] == 0 and answer["errorCode"] == "ERR_INVALID_DATA", answer
    assert answer["messages"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_answers_err_invalid_data(
    api: NhanhApi, seeded: Any, raw: bytes
) -> None:
    seeded()
    assert api.customers(raw=raw)["errorCode"] == "ERR_INVALID_DATA"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"token": None}, "ERR_INVALID_ACCESS_TOKEN"),
    ({"token": "wrong"}, "ERR_INVALID_ACCESS_TOKEN"),
    ({"token": f"Bearer {TOKEN}"}, "ERR_INVALID_ACCESS_TOKEN"),
    ({"app_id": None}, "ERR_INVALID_APP_ID"),
    ({"app_id": "abc"}, "ERR_INVALID_APP_ID"),
    ({"app_id": APP_ID + 1}, "ERR_INVALID_APP_ID"),
    ({"business_id": None}, "ERR_INVALID_BUSINESS_ID"),
    ({"business_id": BUSINESS_ID + 1}, "ERR_INVALID_BUSINESS_ID"),
])
def test_wrong_credentials_answer_http_200_with_nhanhs_error_code(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient,
    kwargs: dict[str, Any], code: str
) -> None:
    seeded()
    answer = api.customers({}, **kwargs)
    assert answer["code"] == 0 and answer["errorCode"] == code and answer["messages"]
    assert "data" not in answer
    assert nhanh_sandbox.requests(BUSINESS_ID)["admitted"] == {}  # never reached the limit


def test_a_business_of_another_app_is_not_this_apps(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    seeded()
    nhanh_sandbox.seed_business({"appId": APP_ID + 1, "businessId": 2002,
                                 "accessToken": "other"})
    answer = api.customers({}, business_id=2002, token="other")
    assert answer["errorCode"] == "ERR_INVALID_BUSINESS_ID"
    assert api.customers({}, app_id=APP_ID + 1, business_id=2002, token="other")["code"] == 1


def test_the_request_counts_are_per_path(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    seeded()
    api.customers({})
    api.customers({"paginator": {"size": 0}})
    api.products({})
    api.customers({}, token="wrong")
    counts = nhanh_sandbox.requests(BUSINESS_ID)
    assert counts["admitted"] == {"/v3.0/customer/list": 2, "/v3.0/product/list": 1}
    assert counts["refused"] == {}
    assert counts["errors"] == {"ERR_INVALID_DATA": 1, "ERR_INVALID_ACCESS_TOKEN": 1}
    assert counts["limit"] == {"requests": 150, "windowSeconds": 30.0}


def test_a_server_fault_answers_its_status_once(
    api: NhanhApi, seeded: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    seeded()
    nhanh_sandbox.set_faults(BUSINESS_ID, fail_next=1, fail_status=503)
    response = api.session.post(f"{api.base_url}/v3.0/customer/list",
                                params={"appId": APP_ID, "businessId": BUSINESS_ID},
                                headers={"Authorization": TOKEN}, json={}, timeout=5)
    assert response.status_code == 503
    assert api.customers({})["code"] == 1
