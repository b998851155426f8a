"""Message copies a live worker holds but can never run are deleted by the sweeper.

Found by the fault-injection run (tests/chaos): a Redis SIGKILL or pause in the middle of a
fetch left copies of already-finished jobs in a live worker's ack set and in the queue's message
hash for as long as the worker lived (reported as in flight, never cleaned).
"""

from __future__ import annotations

from dramatiq.message import Message

from hookyard.base import keys
from hookyard.jobs.records import now_ms
from hookyard.jobs.sweeper import Sweeper
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import post_webhook

QUEUE = "inventory-sync"


def held_by_a_live_worker(jobs, job_id, *, rmid, age_seconds=60):
    """Put a copy of the job's message in a live worker's ack set, fetched ``age_seconds`` ago."""
    record = jobs.get(job_id)
    message = Message.decode(jobs.message_for(record).data)
    message = message.copy(options={**message.options, "redis_message_id": rmid},
                           message_timestamp=now_ms() - age_seconds * 1000)
    jobs.broker.zadd(keys.broker_heartbeats(), {"live-worker": now_ms()})
    jobs.broker.hset(keys.broker_messages(QUEUE), rmid, message.encode())
    jobs.broker.sadd(keys.broker_acks("live-worker", QUEUE), rmid)


def test_a_held_copy_of_a_finished_job_is_deleted(client, jobs, shop, worker, wait_state):
    job_id = post_webhook(client, inventory_body(["SKU-1"], available=8)).json["jobs"][0]
    wait_state(job_id, "succeeded")
    held_by_a_live_worker(jobs, job_id, rmid="dead-copy")

    report = Sweeper(jobs, owner="test").sweep_once()

    assert report.dropped == 1
    assert not jobs.broker.hexists(keys.broker_messages(QUEUE), "dead-copy")
    assert not jobs.broker.sismember(keys.broker_acks("live-worker", QUEUE), "dead-copy")


def test_the_current_message_of_a_running_job_is_kept(client, jobs, shop):
    job_id = post_webhook(client, inventory_body(["SKU-2"], available=3)).json["jobs"][0]
    rmid = jobs.get(job_id)["rmid"]
    assert jobs.start(job_id, QUEUE, rmid).verdict == "run"
    held_by_a_live_worker(jobs, job_id, rmid=rmid)

    report = Sweeper(jobs, owner="test").sweep_once()

    assert report.dropped == 0
    assert jobs.broker.sismember(keys.broker_acks("live-worker", QUEUE), rmid)
