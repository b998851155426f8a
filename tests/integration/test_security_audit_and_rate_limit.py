"""Operator actions are audited (who, what, when, outcome) and readable at GET /audit; the status
API is rate limited per token, counted in Redis so every replica shares the budget."""

from __future__ import annotations

import dataclasses
import json
import re

import falcon.testing
import pytest

from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs.audit import AuditLog
from hookyard.jobs.store import JobStore
from ingest.app import create_app, ingest_job_store
from tests.support.bundle_support import json_bundle, theme_files
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import ADMIN_TOKEN, SHOP_TOKEN, auth, post_webhook


def queued_job(client: falcon.testing.TestClient, available: int = 1) -> str:
    return str(post_webhook(client, inventory_body(["SKU-0"], available=available)).json["jobs"][0])


def audit(client: falcon.testing.TestClient, **params: str) -> dict:
    result = client.simulate_get("/audit", params=params, headers=auth())
    assert result.status_code == 200, result.text
    return dict(result.json)


def test_cancel_and_retry_are_audited_with_who_what_outcome_and_when_newest_first(client):
    job_id = queued_job(client)

    cancelled = client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth())
    replayed = client.simulate_post(f"/jobs/{job_id}/retry", headers=auth())
    again = client.simulate_post(f"/jobs/{job_id}/retry", headers=auth())

    assert (cancelled.status_code, replayed.status_code, again.status_code) == (200, 202, 409)
    entries = audit(client)["entries"]
    assert [(e["who"], e["action"], e["job_id"], e["outcome"], e["error"])
            for e in entries] == [
        ("ops", "retry", job_id, "refused", "conflict"),
        ("ops", "retry", job_id, "replayed", ""),
        ("ops", "cancel", job_id, "cancelled", ""),
    ]
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", e["at"])
               for e in entries)
    assert entries[0]["request_id"] == again.headers["X-Request-Id"]


def test_refused_operator_actions_are_audited_too(client):
    job_id = queued_job(client)

    forbidden = client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth(SHOP_TOKEN))
    unknown = client.simulate_post("/jobs/no-such-job/retry", headers=auth())

    assert (forbidden.status_code, unknown.status_code) == (403, 404)
    outcomes = [(e["who"], e["action"], e["outcome"], e["error"])
                for e in audit(client)["entries"]]
    assert outcomes == [("ops", "retry", "refused", "not_found"),
                        ("acme-bot", "cancel", "refused", "forbidden")]


def test_requests_without_a_valid_token_leave_no_audit_entry(client, jobs):
    job_id = queued_job(client)
    client.simulate_post(f"/jobs/{job_id}/cancel")
    client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth("guess"))
    assert jobs.state.exists(keys.audit_log()) == 0


def test_accepted_deploys_are_audited_as_requested_with_their_job(client):
    answer = client.simulate_post("/deploys", body=json_bundle(theme_files(2)),
                                  headers={"Content-Type": "application/json",
                                           **auth(SHOP_TOKEN)})
    assert answer.status_code == 202, answer.text
    [entry] = audit(client)["entries"]
    assert (entry["who"], entry["action"], entry["job_id"], entry["outcome"], entry["shop"]) == (
        "acme-bot", "deploy", answer.json["job_id"], "requested", "acme")


def test_no_operator_action_happens_when_its_audit_entry_cannot_be_written(client, jobs):
    waiting = queued_job(client, available=1)
    cancelled = queued_job(client, available=2)
    assert client.simulate_post(f"/jobs/{cancelled}/cancel", headers=auth()).status_code == 200
    before = jobs.get(cancelled)
    # Every append to the audit log now fails (WRONGTYPE): the entry cannot be written.
    jobs.state.delete(keys.audit_log())
    jobs.state.set(keys.audit_log(), "not a stream")

    cancel = client.simulate_post(f"/jobs/{waiting}/cancel", headers=auth())
    replay = client.simulate_post(f"/jobs/{cancelled}/retry", headers=auth())
    deploy = client.simulate_post("/deploys", body=json_bundle(theme_files(3)),
                                  headers={"Content-Type": "application/json", **auth()})

    assert [a.json["error"] for a in (cancel, replay, deploy)] == ["unavailable"] * 3
    assert jobs.get(waiting)["state"] == "queued"
    assert {k: jobs.get(cancelled)[k] for k in ("state", "rmid", "attempts")} == {
        k: before[k] for k in ("state", "rmid", "attempts")}
    assert jobs.list_jobs(queue="deploy")[0] == []

    jobs.state.delete(keys.audit_log())
    assert client.simulate_post(f"/jobs/{waiting}/cancel", headers=auth()).status_code == 200
    [entry] = audit(client)["entries"]
    assert (entry["action"], entry["job_id"], entry["outcome"]) == ("cancel", waiting,
                                                                     "cancelled")


def deploy(client: falcon.testing.TestClient, token: str, body: bytes, *,
           content_type: str = "application/json", query: str = "") -> falcon.testing.Result:
    return client.simulate_post("/deploys", body=body, query_string=query,
                                headers={"Content-Type": content_type, **auth(token)})


def test_refused_deploys_are_audited_with_the_error_code_and_never_the_bundle(settings, jobs):
    # Attempts for a shop the token may act for count, refused or not: acme's third attempt is
    # the last one the limit lets in (the refusals for globex and an unknown shop do not count).
    three_attempts = dataclasses.replace(settings, deploy_rate_limit_per_minute=3)
    replica = falcon.testing.TestClient(create_app(three_attempts,
                                                   jobs=ingest_job_store(three_attempts)))
    secret_text = "<div>secret-section-content</div>"
    files = {**theme_files(3), "sections/hidden.liquid": secret_text}

    answers = [
        deploy(replica, SHOP_TOKEN, json_bundle(files, shop="globex")),
        deploy(replica, ADMIN_TOKEN, json_bundle(files, shop="no-such-shop")),
        deploy(replica, SHOP_TOKEN, b"PK-not-a-zip " + secret_text.encode(),
               content_type="application/zip", query="shop=acme&theme_name=Sale"),
        deploy(replica, SHOP_TOKEN, json_bundle({"README.md": secret_text})),
        deploy(replica, SHOP_TOKEN, json_bundle(files)),
        deploy(replica, SHOP_TOKEN, json_bundle(files)),
    ]

    assert [a.status_code for a in answers] == [403, 404, 400, 422, 202, 429]
    entries = audit(replica)["entries"]
    assert [(e["who"], e["action"], e["outcome"], e["error"], e["shop"], e["job_id"])
            for e in reversed(entries)] == [
        ("acme-bot", "deploy", "refused", "forbidden", "globex", ""),
        ("ops", "deploy", "refused", "unknown_shop", "no-such-shop", ""),
        ("acme-bot", "deploy", "refused", "invalid_bundle", "acme", ""),
        ("acme-bot", "deploy", "refused", "invalid_theme_layout", "acme", ""),
        ("acme-bot", "deploy", "requested", "", "acme", answers[4].json["job_id"]),
        ("acme-bot", "deploy", "refused", "rate_limited", "acme", ""),
    ]
    assert [e["request_id"] for e in reversed(entries)] == [
        a.headers["X-Request-Id"] for a in answers]
    stored = repr(jobs.state.xrange(keys.audit_log()))
    for secret in (secret_text, "secret-section-content", SHOP_TOKEN, ADMIN_TOKEN):
        assert secret not in stored


def replica_with_deploy_limit(settings: Settings, limit: int) -> falcon.testing.TestClient:
    limited = dataclasses.replace(settings, deploy_rate_limit_per_minute=limit)
    return falcon.testing.TestClient(create_app(limited, jobs=ingest_job_store(limited)))


def test_refused_deploys_count_against_the_shops_deploy_rate_limit(settings, jobs):
    replica = replica_with_deploy_limit(settings, 3)
    refused = [
        deploy(replica, SHOP_TOKEN, b"not a zip", content_type="application/zip",
               query="shop=acme&theme_name=X"),
        deploy(replica, SHOP_TOKEN, json_bundle({"README.md": "x"})),
        deploy(replica, SHOP_TOKEN, b"x", content_type="text/plain", query="shop=acme"),
    ]
    assert [a.status_code for a in refused] == [400, 422, 415]

    # The fourth attempt is over the limit: refused before its body is even read.
    valid = deploy(replica, SHOP_TOKEN, json_bundle(theme_files(3)))
    hostile = deploy(replica, SHOP_TOKEN, b"\x1f\x8b" + b"\x00" * 100,
                     content_type="application/gzip", query="shop=acme&theme_name=X")

    for answer in (valid, hostile):
        assert (answer.status_code, answer.json["error"]) == (429, "rate_limited")
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert "HOOKYARD_DEPLOY_RATE_LIMIT_PER_MINUTE" in answer.json["message"]
    assert jobs.list_jobs(queue="deploy")[0] == []
    assert deploy(replica, ADMIN_TOKEN, json_bundle(theme_files(3), shop="globex")
                  ).status_code == 202  # the limit is per shop


def test_refusals_for_a_shop_the_token_may_not_act_for_use_up_no_ones_budget(settings, jobs):
    replica = replica_with_deploy_limit(settings, 2)
    for _ in range(5):
        assert deploy(replica, SHOP_TOKEN, json_bundle(theme_files(3), shop="globex")
                      ).status_code == 403
        assert deploy(replica, ADMIN_TOKEN, b"x", content_type="application/zip",
                      query="shop=no-such-shop&theme_name=X").status_code == 404

    answers = [deploy(replica, ADMIN_TOKEN, json_bundle(theme_files(3), shop="globex"))
               for _ in range(2)]

    assert [a.status_code for a in answers] == [202, 202]
    assert jobs.state.keys("hy:ratelimit:deploy:*") == [keys.deploy_rate("globex").encode()]


def test_a_refused_deploy_is_audited_with_the_shop_its_request_named(client):
    answers = [
        deploy(client, SHOP_TOKEN, b"x", content_type="application/zip", query="shop=acme"),
        deploy(client, SHOP_TOKEN, b"x", content_type="text/plain", query="shop=acme"),
        deploy(client, SHOP_TOKEN, json.dumps({"shop": "acme"}).encode()),
        deploy(client, ADMIN_TOKEN, b"x", content_type="application/zip",
               query="shop=acme&theme_id=" + "1" * 40),
    ]

    assert [a.status_code for a in answers] == [422, 415, 422, 422]
    assert [(e["outcome"], e["error"], e["shop"]) for e in reversed(audit(client)["entries"])
            ] == [("refused", "validation_failed", "acme"),
                  ("refused", "unsupported_media_type", "acme"),
                  ("refused", "validation_failed", "acme"),
                  ("refused", "validation_failed", "acme")]


def test_deploys_without_a_valid_token_leave_no_audit_entry(client, jobs):
    body = json_bundle(theme_files(3))
    assert deploy(client, "guess", body).status_code == 401
    assert client.simulate_post("/deploys", body=body).status_code == 401
    assert jobs.state.exists(keys.audit_log()) == 0


def test_the_audit_log_needs_an_admin_token(client):
    assert client.simulate_get("/audit").status_code == 401
    assert client.simulate_get("/audit", headers=auth("nope")).status_code == 401
    shop = client.simulate_get("/audit", headers=auth(SHOP_TOKEN))
    assert (shop.status_code, shop.json["error"]) == (403, "forbidden")


def test_the_audit_log_pages_with_limit_and_cursor(client):
    job_ids = [queued_job(client, available=n) for n in range(5)]
    for job_id in job_ids:
        client.simulate_post(f"/jobs/{job_id}/cancel", headers=auth())

    seen, cursor = [], None
    while True:
        page = audit(client, limit="2", **({"cursor": cursor} if cursor else {}))
        assert len(page["entries"]) <= 2
        seen += [e["job_id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(job_ids))
    for params in ({"limit": "0"}, {"limit": "x"}, {"cursor": "not-a-cursor"}):
        bad = client.simulate_get("/audit", params=params, headers=auth())
        assert (bad.status_code, bad.json["error"]) == (400, "bad_request"), params


def test_the_audit_log_keeps_at_most_max_entries_and_nothing_past_its_retention(jobs: JobStore):
    log = AuditLog(jobs.state, retention_seconds=3600, max_entries=3)
    jobs.state.xadd(keys.audit_log(), {"who": "ops", "action": "cancel", "job_id": "ancient",
                                       "outcome": "cancelled"}, id="1000-0")
    assert log.recent(limit=10)[0] == []  # older than the retention: never returned

    for n in range(5):
        log.record(who="ops", action="cancel", job_id=f"job-{n}", outcome="cancelled")

    entries, cursor = log.recent(limit=10)
    assert [e.job_id for e in entries] == ["job-4", "job-3", "job-2"] and cursor is None
    assert jobs.state.xlen(keys.audit_log()) == 3
    assert 0 < jobs.state.pttl(keys.audit_log()) <= 3600 * 1000


def rate_limited_client(settings: Settings, limit: int) -> falcon.testing.TestClient:
    limited = dataclasses.replace(settings, api_rate_limit_per_minute=limit)
    return falcon.testing.TestClient(create_app(limited, jobs=ingest_job_store(limited)))


def test_the_status_api_is_rate_limited_per_token_with_retry_after(settings, jobs):
    replica = rate_limited_client(settings, 3)
    answers = [replica.simulate_get("/queues", headers=auth()) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json["error"] == "rate_limited" and "HOOKYARD_API_RATE_LIMIT" in \
        answers[-1].json["message"]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert ADMIN_TOKEN not in answers[-1].text
    # another token has its own budget
    assert replica.simulate_get("/jobs", headers=auth(SHOP_TOKEN)).status_code == 200


@pytest.mark.parametrize("path", ["/jobs", "/jobs/x", "/queues", "/queues/deploy/dead",
                                  "/audit"])
def test_every_status_endpoint_counts_against_the_budget_shared_by_all_replicas(
        settings, jobs, path):
    first, second = rate_limited_client(settings, 2), rate_limited_client(settings, 2)
    first.simulate_get(path, headers=auth())
    second.simulate_get(path, headers=auth())
    over = first.simulate_get(path, headers=auth())
    assert (over.status_code, over.json["error"]) == (429, "rate_limited")
    assert jobs.state.zcard(keys.api_rate("ops")) == 2


def test_operator_actions_count_against_the_budget(settings, jobs):
    replica = rate_limited_client(settings, 1)
    job_id = queued_job(replica)
    assert replica.simulate_post(f"/jobs/{job_id}/cancel", headers=auth()).status_code == 200
    over = replica.simulate_post(f"/jobs/{job_id}/retry", headers=auth())
    assert over.status_code == 429 and jobs.get(job_id)["state"] == "cancelled"
