"""Run by test_shopify_budget.py as a separate *process*: call one sandbox shop as fast as the
shared Redis budget allows until a deadline the test gives, then print a JSON summary on stdout.

usage: hammer_shop.py REDIS_URL SHOP_ID PLAN TOKEN SANDBOX_URL

Once imported and connected it prints ``{"ready": true}`` and waits for one line on stdin:
``{"deadline": <time.monotonic() value>}``. It calls until that deadline and prints
``{"calls": n, "ended": <time.monotonic() when its last call returned>}``. The times are
comparable across processes because ``time.monotonic()`` is the system-wide CLOCK_MONOTONIC on
Linux; start-up time therefore never counts as calling time.
"""

from __future__ import annotations

import json
import sys
import time

import redis

from hookyard.base.shops import ShopConfig
from hookyard.shopify import operations as ops
from hookyard.shopify.breaker import CircuitBreaker
from hookyard.shopify.budget import RateBudget
from hookyard.shopify.client import ShopifyClient

QUERY_SKUS = ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]


def main() -> None:
    redis_url, shop_id, plan, token, sandbox_url = sys.argv[1:6]
    state = redis.Redis.from_url(redis_url)
    state.ping()
    shop = ShopConfig(id=shop_id, nhanh_business_id="x", shopify_domain="x.myshopify.com",
                      access_token=token, plan=plan)
    breaker = CircuitBreaker(state, shop=shop_id, failures=5, probe_seconds=5,
                             probe_max_seconds=30, probe_lease_seconds=15)
    client = ShopifyClient(shop, api_version="2026-10", budget=RateBudget(state, shop=shop_id,
                                                                          plan=plan),
                           breaker=breaker, base_url=sandbox_url, max_throttle_wait_seconds=30)
    print(json.dumps({"ready": True}), flush=True)
    deadline = float(json.loads(sys.stdin.readline())["deadline"])
    calls = 0
    ended = time.monotonic()
    while time.monotonic() < deadline:
        # first = 8, so the requested cost is 2 + 8 x 2 = 18; 4 variants come back: actual 10.
        found = ops.find_inventory_items_by_sku(client, QUERY_SKUS)
        ended = time.monotonic()
        assert len(found) == 4, found
        calls += 1
    print(json.dumps({"calls": calls, "ended": ended}), flush=True)


if __name__ == "__main__":
    main()
