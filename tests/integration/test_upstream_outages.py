"""Two kinds of failure, two policies: a job whose upstream (Shopify) is unavailable waits
without spending its attempts, visibly, until Shopify answers again or the outage limit; a job
that fails on its own retries and dies after its attempts as before."""

from __future__ import annotations

from dataclasses import replace

from hookyard.base import keys
from hookyard.base.errors import JobError, ShopifyError
from hookyard.jobs.failures import FAILED, RETRIED, WAITING, record_failure
from hookyard.jobs.records import NewJob
from hookyard.jobs.views import public_view
from tests.support.nhanh_payloads import LOCATION, inventory_body
from tests.support.platform_support import post_webhook


def levels(sandbox) -> dict[str, int]:
    return {row["sku"]: row["available"] for row in sandbox.inventory("acme")
            if row["locationId"] == LOCATION}


def test_a_shopify_outage_longer_than_the_retries_ends_in_success_not_dead(
        client, shop, sandbox, worker, wait_state, settings):
    attempts_allowed = settings.max_attempts()
    sandbox.set_faults("acme", fail_next=3 * attempts_allowed, fail_status=503)
    job_id = post_webhook(client, inventory_body(["SKU-1"], available=12)).json["jobs"][0]

    record = wait_state(job_id, "succeeded", "failed", timeout=60)

    assert record["state"] == "succeeded", record["error"]
    assert record["attempts"] <= attempts_allowed
    assert levels(sandbox)["SKU-1"] == 12


def test_a_waiting_job_says_for_what_and_since_when(jobs, settings, live_redis):
    job_id = start_a_job(jobs)
    record = jobs.get(job_id)
    first = record_failure(jobs, settings, record, record["rmid"],
                           ShopifyError("Shopify call for shop 'acme' answered HTTP 503"),
                           attempts=1, max_attempts=1)
    waiting = jobs.get(job_id)
    view = public_view(waiting)

    assert first == WAITING
    assert waiting["state"] == "retrying" and waiting["attempts"] == 0  # the attempt given back
    assert view["waiting"]["for"] == "shopify" and "503" in view["waiting"]["reason"]
    assert view["waiting"]["since"] and view["waiting"]["next_attempt_at"]


def test_the_wait_ends_dead_with_upstream_unavailable_after_the_outage_limit(
        jobs, settings, live_redis):
    brief = replace(settings, upstream_max_outage_seconds=1)
    job_id = start_a_job(jobs)
    record = jobs.get(job_id)
    assert record_failure(jobs, brief, record, record["rmid"], ShopifyError("503"),
                          attempts=1, max_attempts=3) == WAITING
    again = restart(jobs, job_id, waiting_since_ms_ago=2000)

    assert record_failure(jobs, brief, again, again["rmid"], ShopifyError("still 503"),
                          attempts=1, max_attempts=3) == FAILED
    dead = jobs.get(job_id)
    assert dead["state"] == "failed"
    assert dead["error"]["code"] == "upstream_unavailable"
    assert dead["error"]["last_error"]["message"] == "still 503"
    assert "POST /jobs/{id}/retry" in dead["error"]["message"]


def test_a_job_error_still_dies_after_its_attempts(jobs, settings, live_redis):
    job_id = start_a_job(jobs)
    outcomes = []
    for attempt in (1, 2, 3):
        record = jobs.get(job_id) if attempt == 1 else restart(jobs, job_id)
        outcomes.append(record_failure(jobs, settings, record, record["rmid"],
                                       JobError("the job's own failure"),
                                       attempts=attempt, max_attempts=3))
    assert outcomes == [RETRIED, RETRIED, FAILED]
    assert jobs.get(job_id)["error"]["code"] == "job_failed"


def test_a_job_error_after_a_wait_starts_the_next_outage_afresh(jobs, settings, live_redis):
    job_id = start_a_job(jobs)
    record = jobs.get(job_id)
    record_failure(jobs, settings, record, record["rmid"], ShopifyError("503"),
                   attempts=1, max_attempts=3)
    again = restart(jobs, job_id)
    assert record_failure(jobs, settings, again, again["rmid"], JobError("own"),
                          attempts=1, max_attempts=3) == RETRIED
    assert public_view(jobs.get(job_id))["waiting"] is None


# --- helpers: a job record in a given run, through the store's own transitions -----------------


def start_a_job(jobs) -> str:
    accepted = jobs.submit([NewJob(queue="inventory-sync", actor="sync_inventory_item",
                                   payload={}, shop="acme", entity="product:1")])
    job_id = accepted.job_ids[0]
    record = jobs.get(job_id)
    assert jobs.start(job_id, "inventory-sync", record["rmid"]).verdict == "run"
    return job_id


def restart(jobs, job_id: str, *, waiting_since_ms_ago: int | None = None) -> dict:
    """The job's delayed message runs: start its current message again."""
    record = jobs.get(job_id)
    if waiting_since_ms_ago is not None:
        jobs.state.hset(keys.job(job_id), "waiting_since",
                        str(int(record["waiting_since"]) - waiting_since_ms_ago))
    assert jobs.start(job_id, "inventory-sync", record["rmid"]).verdict == "run"
    return jobs.get(job_id)

