"""Run by test_shopify_budget.py as a separate *process*: call one sandbox shop as fast as the
shared Redis budget allows for a while, then print a JSON summary on stdout.

usage: hammer_shop.py REDIS_URL SHOP_ID PLAN TOKEN SANDBOX_URL SECONDS
"""

from __future__ import annotations

import json
import sys
import time

import redis

from hookyard.settings import ShopConfig
from hookyard.shopify import operations as ops
from hookyard.shopify.budget import RateBudget
from hookyard.shopify.client import ShopifyClient

QUERY_SKUS = ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]


def main() -> None:
    redis_url, shop_id, plan, token, sandbox_url, seconds = sys.argv[1:7]
    state = redis.Redis.from_url(redis_url)
    shop = ShopConfig(id=shop_id, nhanh_business_id="x", shopify_domain="x.myshopify.com",
                      access_token=token, plan=plan)
    client = ShopifyClient(shop, api_version="2026-10", budget=RateBudget(state, shop=shop_id,
                                                                          plan=plan),
                           base_url=sandbox_url, max_throttle_wait_seconds=30)
    calls = 0
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        # first = 8, so the requested cost is 2 + 8 x 2 = 18; 4 variants come back: actual 10.
        found = ops.find_inventory_items_by_sku(client, QUERY_SKUS)
        assert len(found) == 4, found
        calls += 1
    print(json.dumps({"calls": calls}), flush=True)


if __name__ == "__main__":
    main()
