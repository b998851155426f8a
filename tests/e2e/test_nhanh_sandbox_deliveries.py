"""The Nhanh sandbox delivers to a real ingest in either of Nhanh's webhook versions (its
``--webhook-version`` setting), and the workers bring Shopify to Nhanh's state: stock from
``inventoryChange``, a customer's total read from Nhanh's API after ``orderAdd``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import Stack
from nhanh_sandbox.client import NhanhSandboxClient
from tests.support import nhanh_sandbox_api
from tests.support.nhanh_payloads import LOCATION, TOKEN
from tests.support.nhanh_sandbox_api import BUSINESS_ID, business_seed
from tests.support.nhanh_sandbox_process import RETRY_SCALE, NhanhSandboxProcess
from tests.support.platform_support import SHOPIFY_TOKEN

pytestmark = pytest.mark.e2e


def acme_reading_nhanh() -> str:
    """Shop acme as the Nhanh sandbox's business: its depot 1 is acme's location."""
    return json.dumps([{
        "id": "acme", "nhanh_business_id": str(BUSINESS_ID),
        "shopify_domain": "acme.myshopify.com", "access_token": SHOPIFY_TOKEN,
        "depots": {"1": LOCATION}, "nhanh_app_id": str(nhanh_sandbox_api.APP_ID),
        "nhanh_access_token": nhanh_sandbox_api.TOKEN}])


def wait_for(predicate, timeout: float, describe) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(describe())
        time.sleep(0.1)


@pytest.mark.parametrize("version", [2, 3])
def test_deliveries_of_either_version_bring_shopify_to_nhanhs_state(
        make_stack, shop, sandbox, tmp_path: Path, version):
    stack: Stack = make_stack(HOOKYARD_SHOPS=acme_reading_nhanh())
    nhanh = NhanhSandboxProcess(tmp_path / f"nhanh-v{version}", retry_scale=RETRY_SCALE,
                                webhook_url=f"{stack.ingest_url}/webhooks/nhanh",
                                webhook_token=TOKEN, webhook_version=version).wait_ready()
    try:
        stack.env["HOOKYARD_NHANH_API_URL"] = nhanh.url
        stack.start_ingest()
        stack.start_worker("workers.inventory_sync")
        stack.start_worker("workers.customer_sync")
        control = NhanhSandboxClient(nhanh.url)
        control.seed_business(business_seed(customers=1, products=2))

        control.set_inventory(BUSINESS_ID, [{"id": 101, "depots": [{"id": 1, "remain": 9,
                                                                      "available": 9}]}])
        control.add_order(BUSINESS_ID, 1, 250, orderId=1)

        def synced() -> bool:
            levels = {row["sku"]: row["available"] for row in sandbox.inventory("acme")
                      if row["locationId"] == LOCATION}
            totals = {c["email"]: [m["value"] for m in c["metafields"]]
                      for c in sandbox.customers("acme")}
            return levels.get("SKU-1") == 9 and totals.get("lan@example.vn") == ["1250"]

        wait_for(synced, 30, lambda: f"not synced; deliveries: {control.webhooks(BUSINESS_ID)}")
        deliveries = control.webhooks(BUSINESS_ID)
        assert {d["event"] for d in deliveries} >= {"inventoryChange", "orderAdd"}
        assert all(d["delivered"] and d["version"] == version for d in deliveries), deliveries
    finally:
        nhanh.stop()
