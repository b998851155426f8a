"""Theme deploys through the ingest app and a real deploy worker, against the sandbox."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import dramatiq
import falcon.testing
import pytest

from devstack.redis_server import RedisServer
from hookyard.base import keys
from hookyard.base.shops import ShopConfig
from hookyard.jobs.broker import HookyardBroker
from hookyard.themes.bundles import BundleFile
from hookyard.themes.deploys import DeployCheckpoint
from ingest.app import create_app, ingest_job_store
from tests.support.bundle_support import json_bundle, tar_gz_bundle, theme_files, zip_bundle
from tests.support.platform_support import OTHER_SHOP_TOKEN, SHOP_TOKEN, auth

ZIP = "application/zip"


@pytest.fixture
def deploy_worker(broker: HookyardBroker, live_redis: RedisServer
                  ) -> Iterator[Callable[..., dramatiq.Worker]]:
    """Starts a real Dramatiq worker on the deploy queue (threads of this process) on demand,
    so a test can look at its job while it is still queued."""
    started: list[dramatiq.Worker] = []

    def start(threads: int = 2) -> dramatiq.Worker:
        worker = dramatiq.Worker(broker, queues={"deploy"}, worker_threads=threads,
                                 worker_timeout=50)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10000)


def post_deploy(client: falcon.testing.TestClient, body: bytes, *, content_type: str = ZIP,
                query: str = "shop=acme&theme_name=Summer", token: str | None = None
                ) -> falcon.testing.Result:
    headers = {"Content-Type": content_type, **(auth(token) if token else auth())}
    path = "/deploys" if content_type == "application/json" else f"/deploys?{query}"
    return client.simulate_post(path, body=body, headers=headers)


def watch(client: falcon.testing.TestClient, job_id: str, until: set[str],
          timeout: float = 30) -> list[dict[str, Any]]:
    """Every distinct (state, progress) the status API showed until a state in ``until``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        job = client.simulate_get(f"/jobs/{job_id}", headers=auth()).json
        if not seen or (job["state"], job["progress"]) != (seen[-1]["state"],
                                                            seen[-1]["progress"]):
            seen.append(job)
        if job["state"] in until:
            return seen
        assert time.monotonic() < deadline, seen[-3:]
        time.sleep(0.02)


def theme_named(sandbox: Any, name: str) -> list[dict[str, Any]]:
    return [t for t in sandbox.themes("acme") if t["name"] == name]


def upserted_files(sandbox: Any) -> list[str]:
    return [f["filename"] for m in sandbox.mutations("acme")
            if m["mutation"] == "themeFilesUpsert" and m["outcome"] == "applied"
            for f in m["args"]["files"]]


def test_a_zip_deploy_answers_202_then_runs_queued_running_succeeded_with_rising_progress(
        client, shop, sandbox, deploy_worker, jobs):
    files = theme_files(130)
    answer = post_deploy(client, zip_bundle(files),
                         query="shop=acme&theme_name=Summer&settings="
                               + quote(json.dumps({"logo_width": 120})))

    assert answer.status_code == 202
    job_id = answer.json["job_id"]
    assert answer.headers["Location"] == f"/jobs/{job_id}"
    assert client.simulate_get(f"/jobs/{job_id}", headers=auth()).json["state"] == "queued"
    sandbox.set_faults("acme", latency_ms=150)
    deploy_worker()
    seen = watch(client, job_id, {"succeeded", "failed"})

    job = seen[-1]
    assert job["state"] == "succeeded", job
    running = [s["progress"]["percent"] for s in seen if s["state"] == "running"]
    assert len(running) >= 3 and running == sorted(running) and running[-1] > running[0]
    assert {s["progress"]["stage"] for s in seen} >= {"create_theme", "upload"}
    result = job["result"]
    [theme] = theme_named(sandbox, "Summer")
    assert result["theme_id"] == theme["id"] and result["theme_created"] is True
    assert result["files"] == 130 and result["batches"] == 3
    assert result["bytes"] > 0 and result["duration_seconds"] > 0
    assert result["preview_url"].startswith("https://acme.myshopify.com/?preview_theme_id=")
    assert theme["role"] == "UNPUBLISHED"
    for name, content in files.items():
        if name != "config/settings_data.json":
            assert theme["files"][name] == content
    settings_data = theme["files"]["config/settings_data.json"]
    current = json.loads(settings_data[settings_data.index("*/") + 2:])["current"]
    assert current == {"colors": {"accent": "#000"}, "logo_width": 120}
    assert not jobs.state.keys("hy:deploy:*")  # bundle and checkpoint are dropped once deployed


def test_a_json_deploy_writes_into_an_existing_theme_by_id(client, shop, sandbox, deploy_worker,
                                                          wait_state, jobs):
    seed = {**shop, "themes": [{"name": "Dawn", "role": "MAIN",
                                "files": {"layout/theme.liquid": "old"}}]}
    theme_id = sandbox.create_shop(seed)["themes"]["Dawn"]
    body = json_bundle({"layout/theme.liquid": "new", "assets/logo.png": {"base64": "iVBORw0K"}},
                       theme={"id": theme_id.rsplit("/", 1)[-1]}, settings={"a": {"b": 1}})
    answer = post_deploy(client, body, content_type="application/json", token=SHOP_TOKEN)
    assert answer.status_code == 202, answer.json
    deploy_worker()

    record = wait_state(answer.json["job_id"], "succeeded")

    assert record["result"]["theme_created"] is False
    [dawn] = sandbox.themes("acme")
    assert dawn["id"] == theme_id and dawn["files"]["layout/theme.liquid"] == "new"
    assert dawn["files"]["assets/logo.png"] == "iVBORw0K"
    assert json.loads(dawn["files"]["config/settings_data.json"]) == {"current": {"a": {"b": 1}}}
    assert not [m for m in sandbox.mutations("acme") if m["mutation"] == "themeCreate"]
    assert jobs.state.exists(keys.deploy_bundle(answer.json["job_id"])) == 0


def seeded_theme(sandbox: Any, shop: dict[str, Any], files: dict[str, str]) -> str:
    """A MAIN theme named Dawn with ``files``; returns its numeric id."""
    seed = {**shop, "themes": [{"name": "Dawn", "role": "MAIN", "files": files}]}
    return str(sandbox.create_shop(seed)["themes"]["Dawn"]).rsplit("/", 1)[-1]


def test_a_deploy_into_an_existing_theme_keeps_its_other_files_unless_asked(
        client, shop, sandbox, deploy_worker, wait_state):
    theme_id = seeded_theme(sandbox, shop, {"layout/theme.liquid": "old",
                                            "sections/retired.liquid": "old",
                                            "config/settings_schema.json": "[]"})
    deploy_worker()
    kept = post_deploy(client, json_bundle({"layout/theme.liquid": "new"},
                                           theme={"id": theme_id}),
                       content_type="application/json")
    assert kept.status_code == 202 and kept.json["delete_missing"] is False

    assert wait_state(kept.json["job_id"], "succeeded")["result"]["deleted"] == 0
    [dawn] = sandbox.themes("acme")
    assert "sections/retired.liquid" in dawn["files"]

    pruned = post_deploy(client, json_bundle({"layout/theme.liquid": "newer"},
                                             theme={"id": theme_id}, delete_missing=True),
                         content_type="application/json")
    assert pruned.status_code == 202 and pruned.json["delete_missing"] is True

    assert wait_state(pruned.json["job_id"], "succeeded")["result"]["deleted"] == 1
    [dawn] = sandbox.themes("acme")
    # The bundle's file, and the required files it did not carry, are what is left.
    assert set(dawn["files"]) == {"layout/theme.liquid", "config/settings_schema.json"}
    assert dawn["files"]["layout/theme.liquid"] == "newer"


def test_a_created_theme_ends_with_the_bundle_not_the_source_themes_leftovers(
        client, shop, sandbox, deploy_worker, wait_state):
    files = theme_files(6)
    answer = post_deploy(client, zip_bundle(files))  # a new theme: delete_missing by default
    assert answer.json["delete_missing"] is True
    deploy_worker()

    result = wait_state(answer.json["job_id"], "succeeded")["result"]

    [theme] = theme_named(sandbox, "Summer")
    # The source (skeleton) theme's other files are gone; a theme cannot lose its schema.
    assert set(theme["files"]) == set(files) | {"config/settings_schema.json"}
    assert result["deleted"] == 3
    deletes = [m for m in sandbox.mutations("acme") if m["mutation"] == "themeFilesDelete"]
    assert [m["outcome"] for m in deletes] == ["applied"]


def test_a_deploy_with_delete_missing_false_leaves_the_source_themes_files(
        client, shop, sandbox, deploy_worker, wait_state):
    answer = post_deploy(client, zip_bundle(theme_files(4)),
                         query="shop=acme&theme_name=Summer&delete_missing=false")
    deploy_worker()

    assert wait_state(answer.json["job_id"], "succeeded")["result"]["deleted"] == 0
    [theme] = theme_named(sandbox, "Summer")
    assert "locales/en.default.json" in theme["files"]


def test_a_tar_gz_deploy_is_accepted_like_a_zip(client, shop, sandbox, deploy_worker,
                                                wait_state):
    answer = post_deploy(client, tar_gz_bundle(theme_files(5)), content_type="application/gzip")
    assert answer.status_code == 202
    deploy_worker()
    assert wait_state(answer.json["job_id"], "succeeded")["result"]["files"] == 5


def test_a_deploy_to_a_theme_id_the_shop_does_not_have_fails_without_retrying(
        client, shop, deploy_worker, wait_state):
    answer = post_deploy(client, zip_bundle(theme_files(3)), query="shop=acme&theme_id=999")
    deploy_worker()
    record = wait_state(answer.json["job_id"], "failed")
    assert record["attempts"] == 1 and "does not exist" in record["error"]["message"]


def test_cancel_midway_stops_between_batches_and_ends_cancelled(client, shop, sandbox,
                                                                deploy_worker, wait_state):
    answer = post_deploy(client, zip_bundle(theme_files(300)))
    job_id = answer.json["job_id"]
    sandbox.set_faults("acme", latency_ms=300)
    deploy_worker()
    watch(client, job_id, {"running"})
    deadline = time.monotonic() + 20
    while client.simulate_get(f"/jobs/{job_id}", headers=auth()).json["progress"][
            "percent"] <= 10:
        assert time.monotonic() < deadline
        time.sleep(0.02)

    cancel = client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth())

    assert cancel.status_code == 202 and cancel.json["cancel_requested"] is True
    record = wait_state(job_id, "cancelled")
    assert record["error"]["code"] == "job_cancelled"
    assert record["progress"]["stage"] == "upload"
    uploaded = upserted_files(sandbox)
    assert 0 < len(uploaded) < 300 and len(uploaded) % 50 == 0


def test_a_theme_created_by_an_attempt_that_died_before_recording_it_is_reused(
        client, shop, sandbox, deploy_worker, wait_state, jobs):
    sandbox.create_shop({**shop, "themes": [{"name": "Summer", "role": "UNPUBLISHED"}]})
    answer = post_deploy(client, zip_bundle(theme_files(4)))
    job_id = answer.json["job_id"]
    # What a worker killed right after themeCreate leaves behind.
    DeployCheckpoint(jobs.state, job_id, 60).mark_create_started()
    deploy_worker()

    record = wait_state(job_id, "succeeded")

    [theme] = theme_named(sandbox, "Summer")
    assert record["result"]["theme_id"] == theme["id"]
    assert not [m for m in sandbox.mutations("acme") if m["mutation"] == "themeCreate"]


def test_files_a_previous_attempt_uploaded_are_not_uploaded_again(client, shop, sandbox,
                                                                  deploy_worker, wait_state,
                                                                  jobs):
    seed = {**shop, "themes": [{"name": "Dawn", "role": "UNPUBLISHED"}]}
    theme_id = sandbox.create_shop(seed)["themes"]["Dawn"]
    files = theme_files(120)
    answer = post_deploy(client, zip_bundle(files), query=f"shop=acme&theme_id={theme_id}")
    job_id = answer.json["job_id"]
    checkpoint = DeployCheckpoint(jobs.state, job_id, 60)
    checkpoint.record_theme(theme_id, created=False)
    first_batch = sorted(files)[:50]
    checkpoint.record_uploaded([BundleFile(n, files[n].encode()) for n in first_batch])
    deploy_worker()

    record = wait_state(job_id, "succeeded")

    assert record["result"]["skipped_already_uploaded"] == 50
    assert record["result"]["uploaded"] == 70
    assert not set(upserted_files(sandbox)) & set(first_batch)


def test_deploys_over_the_per_shop_rate_limit_answer_429_with_retry_after(client, settings, shop,
                                                                          jobs):
    bundle = zip_bundle(theme_files(3))
    limit = settings.deploy_rate_limit_per_minute
    for _ in range(limit):
        assert post_deploy(client, bundle).status_code == 202

    refused = post_deploy(client, bundle)

    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    listed, _ = jobs.list_jobs(queue="deploy", limit=100)
    assert len(listed) == limit
    other_shop = post_deploy(client, bundle, query="shop=globex&theme_name=X")
    assert other_shop.status_code == 202  # the limit is per shop


BAD_REQUESTS = {
    "path traversal": (dict(body=zip_bundle({**theme_files(3), "../x.liquid": "x"})),
                       400, "unsafe_path"),
    "absolute path": (dict(body=zip_bundle({**theme_files(3), "/etc/passwd": "x"})),
                      400, "unsafe_path"),
    "not an archive": (dict(body=b"hello"), 400, "invalid_bundle"),
    "tar with a symlink": (dict(body=tar_gz_bundle(theme_files(3),
                                                   links={"assets/x": "/etc/passwd"}),
                                content_type="application/gzip"), 400, "invalid_bundle"),
    "files outside theme folders": (dict(body=zip_bundle({**theme_files(3), "README.md": "x"})),
                                    422, "invalid_theme_layout"),
    "unknown shop": (dict(body=zip_bundle(theme_files(3)), query="shop=nope&theme_name=X"),
                     404, "unknown_shop"),
    "another shop's token": (dict(body=zip_bundle(theme_files(3)), token=OTHER_SHOP_TOKEN),
                             403, "forbidden"),
    "no theme": (dict(body=zip_bundle(theme_files(3)), query="shop=acme"),
                 422, "validation_failed"),
    "theme id and name": (dict(body=zip_bundle(theme_files(3)),
                               query="shop=acme&theme_id=1&theme_name=X"),
                          422, "validation_failed"),
    "settings not an object": (dict(body=zip_bundle(theme_files(3)),
                                    query="shop=acme&theme_name=X&settings=%5B1%5D"),
                               422, "validation_failed"),
    "not a bundle content type": (dict(body=b"x", content_type="text/plain"),
                                  415, "unsupported_media_type"),
    "json without files": (dict(body=json.dumps({"shop": "acme", "theme": {"name": "X"}}
                                                ).encode(), content_type="application/json"),
                           422, "validation_failed"),
    "json that is not json": (dict(body=b"{", content_type="application/json"),
                              400, "invalid_json"),
    "delete_missing not a boolean": (dict(body=json_bundle(theme_files(3), delete_missing="yes"),
                                          content_type="application/json"),
                                     422, "validation_failed"),
    "delete_missing query not a boolean": (dict(body=zip_bundle(theme_files(3)),
                                                query="shop=acme&theme_name=X&delete_missing=y"),
                                           422, "validation_failed"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
def test_a_bad_deploy_request_is_refused_as_json_and_creates_no_job(client, shop, jobs, case):
    kwargs, status, code = BAD_REQUESTS[case]

    answer = post_deploy(client, **kwargs)

    assert answer.status_code == status, answer.json
    assert answer.json["error"] == code and answer.json["message"]
    assert jobs.list_jobs(queue="deploy")[0] == []
    assert not jobs.state.keys("hy:deploy:*")


def test_a_deploy_without_a_token_is_401_and_creates_no_job(client, shop, jobs):
    answer = client.simulate_post("/deploys?shop=acme&theme_name=X", body=b"x",
                                  headers={"Content-Type": ZIP})
    assert answer.status_code == 401 and answer.json["error"] == "missing_token"
    assert jobs.list_jobs(queue="deploy")[0] == []


@pytest.mark.parametrize(("limit", "body", "what"), [
    ({"deploy_max_bundle_bytes": 2000}, b"x" * 2001, "HOOKYARD_DEPLOY_MAX_BUNDLE_BYTES"),
    ({"deploy_max_unpacked_bytes": 50_000}, zip_bundle({"assets/zeros.bin": b"\x00" * 60_000}),
     "HOOKYARD_DEPLOY_MAX_UNPACKED_BYTES"),
    ({"deploy_max_files": 20}, zip_bundle(theme_files(25)), "HOOKYARD_DEPLOY_MAX_FILES"),
], ids=["body", "unpacked", "files"])
def test_bundles_over_the_limits_are_413_and_create_no_job(settings, shop, jobs, limit, body,
                                                           what):
    small = dataclasses.replace(settings, **limit)
    client = falcon.testing.TestClient(create_app(small, jobs=ingest_job_store(small)))

    answer = post_deploy(client, body)

    assert answer.status_code == 413 and answer.json["error"] == "payload_too_large"
    assert what in answer.json["message"]
    assert jobs.list_jobs(queue="deploy")[0] == []
    assert not jobs.state.keys("hy:deploy:*")


def test_a_deploy_to_a_shop_with_a_custom_domain_goes_first(settings, shop, sandbox, jobs,
                                                            deploy_worker, wait_state):
    acme = settings.shop_by_id("acme")
    assert acme is not None
    globex = ShopConfig(id="globex", nhanh_business_id="2002",
                        shopify_domain="globex.myshopify.com",
                        access_token="shpat_globex_test", custom_domain="www.globex.vn")
    sandbox.create_shop({"id": "globex", "token": "shpat_globex_test", "plan": "standard",
                         "domain": "globex.myshopify.com"})
    with_domain = dataclasses.replace(settings, shops=(acme, globex))
    client = falcon.testing.TestClient(create_app(with_domain, jobs=ingest_job_store(with_domain)))
    bundle = zip_bundle(theme_files(3))
    normal = [post_deploy(client, bundle).json["job_id"] for _ in range(3)]
    first = post_deploy(client, bundle, query="shop=globex&theme_name=X").json["job_id"]

    head = jobs.broker.lindex(keys.broker_queue("deploy"), 0).decode()
    assert head == jobs.get(first)["rmid"]
    assert jobs.get(first)["actor"] == "deploy_theme_priority"
    assert {jobs.get(j)["actor"] for j in normal} == {"deploy_theme"}
    deploy_worker(threads=1)
    started = {j: wait_state(j, "succeeded", timeout=30)["started_at"] for j in [first, *normal]}
    assert started[first] < min(started[j] for j in normal)


@contextlib.contextmanager
def redis_paused(live_redis: RedisServer, seconds: float) -> Iterator[None]:
    """Redis stops answering (SIGSTOP) and resumes by itself after ``seconds``."""
    live_redis.process.send_signal(signal.SIGSTOP)
    resume = threading.Timer(seconds, live_redis.process.send_signal, args=[signal.SIGCONT])
    resume.start()
    try:
        yield
    finally:
        resume.join()


def test_a_bundle_write_slower_than_the_webhook_timeout_is_still_accepted(client, shop, jobs,
                                                                         live_redis, settings):
    pause = 1.0
    assert settings.ingest_redis_timeout_seconds < pause < settings.deploy_redis_timeout_seconds
    with redis_paused(live_redis, pause):
        answer = post_deploy(client, zip_bundle(theme_files(8)))

    assert answer.status_code == 202, answer.text
    job_id = answer.json["job_id"]
    assert jobs.get(job_id)["state"] == "queued"
    assert jobs.state.exists(keys.deploy_bundle(job_id))


def test_a_deploy_slower_than_the_deploy_redis_timeout_answers_503(settings, shop, live_redis):
    impatient = dataclasses.replace(settings, deploy_redis_timeout_seconds=0.3)
    client = falcon.testing.TestClient(create_app(impatient, jobs=ingest_job_store(impatient)))
    with redis_paused(live_redis, 1.0):
        answer = post_deploy(client, zip_bundle(theme_files(8)))

    assert (answer.status_code, answer.json["error"]) == (503, "unavailable")
    assert "Retry-After" in answer.headers


def test_a_deploy_that_meets_a_shopify_outage_waits_and_resumes_where_it_stopped(
        client, shop, sandbox, deploy_worker, wait_state, settings):
    seed = {**shop, "themes": [{"name": "Dawn", "role": "UNPUBLISHED"}]}
    theme_id = sandbox.create_shop(seed)["themes"]["Dawn"]
    files = theme_files(160)
    sandbox.set_faults("acme", latency_ms=200)  # four upsert batches, slow enough to interrupt
    job_id = post_deploy(client, zip_bundle(files),
                         query=f"shop=acme&theme_id={theme_id}").json["job_id"]
    deploy_worker()
    watch(client, job_id, until={"running"})
    deadline = time.monotonic() + 30
    while not upserted_files(sandbox):
        assert time.monotonic() < deadline, "no batch was uploaded"
        time.sleep(0.02)
    sandbox.set_faults("acme", latency_ms=0, fail_next=3 * settings.max_attempts(),
                       fail_status=503)

    record = wait_state(job_id, "succeeded", "failed", timeout=60)

    assert record["state"] == "succeeded", record["error"]
    assert record["attempts"] <= settings.max_attempts()  # the outage spent none
    assert record["result"]["skipped_already_uploaded"] >= 50
    uploaded = upserted_files(sandbox)
    assert sorted(set(uploaded)) == sorted(files) and len(uploaded) == len(files)
