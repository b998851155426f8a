"""Hookyard's Nhanh client reading customers and products from the real sandbox: paging by
``next``, ids in chunks of 100, the values as Nhanh sent them."""

from __future__ import annotations

import json
from typing import Any

from devstack.redis_server import RedisServer
from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs.runtime import Runtime
from hookyard.nhanh.customers import CUSTOMER_LIST, NhanhCustomer, read_customers
from hookyard.nhanh.products import PRODUCT_LIST, NhanhStock, iter_products
from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import APP_ID, BUSINESS_ID, TOKEN
from tests.support.nhanh_sandbox_process import NhanhSandboxProcess
from tests.support.nhanh_shops import nhanh_shop


def admitted(control: NhanhSandboxClient, path: str) -> int:
    return int(control.requests(BUSINESS_ID)["admitted"].get(path, 0))


def test_pages_follow_next_through_more_than_a_hundred_customers(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business(customers=250)
    pages = list(make_client().pages(CUSTOMER_LIST))
    assert [len(p.items) for p in pages] == [100, 100, 50]
    assert [p.total_items for p in pages] == [250, None, None]
    assert [c["id"] for p in pages for c in p.items] == list(range(1, 251))
    assert admitted(nhanh_sandbox, CUSTOMER_LIST) == 3


def test_short_pages_do_not_end_the_paging(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business(customers=25)
    nhanh_sandbox.set_faults(BUSINESS_ID, page_cap=10)
    pages = list(make_client().pages(CUSTOMER_LIST))
    assert [len(p.items) for p in pages] == [10, 10, 5]


def test_read_customers_asks_for_a_hundred_ids_a_request_and_leaves_unknown_ones_out(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business(customers=250)
    wanted = [str(i) for i in range(1, 231)] + ["9999", "5", 7]  # unknown, repeated, an int
    found = read_customers(make_client(), nhanh_shop(), wanted)
    assert admitted(nhanh_sandbox, CUSTOMER_LIST) == 3  # 230 distinct known + 1 unknown: 100+100+31
    assert set(found) == {str(i) for i in range(1, 231)}
    assert found["7"] == NhanhCustomer(id="7", name="Khách 7", mobile="0900000007",
                                       total_amount=7000, updated_at=found["7"].updated_at)
    assert isinstance(found["7"].updated_at, int)


def test_totals_are_the_json_numbers_nhanh_sent(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business(customers=3)
    nhanh_sandbox.add_order(BUSINESS_ID, 2, 1234.56)
    found = read_customers(make_client(), nhanh_shop(), [1, 2])
    assert found["1"].total_amount == 1000 and isinstance(found["1"].total_amount, int)
    assert found["2"].total_amount == 3234.56


def test_no_ids_make_no_request(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business()
    assert read_customers(make_client(), nhanh_shop(), []) == {}
    assert admitted(nhanh_sandbox, CUSTOMER_LIST) == 0


def test_iter_products_pages_every_product_with_its_depot_stock(
    business: Any, make_client: Any, nhanh_sandbox: NhanhSandboxClient
) -> None:
    business(products=130)
    products = list(iter_products(make_client(), nhanh_shop()))
    assert [p.id for p in products] == [str(100 + i) for i in range(1, 131)]
    assert admitted(nhanh_sandbox, PRODUCT_LIST) == 2
    first = products[0]
    assert (first.code, first.name) == ("SKU-1", "Áo 1")
    assert first.stock == NhanhStock(remain=6, available=5)
    assert first.depots == {"1": NhanhStock(remain=5, available=4),
                            "2": NhanhStock(remain=1, available=1)}
    some = list(iter_products(make_client(), nhanh_shop(), ids=["105", 101]))
    assert [p.id for p in some] == ["101", "105"]


def test_read_customers_builds_its_client_from_the_runtime(
    business: Any, nhanh_sandbox_process: NhanhSandboxProcess, live_redis: RedisServer
) -> None:
    business(customers=3)
    shops = [{"id": "acme", "nhanh_business_id": str(BUSINESS_ID),
              "shopify_domain": "acme.myshopify.com", "access_token": "shpat_x",
              "nhanh_app_id": APP_ID, "nhanh_access_token_env": "NHANH_TOKEN"}]
    settings = Settings.from_env({
        "HOOKYARD_REDIS_URL": live_redis.url(0), "HOOKYARD_STATE_REDIS_DB": "1",
        "HOOKYARD_SHOPS": json.dumps(shops), "NHANH_TOKEN": TOKEN,
        "HOOKYARD_NHANH_API_URL": nhanh_sandbox_process.url,
    })
    runtime = Runtime.build(settings)
    shop = settings.shop_by_id("acme")
    assert shop is not None
    found = read_customers(runtime, shop, ["3"])
    assert found["3"].total_amount == 3000
    # The shared limit lives in the runtime's state DB, under the app + business + path key.
    assert runtime.state.exists(keys.nhanh_api_rate(str(APP_ID), str(BUSINESS_ID),
                                                    CUSTOMER_LIST))
