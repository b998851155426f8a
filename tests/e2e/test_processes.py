"""The stack as it runs in production: gunicorn ingest, worker processes, sandbox, Redis."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from hookyard.jobs.records import NewJob
from tests.support.nhanh_payloads import inventory_body

pytestmark = pytest.mark.e2e


def test_webhook_flows_through_gunicorn_and_a_worker_process_into_shopify(stack, shop,
                                                                          sandbox):
    stack.start_ingest()
    stack.start_worker("workers.inventory_sync")

    answer = stack.post(inventory_body(["SKU-1", "SKU-2"], available=11))
    assert answer.status_code == 200

    for job_id in answer.json()["jobs"]:
        job = stack.wait_job(job_id, "succeeded")
        assert job["attempts"] == 1 and job["finished_at"]
    available = {row["sku"]: row["available"] for row in sandbox.inventory("acme")
                 if row["locationId"].endswith("/1")}
    assert available["SKU-1"] == 11 and available["SKU-2"] == 11


def test_worker_killed_with_sigkill_mid_job_loses_nothing(stack, shop, sandbox):
    stack.start_ingest()
    victim = stack.start_worker("workers.inventory_sync")
    sandbox.set_faults("acme", latency_ms=3000)
    job_id = stack.post(inventory_body(["SKU-3"], available=9)).json()["jobs"][0]
    stack.wait_job(job_id, "running", timeout=20)

    victim.kill()
    sandbox.set_faults("acme", latency_ms=0)
    stack.start_worker("workers.inventory_sync")

    job = stack.wait_job(job_id, "succeeded", timeout=60)
    assert job["attempts"] == 2
    available = {row["sku"]: row["available"] for row in sandbox.inventory("acme")
                 if row["locationId"].endswith("/1")}
    assert available["SKU-3"] == 9


def test_poison_message_that_kills_its_worker_ends_dead_after_the_delivery_cap(stack):
    stack.start_ingest()
    job_id = stack.jobs.submit([NewJob(queue="customer-sync", actor="crash_the_worker",
                                       payload={}, shop="acme")]).job_ids[0]
    deadline = time.monotonic() + 90
    worker = stack.start_crashing_worker()
    while stack.job(job_id)["state"] != "failed":
        assert time.monotonic() < deadline, stack.job(job_id)
        if worker.process.poll() is not None:  # supervised: restarted when it exits
            worker = stack.start_crashing_worker()
        time.sleep(0.2)

    job = stack.job(job_id)
    assert job["error"]["code"] == "delivery_cap_exceeded"
    assert job["attempts"] == stack.settings.max_deliveries
    dead = requests.get(f"{stack.ingest_url}/queues/customer-sync/dead", timeout=5,
                        headers={"Authorization": "Bearer admin-secret"}).json()["jobs"]
    assert [j["id"] for j in dead] == [job_id]


def test_sigterm_lets_the_running_job_finish_then_exits_cleanly(stack, shop, sandbox):
    stack.start_ingest()
    worker = stack.start_worker("workers.inventory_sync")
    sandbox.set_faults("acme", latency_ms=1500)
    job_id = stack.post(inventory_body(["SKU-4"], available=4)).json()["jobs"][0]
    stack.wait_job(job_id, "running", timeout=20)

    worker.signal(signal.SIGTERM)
    assert worker.process.wait(timeout=30) == 0

    job = stack.job(job_id)
    assert job["state"] == "succeeded" and job["attempts"] == 1


def test_metrics_of_all_gunicorn_workers_and_queue_gauges_are_exported(stack, shop):
    stack.start_ingest()
    for available in range(6):
        assert stack.post(inventory_body(["SKU-0"], available=available)).status_code == 200

    text = requests.get(f"{stack.ingest_url}/metrics", timeout=5).text

    assert 'hookyard_webhooks_total{outcome="accepted",source="nhanh"} 6.0' in text
    assert 'hookyard_queue_waiting{queue="inventory-sync"} 6.0' in text
    assert 'hookyard_http_requests_total{method="POST",route="/webhooks/nhanh",status="200"} 6.0' \
        in text


def test_worker_exports_metrics_and_health(stack, shop):
    stack.start_ingest()
    worker = stack.start_worker("workers.inventory_sync")
    job_id = stack.post(inventory_body(["SKU-0"])).json()["jobs"][0]
    stack.wait_job(job_id, "succeeded")

    text = requests.get(f"{worker.metrics_url}/metrics", timeout=5).text
    assert 'hookyard_jobs_total{outcome="succeeded",queue="inventory-sync"} 1.0' in text
    assert "hookyard_job_duration_seconds_bucket" in text
    assert requests.get(f"{worker.metrics_url}/healthz", timeout=5).status_code == 200
