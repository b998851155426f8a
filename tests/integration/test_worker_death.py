"""A job whose worker died under it runs again only after a backoff, without spending an attempt.

Found by the fault-injection run (tests/chaos): a dead worker's messages all come back together,
so a job redelivered at once ran next to the same poison job again and died with it each time,
until the delivery cap dead-lettered the innocent job too.
"""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.broker import MessageProxy
from dramatiq.message import Message
from dramatiq.middleware import SkipMessage

from hookyard.base import keys
from hookyard.jobs.lifecycle import JobLifecycle
from tests.support.nhanh_payloads import customer_body
from tests.support.platform_support import post_webhook


def _died_mid_run(client, jobs):
    """A customer job whose first run started (attempts 1) and never reported: its worker died
    and Dramatiq handed the same message back."""
    body = customer_body([{"id": "n-1", "totalSpent": 120000, "mobile": "0900000001"}])
    job_id = post_webhook(client, body).json["jobs"][0]
    record = jobs.get(job_id)
    assert jobs.start(job_id, "customer-sync", record["rmid"]).verdict == "run"
    data = jobs.broker.hget(keys.broker_messages("customer-sync"), record["rmid"])
    return job_id, MessageProxy(Message.decode(data))


def test_a_job_whose_worker_died_is_retried_after_a_backoff_not_run_at_once(client, shop,
                                                                           jobs, broker):
    job_id, message = _died_mid_run(client, jobs)

    assert jobs.start(job_id, "customer-sync", message.options["redis_message_id"]).verdict \
        == "suspect"
    with pytest.raises(SkipMessage):
        JobLifecycle(jobs.settings, jobs).before_process_message(broker, message)

    record = jobs.get(job_id)
    assert record["state"] == "retrying"
    assert record["attempts"] == 1, "the backoff must not spend an attempt"
    assert record["error"]["code"] == "worker_died"
    assert record["rmid"] != message.options["redis_message_id"]
    assert jobs.broker.hexists(keys.broker_delay_messages("customer-sync"), record["rmid"])


def test_a_job_whose_worker_died_then_succeeds_with_one_more_attempt(client, shop, sandbox,
                                                                     jobs, broker, wait_state):
    job_id, _ = _died_mid_run(client, jobs)
    worker = dramatiq.Worker(broker, queues={"customer-sync"}, worker_threads=2,
                             worker_timeout=50)
    worker.start()
    try:
        job = wait_state(job_id, "succeeded")
    finally:
        worker.stop(timeout=5000)

    assert job["attempts"] == 2
    metafields = {m["value"] for c in sandbox.customers("acme") for m in c["metafields"]}
    assert "120000" in metafields
