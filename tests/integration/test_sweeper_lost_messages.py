"""A queued job whose message a live worker fetched and then lost from memory is re-enqueued
within a few heartbeats, not after ``HOOKYARD_STRANDED_AFTER_SECONDS``, because every worker
publishes which messages it actually holds; a message a busy worker merely holds is left alone.

Real Redis, a real Dramatiq worker (threads of this process, on the session's broker) and its
real presence beats; the test drives beats and sweeps itself instead of waiting for them.
"""

from __future__ import annotations

import json

import dramatiq
import pytest

from hookyard.base import keys
from hookyard.jobs.broker import HookyardBroker
from hookyard.jobs.presence import WorkerPresence
from hookyard.jobs.records import now_ms
from hookyard.jobs.store import JobStore
from hookyard.jobs.sweeper import LOST_AFTER_SNAPSHOTS, Sweeper
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import post_webhook

QUEUE = "inventory-sync"


@pytest.fixture
def presence(jobs: JobStore, broker: HookyardBroker) -> WorkerPresence:
    """The presence of the worker process this test runs in (heartbeat + holdings)."""
    return WorkerPresence(jobs, broker_id=broker.broker_id, queue=QUEUE, held=broker.held)


def make_old(jobs: JobStore, job_id: str, seconds: int = 60) -> None:
    """Pretend the job was queued ``seconds`` ago (past the sweep grace)."""
    then = now_ms() - seconds * 1000
    jobs.state.hset(keys.job(job_id), "updated_at", then)
    jobs.state.zadd(keys.jobs_in_state(QUEUE, "queued"), {job_id: then})


def sweeps_until_requeued(sweeper: Sweeper, presence: WorkerPresence, passes: int) -> int | None:
    """Beat, then sweep, ``passes`` times; the pass (1-based) that re-enqueued something."""
    for n in range(1, passes + 1):
        presence.beat()
        if sweeper.sweep_once().requeued:
            return n
    return None


def test_a_queued_message_a_live_worker_fetched_and_lost_is_re_enqueued_within_heartbeats(
        client, jobs, shop, worker: dramatiq.Worker, broker: HookyardBroker,
        presence: WorkerPresence, wait_state, settings):
    assert settings.stranded_after_seconds >= 900  # the time-based rule cannot be what acts
    worker.pause()
    job_id = post_webhook(client, inventory_body(["SKU-1"], available=8)).json["jobs"][0]
    lost_rmid = jobs.get(job_id)["rmid"]
    # The fetch of a live worker whose reply never arrived (a Redis blip mid-fetch): Redis moved
    # the message into this process's ack set, the process never saw it.
    assert broker.do_fetch(QUEUE, 1)
    worker.resume()
    assert jobs.broker.sismember(keys.broker_acks(broker.broker_id, QUEUE), lost_rmid)
    assert lost_rmid not in broker.held.snapshot()
    make_old(jobs, job_id)

    requeued_at = sweeps_until_requeued(Sweeper(jobs, owner="test"), presence,
                                        passes=LOST_AFTER_SNAPSHOTS + 3)

    assert requeued_at == LOST_AFTER_SNAPSHOTS + 1  # first sighting, then that many beats
    record = wait_state(job_id, "succeeded")
    assert record["rmid"] != lost_rmid and record["attempts"] == 1


def test_a_queued_message_a_busy_live_worker_holds_is_left_alone(
        client, jobs, shop, worker: dramatiq.Worker, broker: HookyardBroker,
        presence: WorkerPresence, wait_state):
    for thread in worker.workers:  # threads busy elsewhere: fetched messages wait in memory
        thread.pause()
    for thread in worker.workers:
        thread.paused_event.wait()
    job_id = post_webhook(client, inventory_body(["SKU-2"], available=3)).json["jobs"][0]
    rmid = jobs.get(job_id)["rmid"]
    presence.beat()
    deadline = now_ms() + 5000
    while rmid not in broker.held.snapshot():  # the consumer fetches it into the work queue
        assert now_ms() < deadline, "the worker never fetched the message"
        presence.beat()
    make_old(jobs, job_id)
    published = json.loads(jobs.state.get(keys.worker_holdings(broker.broker_id)))

    requeued_at = sweeps_until_requeued(Sweeper(jobs, owner="test"), presence,
                                        passes=LOST_AFTER_SNAPSHOTS + 3)
    for thread in worker.workers:
        thread.resume()

    assert requeued_at is None
    assert rmid in published["ids"]
    record = wait_state(job_id, "succeeded")
    assert record["rmid"] == rmid and record["attempts"] == 1


def test_a_live_worker_that_publishes_no_holdings_is_judged_by_time_only(client, jobs):
    """A worker of an older version (mid-rollout) says nothing about what it holds: its
    fetched messages wait for HOOKYARD_STRANDED_AFTER_SECONDS as before."""
    job_id = post_webhook(client, inventory_body(["SKU-3"])).json["jobs"][0]
    rmid = jobs.get(job_id)["rmid"]
    jobs.broker.lrem(keys.broker_queue(QUEUE), 0, rmid)
    jobs.broker.zadd(keys.broker_heartbeats(), {"old-worker": now_ms()})
    jobs.broker.sadd(keys.broker_acks("old-worker", QUEUE), rmid)
    make_old(jobs, job_id)
    sweeper = Sweeper(jobs, owner="test")

    for _ in range(LOST_AFTER_SNAPSHOTS + 3):
        jobs.broker.zadd(keys.broker_heartbeats(), {"old-worker": now_ms()})
        assert sweeper.sweep_once().requeued == []
    assert jobs.get(job_id)["rmid"] == rmid
