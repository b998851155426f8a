"""The Shopify circuit breaker as operators and jobs meet it: ``GET /shops``, ingest's
``/metrics`` (read from Redis at scrape time) and a theme deploy stopped by a breaker that sync
calls opened: one breaker per shop, whatever the job."""

from __future__ import annotations

import time
from typing import Any

import dramatiq
import falcon.testing
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hookyard.base.settings import Settings
from hookyard.jobs.broker import HookyardBroker
from hookyard.jobs.store import JobStore
from hookyard.shopify.breaker import CircuitBreaker, Outcome
from tests.support.bundle_support import theme_files, zip_bundle
from tests.support.platform_support import OTHER_SHOP_TOKEN, SHOP_TOKEN, auth


def breaker(settings: Settings, jobs: JobStore, shop: str) -> CircuitBreaker:
    return CircuitBreaker.from_settings(jobs.state, settings, shop)


def open_breaker(settings: Settings, jobs: JobStore, shop: str) -> CircuitBreaker:
    """The shop's shared breaker, opened by as many failed calls as the settings need."""
    shared = breaker(settings, jobs, shop)
    for _ in range(settings.breaker_failures):
        shared.record(shared.admit(), Outcome.FAILED)
    assert shared.state().state == "open"
    return shared


def scrape(client: falcon.testing.TestClient) -> dict[str, dict[tuple[str, ...], float]]:
    """Ingest's /metrics as {sample name: {label values: value}} for the breaker gauges."""
    text = client.simulate_get("/metrics").text
    found: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("hookyard_shopify_breaker_state"):
                found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found


def test_shops_shows_every_shop_s_breaker_to_an_admin(
    client: falcon.testing.TestClient, settings: Settings, jobs: JobStore
) -> None:
    opened = open_breaker(settings, jobs, "acme").state()
    answer = client.simulate_get("/shops", headers=auth())
    assert answer.status_code == 200, answer.text
    shops = answer.json["shops"]
    assert set(shops) == {"acme", "globex"}
    acme = shops["acme"]
    assert acme["plan"] == "standard"
    assert acme["breaker"] == opened.view()
    assert acme["breaker"]["state"] == "open"
    assert acme["breaker"]["consecutive_failures"] == settings.breaker_failures
    assert acme["breaker"]["since"] < acme["breaker"]["next_probe_at"]
    assert shops["globex"]["breaker"] == {
        "state": "closed", "since": None, "consecutive_failures": 0, "next_probe_at": None}


@pytest.mark.parametrize(("token", "shop"), [(SHOP_TOKEN, "acme"), (OTHER_SHOP_TOKEN, "globex")])
def test_a_shop_token_sees_only_its_own_shop(
    client: falcon.testing.TestClient, settings: Settings, jobs: JobStore, token: str,
    shop: str,
) -> None:
    open_breaker(settings, jobs, "acme")
    answer = client.simulate_get("/shops", headers=auth(token))
    assert answer.status_code == 200
    assert list(answer.json["shops"]) == [shop]


def test_shops_needs_a_valid_token(client: falcon.testing.TestClient, jobs: JobStore) -> None:
    assert client.simulate_get("/shops").json["error"] == "missing_token"
    assert client.simulate_get("/shops", headers=auth("nope")).json["error"] == "invalid_token"


def test_metrics_export_every_shop_s_breaker_state_and_since_from_redis(
    client: falcon.testing.TestClient, settings: Settings, jobs: JobStore
) -> None:
    scraped = scrape(client)
    assert scraped["hookyard_shopify_breaker_state"] == {
        (("shop", "acme"),): 0.0, (("shop", "globex"),): 0.0}
    assert scraped.get("hookyard_shopify_breaker_state_since_timestamp_seconds", {}) == {}

    acme = open_breaker(settings, jobs, "acme")
    globex = breaker(settings, jobs, "globex")
    globex.record(globex.admit(), Outcome.ANSWERED)  # called once: closed since then
    scraped = scrape(client)
    assert scraped["hookyard_shopify_breaker_state"] == {
        (("shop", "acme"),): 2.0, (("shop", "globex"),): 0.0}
    since = scraped["hookyard_shopify_breaker_state_since_timestamp_seconds"]
    acme_since = acme.state().since_ms
    globex_since = globex.state().since_ms
    assert acme_since is not None and globex_since is not None
    assert since == {(("shop", "acme"),): acme_since / 1000,
                     (("shop", "globex"),): globex_since / 1000}
    assert abs(since[(("shop", "acme"),)] - time.time()) < 60  # a Unix time, for time() - it


def test_metrics_show_a_half_open_breaker_as_1(
    client: falcon.testing.TestClient, jobs: JobStore
) -> None:
    acme = CircuitBreaker(jobs.state, shop="acme", failures=1, probe_seconds=0.1,
                          probe_max_seconds=0.1, probe_lease_seconds=30)
    acme.record(acme.admit(), Outcome.FAILED)
    time.sleep(0.3)
    assert acme.admit().probe is not None
    assert scrape(client)["hookyard_shopify_breaker_state"][(("shop", "acme"),)] == 1.0


def test_a_theme_deploy_waits_on_the_breaker_sync_calls_opened_without_calling_shopify(
    client: falcon.testing.TestClient, settings: Settings, jobs: JobStore, shop: dict[str, Any],
    sandbox: Any, broker: HookyardBroker,
) -> None:
    open_breaker(settings, jobs, "acme")  # what failing sync writes leave behind
    answer = client.simulate_post("/deploys?shop=acme&theme_name=Winter",
                                  body=zip_bundle(theme_files(3)),
                                  headers={"Content-Type": "application/zip", **auth()})
    assert answer.status_code == 202, answer.text
    job_id = answer.json["job_id"]
    worker = dramatiq.Worker(broker, queues={"deploy"}, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not (record := jobs.get(job_id) or {}).get("error"):
            assert time.monotonic() < deadline, record
            time.sleep(0.02)
    finally:
        worker.stop(timeout=10000)
    assert record["error"]["code"] == "shopify_unavailable", record["error"]
    assert sandbox.stats("acme")["calls"] == 0
