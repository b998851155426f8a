"""The worker's consumer (``WakeableConsumer``): acks batched with fetches, never lost."""

from __future__ import annotations

import time

import redis

from devstack.redis_server import RedisServer
from hookyard.base import keys
from hookyard.jobs.broker import HookyardBroker
from hookyard.jobs.consumer import WakeableConsumer
from hookyard.jobs.records import NewJob
from hookyard.jobs.store import JobStore

QUEUE = "customer-sync"


def submit(jobs: JobStore, count: int) -> list[str]:
    accepted = jobs.submit([NewJob(queue=QUEUE, actor="sync_customer", payload={"n": n},
                                   shop="acme") for n in range(count)])
    return list(accepted.job_ids)


def unacked(live_redis: RedisServer) -> int:
    client = redis.Redis(port=live_redis.port, db=0)
    return sum(int(client.scard(key)) for key in client.scan_iter(
        f"{keys.broker_acks_prefix()}*"))


def test_acks_of_a_busy_consumer_go_out_with_its_next_fetch(
        broker: HookyardBroker, jobs: JobStore, live_redis: RedisServer) -> None:
    submit(jobs, 12)
    consumer = broker.consume(QUEUE, prefetch=8, timeout=50)
    assert isinstance(consumer, WakeableConsumer)
    first = [next(consumer) for _ in range(8)]
    assert unacked(live_redis) == 8
    for message in first[:2]:
        consumer.ack(message)
    assert unacked(live_redis) == 8  # held: the consumer is busy, and 2 < refill_at slots

    consumer.ack(first[2])
    rest = [next(consumer) for _ in range(3)]  # the fetch carries the three acks
    assert all(message is not None for message in rest)
    assert unacked(live_redis) == 8

    for message in [*first[3:], *rest]:
        consumer.ack(message)
    consumer.close()  # pending acks are sent when the consumer closes
    assert unacked(live_redis) == 0
    assert redis.Redis(port=live_redis.port, db=0).hlen(keys.broker_messages(QUEUE)) == 1


def test_a_parked_consumer_acks_at_once(broker: HookyardBroker, jobs: JobStore,
                                        live_redis: RedisServer) -> None:
    submit(jobs, 1)
    consumer = broker.consume(QUEUE, prefetch=8, timeout=50)
    message = next(consumer)
    assert message is not None
    assert next(consumer) is None  # nothing left: it parked on the wake-up list and came back
    consumer._parked = True  # as while it blocks on the wake-up list
    consumer.ack(message)
    assert unacked(live_redis) == 0
    assert redis.Redis(port=live_redis.port, db=0).hlen(keys.broker_messages(QUEUE)) == 0
    consumer._parked = False
    consumer.close()


def test_a_worker_leaves_no_message_unacknowledged_after_a_burst(
        worker: object, jobs: JobStore, live_redis: RedisServer) -> None:
    job_ids = submit(jobs, 40)
    deadline = time.monotonic() + 30
    broker_db = redis.Redis(port=live_redis.port, db=0)
    while time.monotonic() < deadline:
        states = {str((jobs.get(job_id) or {}).get("state")) for job_id in job_ids}
        if (states <= {"succeeded", "failed", "superseded"}
                and broker_db.hlen(keys.broker_messages(QUEUE)) == 0
                and unacked(live_redis) == 0):
            return
        time.sleep(0.05)
    raise AssertionError(f"states {states}, messages "
                         f"{broker_db.hlen(keys.broker_messages(QUEUE))}, "
                         f"unacked {unacked(live_redis)}")
