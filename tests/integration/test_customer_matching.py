"""Customer matching never guesses (issue #21, finding 1), through ingest, a real worker, Redis
and the Shopify sandbox: a phone or email that does not identify exactly one Shopify customer
writes nothing and ends the job succeeded with a skip and its reason, by the lookup path and by
the catalogue snapshot's contact index alike, and is counted by outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from hookyard.base import keys
from hookyard.jobs import runtime
from hookyard.sync import catalog
from hookyard.sync.customers import AMBIGUOUS, CUSTOMER_EXPORT, PHONE_INDEX
from hookyard_sandbox.client import SandboxClient
from tests.support.nhanh_payloads import LOCATION, customer_body
from tests.support.platform_support import SHOPIFY_TOKEN, post_webhook

LAN, MINH, TWIN = "lan@example.vn", "minh@example.vn", "twin@example.vn"


@pytest.fixture
def shop(sandbox: SandboxClient) -> dict[str, Any]:
    """'acme': Lan (+84900000001), Minh (+84900000002), and two customers who share
    +84900000009 (written two ways), one of them with an email."""
    seed = {"id": "acme", "token": SHOPIFY_TOKEN, "plan": "standard",
            "locations": [{"id": LOCATION, "name": "Main"}], "products": [],
            "customers": [{"email": LAN, "phone": "+84900000001"},
                          {"email": MINH, "phone": "+84900000002"},
                          {"email": TWIN, "phone": "+84900000009"},
                          {"email": None, "phone": "+84 900 000 009"}]}
    return sandbox.create_shop(seed)


@pytest.fixture(params=["lookup", "snapshot"])
def path(request, settings, broker, live_redis, sandbox, shop) -> str:
    """Resolve by per-contact lookups, or from a loaded catalogue snapshot's contact index."""
    if request.param == "snapshot":
        sandbox.set_faults("acme", bulk_start_seconds=0)
        outcome = catalog.ensure_snapshot(runtime.current(), settings.shop_by_id("acme"),
                                          CUSTOMER_EXPORT)
        assert outcome == "completed"
    return str(request.param)


def totals(sandbox: SandboxClient) -> dict[str, list[str]]:
    return {c["email"] or c["phone"]: [m["value"] for m in c["metafields"]]
            for c in sandbox.customers("acme")}


def sync(client, wait_state: Callable[..., dict[str, Any]], people: list[dict[str, Any]], *,
         paused: Any = None) -> list[dict[str, Any]]:
    """Deliver ``people`` in one webhook and wait for their jobs; a ``paused`` worker resumes
    once they are all queued, so they run as one batch."""
    job_ids = post_webhook(client, customer_body(people)).json["jobs"]
    if paused is not None:
        paused.resume()
    return [wait_state(job_id, "succeeded", "superseded", "failed") for job_id in job_ids]


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("hookyard_sync_items_total",
                                     {"kind": "customer", "outcome": outcome}) or 0.0


def test_a_mobile_of_another_country_never_reaches_the_customer_with_the_same_last_digits(
        client, sandbox, worker, wait_state, path):
    before = counted("skipped_no_mapping")
    worker.pause()  # one batch, so Lan's own lookup answers her for the others too

    _lan, *records = sync(client, wait_state, [
        {"id": 10, "totalSpent": 100, "mobile": "0900000001"},
        {"id": 11, "totalSpent": 999, "mobile": "+1 (555) 900-000-001"},
        {"id": 12, "totalSpent": 998, "mobile": "44900000001"},
        {"id": 13, "totalSpent": 997, "mobile": "900000001"}], paused=worker)

    assert totals(sandbox)[LAN] == ["100"]
    assert [r["result"]["items"][0]["customer"] for r in records] == [None] * 3
    assert [r["state"] for r in records] == ["succeeded"] * 3
    assert [r["result"]["skipped"] for r in records] == ["no mapping"] * 3
    assert "no Shopify customer has phone +1555900000001" in records[0]["result"]["reason"]
    assert "'44900000001' cannot be read" in records[1]["result"]["reason"]
    assert records[1]["result"]["items"][0]["outcome"] == "skipped_no_mapping"
    assert counted("skipped_no_mapping") - before == 3


def test_a_vietnamese_national_mobile_matches_its_e164_customer(client, sandbox, worker,
                                                                wait_state, path):
    [record] = sync(client, wait_state, [{"id": 14, "totalSpent": 1500000,
                                          "mobile": "090 000 0001"}])

    assert record["state"] == "succeeded" and "skipped" not in record["result"]
    assert totals(sandbox)[LAN] == ["1500000"]


def test_a_phone_two_shopify_customers_share_is_ambiguous_and_writes_nothing(
        client, sandbox, worker, wait_state, path):
    before = counted("skipped_ambiguous_match")

    [national, international, with_email] = sync(client, wait_state, [
        {"id": 21, "totalSpent": 5, "mobile": "0900000009"},
        {"id": 22, "totalSpent": 6, "mobile": "+84 900 000 009"},
        {"id": 23, "totalSpent": 7, "mobile": "0900000009", "email": TWIN}])

    assert totals(sandbox)[TWIN] == [] and totals(sandbox)["+84 900 000 009"] == []
    for record in (national, international, with_email):
        assert record["state"] == "succeeded"
        assert record["result"]["skipped"] == "ambiguous match"
        assert "phone +84900000009 belongs to more than one" in record["result"]["reason"]
        assert record["result"]["items"][0]["customer"] is None
    assert counted("skipped_ambiguous_match") - before == 3
    if path == "snapshot":
        index = runtime.current().state.hget(keys.shopify_cache("acme", PHONE_INDEX),
                                             "+84900000009")
        assert index == AMBIGUOUS.encode()


def test_a_phone_and_an_email_of_different_customers_are_ambiguous(client, sandbox, worker,
                                                                   wait_state, path):
    [record] = sync(client, wait_state, [{"id": 31, "totalSpent": 8, "mobile": "0900000001",
                                          "email": MINH}])

    assert record["result"]["skipped"] == "ambiguous match"
    assert "belong to different Shopify customers" in record["result"]["reason"]
    assert totals(sandbox)[LAN] == [] and totals(sandbox)[MINH] == []


def test_an_email_matches_case_insensitively_and_otherwise_exactly(client, sandbox, worker,
                                                                   wait_state, path):
    records = sync(client, wait_state, [{"id": 41, "totalSpent": 9, "email": "LAN@Example.VN"},
                                        {"id": 42, "totalSpent": 10, "email": "an@example.vn"},
                                        {"id": 43, "totalSpent": 11, "email": "lan@example"}])

    assert totals(sandbox)[LAN] == ["9"]
    assert [r["result"].get("skipped") for r in records] == [None, "no mapping", "no mapping"]


def test_new_contact_details_of_a_known_nhanh_customer_are_matched_afresh(client, sandbox,
                                                                          shop, worker,
                                                                          wait_state):
    [first] = sync(client, wait_state, [{"id": 51, "totalSpent": 100, "mobile": "0900000001"}])
    [moved] = sync(client, wait_state, [{"id": 51, "totalSpent": 200, "mobile": "0900000002"}])
    [unknown] = sync(client, wait_state, [{"id": 51, "totalSpent": 300,
                                           "mobile": "0900000003"}])

    assert first["result"]["items"][0]["customer"] != moved["result"]["items"][0]["customer"]
    assert unknown["result"]["skipped"] == "no mapping"
    assert totals(sandbox)[LAN] == ["100"] and totals(sandbox)[MINH] == ["200"]


def test_an_ambiguous_contact_is_remembered_as_ambiguous_not_as_unknown(client, sandbox, shop,
                                                                        worker, wait_state):
    sync(client, wait_state, [{"id": 61, "totalSpent": 1, "mobile": "0900000009"}])
    calls = sandbox.stats("acme")["calls"]

    [again] = sync(client, wait_state, [{"id": 62, "totalSpent": 2, "mobile": "0900000009"}])

    assert again["result"]["skipped"] == "ambiguous match"
    assert sandbox.stats("acme")["calls"] == calls  # not looked up again within the TTL
    state = runtime.current().state
    assert state.zcard(keys.mapping_ambiguities("acme", "customer")) == 1
    assert state.zcard(keys.mapping_misses("acme", "customer")) == 0


def test_a_contact_index_of_the_last_9_digits_era_is_loaded_again_and_old_matches_dropped(
        settings, broker, live_redis, sandbox, shop):
    state = runtime.current().state
    state.hset(keys.catalog_snapshot("acme", "customer"),
               mapping={"completed_at_ms": catalog.now_ms(), "rows": 2})  # fresh, no version
    state.hset(keys.shopify_cache("acme", PHONE_INDEX), "900000001", "gid://shopify/Customer/1")
    state.hset(keys.shopify_cache("acme", "customer"), "12", "gid://shopify/Customer/1")
    sandbox.set_faults("acme", bulk_start_seconds=0)

    outcome = catalog.ensure_snapshot(runtime.current(), settings.shop_by_id("acme"),
                                      CUSTOMER_EXPORT)

    assert outcome == "completed"
    phones = {k.decode() for k in state.hkeys(keys.shopify_cache("acme", PHONE_INDEX))}
    assert phones == {"+84900000001", "+84900000002", "+84900000009"}
    assert state.exists(keys.shopify_cache("acme", "customer")) == 0
    assert catalog.read_snapshot(state, "acme", "customer").version == CUSTOMER_EXPORT.version
