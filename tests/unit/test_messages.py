"""Ingest encodes broker messages without building a ``dramatiq.Message``: they must still be
exactly what Dramatiq's consumer decodes."""

from __future__ import annotations

from dramatiq.message import Message

from hookyard.jobs.messages import encode_job_message


def test_an_encoded_job_message_decodes_as_the_dramatiq_message_that_runs_the_job() -> None:
    encoded = encode_job_message(job_id="job-1", queue="inventory-sync",
                                 actor="sync_inventory_item", time_limit_ms=60_000)

    message = Message.decode(encoded.data)

    assert (message.queue_name, message.actor_name) == ("inventory-sync", "sync_inventory_item")
    assert message.args == ("job-1",) and message.kwargs == {}
    assert message.message_id == "job-1"
    assert message.options == {"redis_message_id": encoded.redis_message_id,
                               "time_limit": 60_000}
    assert message.message_timestamp > 0
    assert Message.decode(message.encode()) == message


def test_a_delayed_job_message_goes_to_the_delay_queue_with_its_eta() -> None:
    encoded = encode_job_message(job_id="job-2", queue="customer-sync", actor="sync_customer",
                                 time_limit_ms=1_000, eta_ms=123_456)

    message = Message.decode(encoded.data)

    assert message.queue_name == "customer-sync.DQ"
    assert message.options["eta"] == 123_456


def test_every_enqueued_copy_gets_its_own_redis_message_id() -> None:
    first, second = (encode_job_message(job_id="job-3", queue="q", actor="a", time_limit_ms=1)
                     for _ in range(2))

    assert first.redis_message_id != second.redis_message_id
