"""Theme deploys as they run in production: gunicorn ingest, `python -m workers.deploy`, the
sandbox and Redis; a deploy past its time limit, and a deploy worker killed mid-upload."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.support.bundle_support import theme_files, zip_bundle
from tests.support.platform_support import ADMIN_TOKEN

pytestmark = pytest.mark.e2e


def post_deploy(stack: Any, body: bytes, *, query: str = "shop=acme&theme_name=Summer"
                ) -> requests.Response:
    return requests.post(f"{stack.ingest_url}/deploys?{query}", data=body, timeout=30,
                         headers={"Content-Type": "application/zip",
                                  "Authorization": f"Bearer {ADMIN_TOKEN}"})


def wait_progress(stack: Any, job_id: str, percent: float, timeout: float = 30
                  ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = stack.job(job_id)
        if job["state"] == "running" and job["progress"]["percent"] >= percent:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def upserted_files(sandbox: Any) -> list[str]:
    return [f["filename"] for m in sandbox.mutations("acme")
            if m["mutation"] == "themeFilesUpsert" and m["outcome"] == "applied"
            for f in m["args"]["files"]]


def test_a_deploy_goes_through_gunicorn_and_the_deploy_worker_with_rising_progress(
        stack, shop, sandbox):
    stack.start_ingest()
    files = theme_files(160)
    answer = post_deploy(stack, zip_bundle(files))
    assert answer.status_code == 202
    job_id = answer.json()["job_id"]
    assert answer.headers["Location"] == f"/jobs/{job_id}"
    assert stack.job(job_id)["state"] == "queued"
    sandbox.set_faults("acme", latency_ms=200)

    stack.start_worker("workers.deploy")
    percents: list[float] = []
    deadline = time.monotonic() + 60
    while (job := stack.job(job_id))["state"] not in ("succeeded", "failed"):
        if job["state"] == "running":
            percents.append(job["progress"]["percent"])
        assert time.monotonic() < deadline, job
        time.sleep(0.05)

    assert job["state"] == "succeeded", job
    assert percents == sorted(percents) and len(set(percents)) >= 3
    assert job["result"]["files"] == 160 and job["result"]["batches"] == 4
    [theme] = [t for t in sandbox.themes("acme") if t["name"] == "Summer"]
    assert theme["files"]["sections/section-0000.liquid"] == files["sections/section-0000.liquid"]


def test_a_deploy_past_the_deploy_time_limit_fails_as_time_limit_exceeded(make_stack, shop,
                                                                         sandbox):
    stack = make_stack(HOOKYARD_DEPLOY_TIME_LIMIT_SECONDS="2",
                       HOOKYARD_SHOPIFY_MAX_THROTTLE_WAIT_SECONDS="1")
    stack.start_ingest()
    stack.start_worker("workers.deploy")
    sandbox.set_faults("acme", latency_ms=400)
    job_id = post_deploy(stack, zip_bundle(theme_files(400))).json()["job_id"]

    job = stack.wait_job(job_id, "failed", "succeeded", timeout=30)

    assert job["state"] == "failed", job
    assert job["error"]["code"] == "time_limit_exceeded"
    assert job["attempts"] == 1  # interrupted, not retried: it would only time out again
    assert job["progress"]["stage"] == "upload" and job["progress"]["percent"] < 95
    started = datetime.fromisoformat(job["started_at"])
    assert (datetime.fromisoformat(job["finished_at"]) - started).total_seconds() < 5


def test_a_deploy_worker_killed_mid_upload_resumes_without_a_second_theme_or_duplicate_files(
        stack, shop, sandbox):
    stack.start_ingest()
    victim = stack.start_worker("workers.deploy")
    files = theme_files(250)
    sandbox.set_faults("acme", latency_ms=300)
    job_id = post_deploy(stack, zip_bundle(files)).json()["job_id"]
    wait_progress(stack, job_id, 40)  # at least two of five batches are in

    victim.kill()
    sandbox.set_faults("acme", latency_ms=0)
    stack.start_worker("workers.deploy")
    job = stack.wait_job(job_id, "succeeded", "failed", timeout=60)

    assert job["state"] == "succeeded", job
    assert job["attempts"] == 2
    assert job["result"]["skipped_already_uploaded"] >= 100
    themes = [t for t in sandbox.themes("acme") if t["name"] == "Summer"]
    assert len(themes) == 1 and set(files) <= set(themes[0]["files"])
    creates = [m for m in sandbox.mutations("acme") if m["mutation"] == "themeCreate"]
    assert len(creates) == 1
    uploaded = upserted_files(sandbox)
    assert set(uploaded) == set(files)
    assert len(uploaded) <= len(files) + 50  # at most the batch in flight went twice
