"""The sweeper re-enqueues jobs whose message was lost or stranded, and trims old records."""

from __future__ import annotations

from hookyard.base import keys
from hookyard.jobs.records import now_ms
from hookyard.jobs.sweeper import Sweeper
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import post_webhook


def age(jobs, job_id, state, seconds):
    """Pretend the job entered ``state`` ``seconds`` ago."""
    then = now_ms() - seconds * 1000
    jobs.state.hset(keys.job(job_id), "updated_at", then)
    jobs.state.zadd(keys.jobs_in_state("inventory-sync", state), {job_id: then})


def test_a_queued_job_whose_message_vanished_is_re_enqueued_and_then_runs(client, jobs, shop,
                                                                          wait_state, worker):
    worker.pause()
    job_id = post_webhook(client, inventory_body(["SKU-1"], available=8)).json["jobs"][0]
    lost_rmid = jobs.get(job_id)["rmid"]
    jobs.broker.delete(keys.broker_queue("inventory-sync"),
                       keys.broker_messages("inventory-sync"))
    age(jobs, job_id, "queued", 60)

    report = Sweeper(jobs, owner="test").sweep_once()
    worker.resume()

    assert report.requeued == [job_id]
    record = wait_state(job_id, "succeeded")
    assert record["rmid"] != lost_rmid and record["attempts"] == 1


def test_a_retrying_job_whose_delayed_message_was_lost_is_re_enqueued(client, jobs, shop):
    job_id = post_webhook(client, inventory_body(["SKU-1"])).json["jobs"][0]
    jobs.state.hset(keys.job(job_id), "state", "retrying")
    jobs.state.zrem(keys.jobs_in_state("inventory-sync", "queued"), job_id)
    age(jobs, job_id, "retrying", 60)
    jobs.broker.flushdb()  # Redis was down when the retry would have been enqueued

    assert Sweeper(jobs, owner="test").sweep_once().requeued == [job_id]
    assert jobs.get(job_id)["state"] == "queued"
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 1


def test_a_job_whose_message_is_waiting_is_left_alone(client, jobs):
    job_id = post_webhook(client, inventory_body(["SKU-1"])).json["jobs"][0]
    age(jobs, job_id, "queued", 3600)
    assert Sweeper(jobs, owner="test").sweep_once().requeued == []


def test_a_delayed_message_stranded_in_a_live_worker_is_replaced(client, jobs):
    job_id = post_webhook(client, inventory_body(["SKU-1"])).json["jobs"][0]
    record = jobs.get(job_id)
    # A live worker fetched the retry's delayed message and then lost it (consumer restart).
    jobs.state.hset(keys.job(job_id), mapping={"state": "retrying",
                                               "retry_at": now_ms() - 120_000})
    jobs.state.zrem(keys.jobs_in_state("inventory-sync", "queued"), job_id)
    age(jobs, job_id, "retrying", 180)
    jobs.broker.hset(keys.broker_delay_messages("inventory-sync"), record["rmid"], b"{}")
    jobs.broker.delete(keys.broker_queue("inventory-sync"))
    jobs.broker.zadd(keys.broker_heartbeats(), {"live-worker": now_ms()})
    jobs.broker.sadd(keys.broker_acks("live-worker", "inventory-sync.DQ"), record["rmid"])

    assert Sweeper(jobs, owner="test").sweep_once().requeued == [job_id]
    assert jobs.get(job_id)["rmid"] != record["rmid"]


def test_only_one_sweeper_holds_the_lease(jobs):
    first, second = Sweeper(jobs, owner="a"), Sweeper(jobs, owner="b")
    assert first.hold_lease() and not second.hold_lease()
    assert first.hold_lease()  # renewal
    first.release_lease()
    assert second.hold_lease()


def test_old_succeeded_records_are_trimmed_and_active_ones_kept(client, jobs, shop, worker,
                                                               wait_state, settings):
    ids = post_webhook(client, inventory_body(["NOPE-1", "NOPE-2"])).json["jobs"]
    for job_id in ids:
        wait_state(job_id, "succeeded")
    old = now_ms() - (settings.succeeded_retention_seconds + 10) * 1000
    jobs.state.zadd(keys.jobs_in_state("inventory-sync", "succeeded"), {ids[0]: old})
    worker.pause()
    waiting = post_webhook(client, inventory_body(["NOPE-3"])).json["jobs"][0]
    age(jobs, waiting, "queued", 7200)

    report = Sweeper(jobs, owner="test").sweep_once()
    worker.resume()

    assert report.trimmed == 1
    assert jobs.get(ids[0]) is None and jobs.get(ids[1]) is not None
    assert jobs.get(waiting) is not None
    assert ids[0].encode() not in jobs.state.zrange(keys.all_jobs(), 0, -1)


def test_jobs_riding_on_their_shops_turn_are_left_alone(client, jobs):
    job_ids = post_webhook(client, inventory_body(["SKU-1", "SKU-2", "SKU-3"])).json["jobs"]
    for job_id in job_ids:
        age(jobs, job_id, "queued", 60)

    report = Sweeper(jobs, owner="test").sweep_once()

    assert report.requeued == [] and report.turns_passed == []  # the turn's message is listed
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 1


def test_a_shop_whose_turn_lapsed_with_its_message_gets_a_new_turn(client, jobs):
    job_ids = post_webhook(client, inventory_body(["SKU-1", "SKU-2"])).json["jobs"]
    jobs.broker.delete(keys.broker_queue("inventory-sync"), keys.broker_messages("inventory-sync"))
    jobs.state.delete(keys.shop_turn("acme", "inventory"))
    for job_id in job_ids:
        age(jobs, job_id, "queued", 60)
    jobs.state.hset(keys.job(job_ids[0]), "created_at", now_ms() - 60_000)

    report = Sweeper(jobs, owner="test").sweep_once()

    assert report.requeued == [] and report.turns_passed == ["acme/inventory"]
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 1
    turn = jobs.state.hget(keys.shop_turn("acme", "inventory"), "rmid").decode()
    assert turn == jobs.get(job_ids[0])["rmid"]
