"""Webhooks the Nhanh sandbox sends, in Nhanh's version 3 and version 2 shapes, to a real HTTP
receiver in the test, and Nhanh's re-sends of deliveries that did not get 200."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import BUSINESS_ID, NhanhApi, business_seed
from tests.support.nhanh_sandbox_process import RETRY_SCALE, NhanhSandboxProcess
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

VERIFY_TOKEN = "verify-me"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as server:
        yield server


def seed_with_webhook(control: NhanhSandboxClient, receiver: WebhookReceiver,
                      version: int) -> None:
    control.seed_business(business_seed(webhook={"url": receiver.url, "token": VERIFY_TOKEN,
                                                 "version": version}))


def wait_delivered(control: NhanhSandboxClient, count: int,
                   timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        deliveries = control.webhooks(BUSINESS_ID)
        done = [d for d in deliveries if d["delivered"] or d["gaveUp"]]
        if len(done) >= count:
            return deliveries
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries not finished: {deliveries}")
        time.sleep(0.05)


def test_an_order_adds_to_the_customers_total_and_sends_order_add_v3(
    nhanh_sandbox: NhanhSandboxClient, receiver: WebhookReceiver, api: NhanhApi
) -> None:
    seed_with_webhook(nhanh_sandbox, receiver, 3)
    before = api.customers({"filters": {"ids": [2]}})["data"][0]
    result = nhanh_sandbox.add_order(BUSINESS_ID, 2, 150000.5, orderId=501, depotId=1,
                                     products=[{"id": 101, "quantity": 1, "price": 150000.5}])
    assert result["customer"]["totalAmount"] == 152000.5
    after = api.customers({"filters": {"ids": [2]}})["data"][0]
    assert after["totalAmount"] == 152000.5 and after["updatedAt"] > before["updatedAt"]

    (hook,) = receiver.wait_for(1)
    assert hook.headers["authorization"] == VERIFY_TOKEN
    assert hook.headers["content-type"] == "application/json"
    assert hook.body["event"] == "orderAdd" and hook.body["businessId"] == BUSINESS_ID
    assert set(hook.body) == {"event", "businessId", "data"}
    data = hook.body["data"]
    assert data["info"]["id"] == 501 and data["info"]["status"] == "New"
    assert data["customer"] == {"id": 2, "name": "Khách 2", "mobile": "0900000002"}
    assert data["depot"] == {"id": 1}
    assert data["products"] == [{"id": 101, "quantity": 1, "price": 150000.5}]
    (delivery,) = wait_delivered(nhanh_sandbox, 1)
    assert delivery["delivered"] and [a["status"] for a in delivery["attempts"]] == [200]


def test_deleting_an_order_takes_its_amount_off_and_sends_order_delete(
    nhanh_sandbox: NhanhSandboxClient, receiver: WebhookReceiver, api: NhanhApi
) -> None:
    seed_with_webhook(nhanh_sandbox, receiver, 3)
    order = nhanh_sandbox.add_order(BUSINESS_ID, 1, 500)["order"]
    nhanh_sandbox.update_order(BUSINESS_ID, order["id"], "Confirmed")
    nhanh_sandbox.delete_order(BUSINESS_ID, order["id"])
    assert api.customers({"filters": {"ids": [1]}})["data"][0]["totalAmount"] == 1000
    hooks = receiver.wait_for(3)
    by_event = {h.body["event"]: h.body for h in hooks}
    assert by_event["orderUpdate"]["data"]["info"]["status"] == "Confirmed"
    assert by_event["orderDelete"]["data"] == [order["id"]]


def test_inventory_change_v3_sends_an_array_of_products_with_depot_arrays(
    nhanh_sandbox: NhanhSandboxClient, receiver: WebhookReceiver, api: NhanhApi
) -> None:
    seed_with_webhook(nhanh_sandbox, receiver, 3)
    nhanh_sandbox.set_inventory(BUSINESS_ID, [{"id": 101, "depots": [
        {"id": 1, "remain": 9, "available": 7, "holding": 2}]}])
    (hook,) = receiver.wait_for(1)
    assert hook.body["event"] == "inventoryChange"
    assert hook.body["data"] == [{
        "id": 101, "code": "SKU-1", "remain": 10, "shipping": 0, "damaged": 0, "holding": 2,
        "transfering": 0, "available": 8,
        "depots": [
            {"id": 1, "remain": 9, "shipping": 0, "damaged": 0, "holding": 2, "transfering": 0,
             "available": 7},
            {"id": 2, "remain": 1, "shipping": 0, "damaged": 0, "holding": 0, "transfering": 0,
             "available": 1},
        ]}]
    product = api.products({"filters": {"ids": [101]}})["data"][0]
    assert product["inventory"]["available"] == 8


def test_version_2_puts_the_token_in_the_body_and_keys_products_and_depots_by_id(
    nhanh_sandbox: NhanhSandboxClient, receiver: WebhookReceiver
) -> None:
    seed_with_webhook(nhanh_sandbox, receiver, 2)
    nhanh_sandbox.set_inventory(BUSINESS_ID, [{"id": 102, "depots": [
        {"id": 2, "remain": 3, "damaged": 1}]}])
    nhanh_sandbox.add_order(BUSINESS_ID, 3, 2500, orderId=77, depotId=2)
    nhanh_sandbox.delete_order(BUSINESS_ID, 77)
    hooks = receiver.wait_for(3)
    assert all("authorization" not in h.headers for h in hooks)
    assert all(h.body["webhooksVerifyToken"] == VERIFY_TOKEN for h in hooks)
    inventory, added, deleted = (h.body for h in sorted(hooks, key=lambda h: h.at))
    assert inventory["event"] == "inventoryChange"
    assert inventory["data"] == {"102": {
        "id": 102, "code": "SKU-2", "remain": 8, "shipping": 0, "holding": 0, "damage": 1,
        "available": 5,
        "depots": {"1": {"remain": 5, "shipping": 0, "holding": 0, "damage": 0, "available": 4},
                   "2": {"remain": 3, "shipping": 0, "holding": 0, "damage": 1,
                         "available": 1}}}}
    assert added["event"] == "orderAdd"
    assert {k: added["data"][k] for k in ("orderId", "customerId", "customerName",
                                          "customerMobile", "status", "calcTotalMoney")} == {
        "orderId": 77, "customerId": 3, "customerName": "Khách 3",
        "customerMobile": "0900000003", "status": "New", "calcTotalMoney": 2500}
    assert deleted["event"] == "orderDelete" and deleted["data"] == [77]


def test_enabling_webhooks_sends_the_handshake(
    nhanh_sandbox: NhanhSandboxClient, receiver: WebhookReceiver
) -> None:
    seed_with_webhook(nhanh_sandbox, receiver, 3)
    nhanh_sandbox.enable_webhooks(BUSINESS_ID)
    (hook,) = receiver.wait_for(1)
    assert hook.body == {"event": "webhooksEnabled", "businessId": BUSINESS_ID, "data": {}}


def test_a_delivery_without_200_is_re_sent_on_nhanhs_scaled_schedule(
    nhanh_sandbox: NhanhSandboxClient
) -> None:
    with webhook_receiver(statuses=[500, 404]) as receiver:
        seed_with_webhook(nhanh_sandbox, receiver, 3)
        nhanh_sandbox.enable_webhooks(BUSINESS_ID)
        hooks = receiver.wait_for(3)
        (delivery,) = wait_delivered(nhanh_sandbox, 1)
    assert [h.status for h in hooks] == [500, 404, 200]
    assert all(h.body == hooks[0].body for h in hooks)  # the same delivery each time
    assert [a["status"] for a in delivery["attempts"]] == [500, 404, 200]
    assert delivery["delivered"] and not delivery["gaveUp"]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(hooks)]
    expected = [300 * RETRY_SCALE, 600 * RETRY_SCALE]  # 5 and 10 minutes, scaled
    for gap, want in zip(gaps, expected, strict=True):
        assert want * 0.9 <= gap <= want + 0.5, gaps


def test_after_three_re_sends_the_sandbox_gives_up(nhanh_sandbox: NhanhSandboxClient) -> None:
    with webhook_receiver(statuses=[503] * 10) as receiver:
        seed_with_webhook(nhanh_sandbox, receiver, 2)
        nhanh_sandbox.enable_webhooks(BUSINESS_ID)
        (delivery,) = wait_delivered(nhanh_sandbox, 1)
        time.sleep(0.3)
        assert len(receiver.received) == 4
    assert [a["status"] for a in delivery["attempts"]] == [503, 503, 503, 503]
    assert delivery["gaveUp"] and not delivery["delivered"]
    assert delivery["nextAttemptAt"] is None


def test_an_unreachable_receiver_counts_as_a_failed_attempt(
    nhanh_sandbox: NhanhSandboxClient
) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url  # closed when the block ends: nothing listens there any more
    nhanh_sandbox.seed_business(business_seed(webhook={"url": url, "token": "t",
                                                       "version": 3}))
    nhanh_sandbox.enable_webhooks(BUSINESS_ID)
    deadline = time.monotonic() + 5
    while not (attempts := nhanh_sandbox.webhooks(BUSINESS_ID)[0]["attempts"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert attempts[0]["status"] is None and attempts[0]["error"]


def test_the_command_line_webhook_target_serves_businesses_without_their_own(
    receiver: WebhookReceiver,
) -> None:
    process = NhanhSandboxProcess(webhook_url=receiver.url, webhook_token="cli-token",
                                  webhook_version=2).wait_ready()
    try:
        control = NhanhSandboxClient(process.url)
        control.seed_business(business_seed())
        control.add_order(BUSINESS_ID, 1, 10)
        (hook,) = receiver.wait_for(1)
    finally:
        process.stop()
    assert hook.body["webhooksVerifyToken"] == "cli-token"
    assert hook.body["event"] == "orderAdd" and hook.body["data"]["calcTotalMoney"] == 10


def test_a_business_without_a_webhook_target_sends_nothing(
    nhanh_sandbox: NhanhSandboxClient,
) -> None:
    nhanh_sandbox.seed_business(business_seed())
    assert nhanh_sandbox.add_order(BUSINESS_ID, 1, 10)["deliveries"] == []
    assert nhanh_sandbox.webhooks() == []
