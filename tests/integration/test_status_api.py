"""The status API: bearer tokens, shop scopes, listing and queue statistics."""

from __future__ import annotations

from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import OTHER_SHOP_TOKEN, SHOP_TOKEN, auth, post_webhook


def test_status_api_without_or_with_a_bad_token_is_401(client):
    job_id = post_webhook(client, inventory_body(["SKU-0"])).json["jobs"][0]
    missing = client.simulate_get(f"/jobs/{job_id}")
    wrong = client.simulate_get(f"/jobs/{job_id}", headers=auth("not-a-token"))
    assert (missing.status_code, missing.json["error"]) == (401, "missing_token")
    assert (wrong.status_code, wrong.json["error"]) == (401, "invalid_token")


def test_a_shop_token_sees_its_jobs_and_foreign_or_unknown_ids_are_404(client):
    job_id = post_webhook(client, inventory_body(["SKU-0"])).json["jobs"][0]
    own = client.simulate_get(f"/jobs/{job_id}", headers=auth(SHOP_TOKEN))
    foreign = client.simulate_get(f"/jobs/{job_id}", headers=auth(OTHER_SHOP_TOKEN))
    unknown = client.simulate_get("/jobs/does-not-exist", headers=auth(SHOP_TOKEN))
    assert own.status_code == 200 and own.json["shop"] == "acme"
    assert foreign.status_code == 404 and unknown.status_code == 404
    assert foreign.json == {**unknown.json, "message": foreign.json["message"]}


def test_job_view_has_every_contract_field(client):
    job_id = post_webhook(client, inventory_body(["SKU-0"])).json["jobs"][0]
    job = client.simulate_get(f"/jobs/{job_id}", headers=auth()).json
    assert {"id", "queue", "actor", "state", "progress", "result", "error", "attempts",
            "max_attempts", "shop", "entity", "source_event", "created_at", "started_at",
            "finished_at"} <= set(job)
    assert set(job["progress"]) == {"percent", "message", "stage"}
    assert job["state"] == "queued" and job["created_at"].endswith("+00:00")


def test_operator_actions_need_an_admin_token(client):
    job_id = post_webhook(client, inventory_body(["SKU-0"])).json["jobs"][0]
    for path in (f"/jobs/{job_id}/cancel", f"/jobs/{job_id}/retry"):
        result = client.simulate_post(path, headers=auth(SHOP_TOKEN))
        assert result.status_code == 403 and result.json["error"] == "forbidden"
    assert client.simulate_get("/queues", headers=auth(SHOP_TOKEN)).status_code == 403


def test_listing_pages_through_every_job_newest_first_without_repeats(client):
    ids = []
    for available in range(7):
        ids += post_webhook(client, inventory_body(["SKU-0"], available=available)).json["jobs"]
    seen, cursor = [], None
    while True:
        params = {"queue": "inventory-sync", "limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = client.simulate_get("/jobs", params=params, headers=auth()).json
        seen += [job["id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


def test_listing_filters_by_state_and_shop_scope(client):
    post_webhook(client, inventory_body(["SKU-0"]))
    queued = client.simulate_get("/jobs", params={"state": "queued"}, headers=auth()).json
    scoped = client.simulate_get("/jobs", headers=auth(OTHER_SHOP_TOKEN)).json
    assert len(queued["jobs"]) == 1 and scoped["jobs"] == []


def test_bad_query_parameters_are_400(client):
    for params in ({"queue": "nope"}, {"state": "lost"}, {"limit": "0"}, {"cursor": "!!"}):
        result = client.simulate_get("/jobs", params=params, headers=auth())
        assert result.status_code == 400 and result.json["error"] == "bad_request", params


def test_queue_stats_count_waiting_jobs_and_report_health(client):
    post_webhook(client, inventory_body(["SKU-0", "SKU-1"]))
    queues = client.simulate_get("/queues", headers=auth()).json["queues"]
    inventory = queues["inventory-sync"]
    assert inventory["waiting"] == 2 and inventory["in_flight"] == 0
    assert inventory["dead"] == 0 and inventory["oldest_waiting_age_seconds"] >= 0
    assert inventory["healthy"] is False  # jobs wait and no worker consumes the queue
    assert queues["customer-sync"]["healthy"] is True


def test_readyz_reports_redis_and_healthz_the_process(client, live_redis):
    assert client.simulate_get("/readyz").status_code == 200
    live_redis.kill()
    try:
        assert client.simulate_get("/readyz").status_code == 503
        assert client.simulate_get("/healthz").status_code == 200
    finally:
        live_redis.start()
