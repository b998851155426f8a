"""``JobStore.submit`` writes one delivery in one script: records, indexes, entity versions,
pending batch, broker messages and wake-up tokens, with each index written once per delivery."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis

from hookyard.base import keys
from hookyard.jobs.audit import AuditLog
from hookyard.jobs.records import NewJob
from hookyard.jobs.store import JobStore

DEPOTS_PER_ITEM = 8


def delivery(items: int, *, shop: str = "acme", queue: str = "inventory-sync") -> list[NewJob]:
    source = {"source": "nhanh", "event": "inventoryChange", "body_sha256": "x" * 64}
    return [NewJob(queue=queue, actor="sync_inventory_item", shop=shop, entity=f"product:{i}",
                   payload={"item": {"id": str(i)}}, source_event=source,
                   batch_kind="inventory",
                   coalesce_fields=tuple(f"{i}@{d}" for d in range(DEPOTS_PER_ITEM)))
            for i in range(items)]


def test_the_largest_delivery_is_written_whole(jobs: JobStore) -> None:
    # 100 items x 8 depots: more arguments than the script passes to one command.
    new_jobs = delivery(100)

    accepted = jobs.submit(new_jobs, dedupe_key=keys.dedupe("test", "largest"))

    ids = [job.job_id for job in new_jobs]
    assert list(accepted.job_ids) == ids and not accepted.duplicate
    for index_key in (keys.all_jobs(), keys.jobs_by_queue("inventory-sync"),
                      keys.jobs_by_shop("acme"), keys.jobs_in_state("inventory-sync", "queued")):
        assert jobs.state.zcard(index_key) == 100
    versions = jobs.state.hgetall(keys.entity_versions("acme", "inventory"))
    assert len(versions) == 100 * DEPOTS_PER_ITEM
    assert set(versions.values()) == {str(accepted.seq).encode()}
    assert jobs.state.zrange(keys.pending_batch("acme", "inventory"), 0, -1) == \
        [i.encode() for i in sorted(ids)]
    # One message stands for the shop's 100 pending jobs: the first job's, the shop's turn.
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 1
    assert jobs.broker.hlen(keys.broker_messages("inventory-sync")) == 1
    assert jobs.broker.llen(keys.broker_wakeup("inventory-sync")) == 1
    first, record = jobs.get(ids[0]), jobs.get(ids[-1])
    assert first is not None and record is not None
    assert jobs.state.hget(keys.shop_turn("acme", "inventory"), "rmid").decode() == first["rmid"]
    assert jobs.broker.hget(keys.broker_messages("inventory-sync"), first["rmid"]) is not None
    assert record["state"] == "queued" and record["shop"] == "acme"
    assert record["entity"] == "product:99" and record["payload"] == {"item": {"id": "99"}}
    assert record["source_event"]["body_sha256"] == "x" * 64


def test_without_turns_every_job_of_the_delivery_gets_its_message(
        jobs: JobStore, settings) -> None:
    store = JobStore(replace(settings, shop_turns=False), state=jobs.state, broker=jobs.broker)
    store.submit(delivery(100), dedupe_key=keys.dedupe("test", "no-turns"))

    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 100
    assert jobs.broker.hlen(keys.broker_messages("inventory-sync")) == 100
    assert jobs.broker.llen(keys.broker_wakeup("inventory-sync")) == 64
    assert not jobs.state.exists(keys.shop_turn("acme", "inventory"))


def test_jobs_of_different_queues_or_shops_are_refused_before_anything_is_written(
        jobs: JobStore) -> None:
    mixed = delivery(1) + delivery(1, shop="other")

    with pytest.raises(ValueError, match="one delivery"):
        jobs.submit(mixed)

    assert jobs.state.zcard(keys.all_jobs()) == 0
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 0


def test_an_empty_delivery_is_refused(jobs: JobStore) -> None:
    with pytest.raises(ValueError):
        jobs.submit([])


def test_a_job_record_with_a_realistic_payload_is_stored_in_the_compact_encoding(
        jobs: JobStore) -> None:
    # An item with its depots and a full source event: values of a few hundred bytes, above
    # Redis' default 64-byte limit for the compact (listpack) hash encoding.
    new_job = delivery(1)[0]
    depots = {f"D{d}": {"available": 1000 + d, "remain": 1000 + d} for d in range(DEPOTS_PER_ITEM)}
    new_job = NewJob(queue=new_job.queue, actor=new_job.actor, shop=new_job.shop,
                     entity=new_job.entity, payload={"item": {"id": "1", "depots": depots}},
                     source_event={**new_job.source_event, "received_at": "2026-11-24T00:00Z"},
                     batch_kind=new_job.batch_kind, coalesce_fields=new_job.coalesce_fields)

    jobs.submit([new_job])

    record_key = keys.job(new_job.job_id)
    assert max(len(value) for value in jobs.state.hvals(record_key)) > 64
    assert jobs.state.object("encoding", record_key) in (b"listpack", b"ziplist")


def test_an_audited_submission_writes_its_entry_with_the_jobs_and_a_duplicate_writes_none(
        jobs: JobStore) -> None:
    log = AuditLog(jobs.state, retention_seconds=3600, max_entries=100)
    tail = log.script_args(who="ops-bot", action="deploy", request_id="req-1")
    new_jobs = delivery(2)

    accepted = jobs.submit(new_jobs, dedupe_key=keys.dedupe("test", "audited"), audit=tail)
    again = jobs.submit(delivery(2), dedupe_key=keys.dedupe("test", "audited"), audit=tail)

    assert again.duplicate and again.job_ids == accepted.job_ids
    [entry] = log.recent(limit=10)[0]
    assert (entry.who, entry.action, entry.job_id, entry.outcome, entry.shop,
            entry.request_id) == ("ops-bot", "deploy", new_jobs[0].job_id, "requested", "acme",
                                  "req-1")
    assert jobs.state.zcard(keys.all_jobs()) == 2


def test_a_refused_audit_append_writes_no_job(jobs: JobStore) -> None:
    jobs.state.set(keys.audit_log(), "not a stream")  # every append fails (WRONGTYPE)
    tail = AuditLog(jobs.state, retention_seconds=3600, max_entries=100).script_args(
        who="ops-bot", action="deploy")

    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        jobs.submit(delivery(3), audit=tail)

    assert jobs.state.zcard(keys.all_jobs()) == 0 and not jobs.state.get(keys.acceptance_seq())
    assert jobs.broker.llen(keys.broker_queue("inventory-sync")) == 0
