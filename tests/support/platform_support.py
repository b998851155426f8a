"""Shared test support: the platform's test settings, tokens and small HTTP helpers."""

from __future__ import annotations

import json
import time
from typing import Any

import falcon.testing

from hookyard.jobs.store import JobStore
from tests.support import nhanh_sandbox_api
from tests.support.nhanh_payloads import BUSINESS_ID, DEPOT, LOCATION, TOKEN

ADMIN_TOKEN = "admin-secret"
SHOP_TOKEN = "acme-secret"
OTHER_SHOP_TOKEN = "globex-secret"
SHOPIFY_TOKEN = "shpat_acme_test"


def platform_env(redis_url: str, sandbox_url: str, nhanh_url: str | None = None,
                 **overrides: str) -> dict[str, str]:
    """Settings of the test platform; with ``nhanh_url`` (the Nhanh sandbox), shop acme reads
    Nhanh's API there as the sandbox's test app (tests.support.nhanh_sandbox_api)."""
    acme: dict[str, Any] = {
        "id": "acme", "nhanh_business_id": BUSINESS_ID, "shopify_domain": "acme.myshopify.com",
        "access_token": SHOPIFY_TOKEN, "plan": "standard", "depots": {DEPOT: LOCATION}}
    if nhanh_url:
        acme.update(nhanh_app_id=str(nhanh_sandbox_api.APP_ID),
                    nhanh_access_token=nhanh_sandbox_api.TOKEN)
    shops = [
        acme,
        {"id": "globex", "nhanh_business_id": "2002", "shopify_domain": "globex.myshopify.com",
         "access_token": "shpat_globex_test", "plan": "standard", "depots": {}},
    ]
    env = {
        "HOOKYARD_REDIS_URL": redis_url,
        "HOOKYARD_STATE_REDIS_DB": "1",
        "HOOKYARD_NHANH_TOKENS": f"old-token,{TOKEN}",
        "HOOKYARD_SHOPS": json.dumps(shops),
        "HOOKYARD_API_TOKENS": f"ops:admin:{ADMIN_TOKEN},acme-bot:shop:acme:{SHOP_TOKEN},"
                               f"globex-bot:shop:globex:{OTHER_SHOP_TOKEN}",
        "HOOKYARD_SHOPIFY_BASE_URL": sandbox_url,
        "HOOKYARD_MAX_RETRIES": "2",
        "HOOKYARD_MAX_DELIVERIES": "4",
        "HOOKYARD_RETRY_BASE_SECONDS": "0.05",
        "HOOKYARD_RETRY_MAX_SECONDS": "0.2",
        "HOOKYARD_SWEEP_GRACE_SECONDS": "1",
        "HOOKYARD_SHOPIFY_MAX_THROTTLE_WAIT_SECONDS": "5",
        "HOOKYARD_SHOPIFY_TIMEOUT_SECONDS": "3",
        "HOOKYARD_INGEST_REDIS_TIMEOUT_SECONDS": "0.3",
        # Tests poll job status many times a second; the limit itself has its own tests.
        "HOOKYARD_API_RATE_LIMIT_PER_MINUTE": "100000",
        "HOOKYARD_NHANH_CUSTOMER_READ_DELAY_SECONDS": "0.5",
        # Outages in tests last seconds: probe (and wake waiting jobs) within a second.
        "HOOKYARD_BREAKER_PROBE_SECONDS": "0.2",
        "HOOKYARD_BREAKER_PROBE_MAX_SECONDS": "1",
    }
    if nhanh_url:
        env["HOOKYARD_NHANH_API_URL"] = nhanh_url
    env.update(overrides)
    return env


def post_webhook(client: falcon.testing.TestClient, body: bytes, *,
                 path: str = "/webhooks/nhanh", headers: dict[str, str] | None = None
                 ) -> falcon.testing.Result:
    return client.simulate_post(path, body=body, headers={"Content-Type": "application/json",
                                                          **(headers or {})})


def auth(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for_state(jobs: JobStore, job_id: str, states: set[str],
                   timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record = jobs.get(job_id)
    while record is None or record["state"] not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached {states}: {record}")
        time.sleep(0.02)
        record = jobs.get(job_id)
    return record
