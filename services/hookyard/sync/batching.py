"""Batched, coalesced sync writes: one job writes every waiting job of its shop in one go.

Shopify's budget is per shop and a write costs the same for 1 or 250 quantities, so writing
items one call each caps a Standard shop at about 10 items/s. Instead, the job that runs first
for a shop takes the shop's batch lock, claims the shop's other waiting jobs of the same kind
(``lua/claim.lua``: they become *running* under the batch and their own messages turn stale),
and hands them all to the kind's ``apply`` step, which coalesces them (the highest acceptance
sequence number per field wins, and an older value never overwrites a newer one already
applied) and writes the survivors in as few calls as Shopify allows. Then every claimed job
gets its own outcome. While the lock is held no other write of that kind happens for the shop,
which is what makes "newest wins" hold across replicas.

If the batch's write fails, claimed jobs are retried (or fail) on their own, like the job that
led the batch; if its worker dies, the sweeper re-enqueues them (running, no message).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from hookyard.base import keys, metrics
from hookyard.base.errors import JobError
from hookyard.base.shops import ShopConfig
from hookyard.jobs.failures import record_failure
from hookyard.jobs.records import HandedOff, Superseded
from hookyard.jobs.runtime import Runtime
from hookyard.jobs.turns import Turns
from hookyard.shopify.access import shop_of
from hookyard.storage.leases import Lease


@dataclass(frozen=True)
class ItemOutcome:
    """How one job of a batch ended: ``succeeded`` or ``superseded``, with its sync log."""

    state: str
    result: dict[str, Any]


WAIT_POLL_SECONDS = 0.02

Apply = Callable[[Runtime, ShopConfig, list[dict[str, Any]]], dict[str, ItemOutcome]]


class BatchBusy(JobError):
    code = "batch_busy"


def run_batched(runtime: Runtime, leader: dict[str, Any], *, kind: str, max_jobs: int,
                apply: Apply) -> Any:
    """Run ``leader`` together with its shop's waiting jobs of ``kind``; returns the leader's
    result (``Superseded`` when a newer value made it moot)."""
    shop = shop_of(runtime, leader)
    queue = str(leader["queue"])
    lease = Lease(runtime.state, keys.batch_lock(shop.id, kind),
                  ttl_seconds=runtime.settings.heartbeat_timeout_seconds,
                  wait_seconds=runtime.settings.time_limit_seconds(queue) / 2)
    if not _lead_or_hand_off(runtime, leader, lease, keys.pending_batch(shop.id, kind)):
        return HandedOff()
    batch_rmid = f"batch:{leader['id']}:{lease.owner}"
    try:
        members, outcomes = _write_batch(runtime, shop, leader, kind, max_jobs, apply,
                                         batch_rmid=batch_rmid)
    finally:
        # Only the writes need the lease ("newest wins"); recording each member's end does not,
        # so the shop's next batch starts while this thread finishes its members.
        lease.release()
        if runtime.settings.shop_turns:
            # Whether the batch wrote or failed, the shop's next pending jobs get their turn,
            # behind every other shop's (hookyard.jobs.turns).
            Turns(runtime.jobs).pass_on(shop.id, kind, holders=(str(leader["rmid"]), batch_rmid),
                                        weight=shop.weight)
    batch = {"led_by": leader["id"], "size": len(members) + 1}
    _finish_members(runtime, members, outcomes, batch, batch_rmid)
    mine = outcomes[leader["id"]]
    result = {**mine.result, "batch": batch}
    return Superseded(result) if mine.state == "superseded" else result


def _lead_or_hand_off(runtime: Runtime, leader: dict[str, Any], lease: Lease,
                     pending: str) -> bool:
    """True once this job holds the batch lease; False when, while it waited, a batch of
    another job claimed it (that batch writes and finishes it).

    While waiting, the job is claimable: ``awaiting_batch`` names its message and it is back in
    the pending set, so the next batch takes it instead of leaving it to be written alone.
    """
    if lease.try_acquire():
        return True
    job_key, rmid = keys.job(leader["id"]), str(leader["rmid"])
    runtime.state.hset(job_key, "awaiting_batch", rmid)
    runtime.state.zadd(pending, {leader["id"]: int(leader.get("seq") or 0)})
    deadline = time.monotonic() + lease.wait_seconds
    while True:
        acquired = lease.try_acquire()
        current = runtime.state.hget(job_key, "rmid")
        if current is None or current.decode() != rmid:
            if acquired:
                lease.release()
            return False
        if acquired:
            runtime.state.hdel(job_key, "awaiting_batch")
            return True
        if time.monotonic() > deadline:
            runtime.state.hdel(job_key, "awaiting_batch")
            raise BatchBusy(f"Another batch of this shop ran for over {lease.wait_seconds:.0f}s;"
                            " the job will be retried.")
        time.sleep(WAIT_POLL_SECONDS)


def _write_batch(runtime: Runtime, shop: ShopConfig, leader: dict[str, Any], kind: str,
                 max_jobs: int, apply: Apply, *,
                 batch_rmid: str) -> tuple[list[dict[str, Any]], dict[str, ItemOutcome]]:
    """Claim the shop's waiting jobs and apply them with the leader (under the batch lease);
    returns the members and every job's outcome. If ``apply`` fails, the members are released
    for a retry (or fail) and the error is raised."""
    queue = str(leader["queue"])
    pending = keys.pending_batch(shop.id, kind)
    runtime.state.zrem(pending, leader["id"])
    waiting = [m.decode() for m in runtime.state.zrange(pending, 0, max_jobs - 2)]
    claimed = runtime.jobs.claim(queue, pending, waiting, batch_rmid,
                                 turn_key=keys.shop_turn(shop.id, kind))
    members = [r for r in runtime.jobs.get_many(claimed) if r is not None]
    try:
        outcomes = apply(runtime, shop, [leader, *members])
    except Exception as exc:
        _release_members_after_failure(runtime, members, batch_rmid, exc)
        raise
    return members, outcomes


def _finish_members(runtime: Runtime, members: list[dict[str, Any]],
                    outcomes: dict[str, ItemOutcome], batch: dict[str, Any],
                    batch_rmid: str) -> None:
    """Record each member's end. Still fenced by ``batch_rmid``: a member's own (stale)
    message cannot run it meanwhile, and the sweeper sees it running under the batch."""
    for member in members:
        outcome = outcomes[member["id"]]
        queue = str(member["queue"])
        runtime.jobs.finish(member["id"], queue, batch_rmid, outcome.state,
                            result={**outcome.result, "batch": batch})
        metrics.jobs_total.labels(queue, outcome.state).inc()


def _release_members_after_failure(runtime: Runtime, members: list[dict[str, Any]],
                                   batch_rmid: str, exc: Exception) -> None:
    """Each claimed member ends as its own run would have (``hookyard.jobs.failures``): it
    retries, waits for the upstream, or is dead."""
    for member in members:
        outcome = record_failure(runtime.jobs, runtime.settings, member, batch_rmid, exc,
                                 attempts=int(member.get("attempts", 0)),
                                 max_attempts=int(member.get("max_attempts", 1)))
        metrics.jobs_total.labels(str(member["queue"]), outcome).inc()


class Coalesced(Protocol):
    seq: int
    outcome: str


def coalesce(entry: Coalesced, key: Hashable, accepted: int, applied: int,
             newest: dict[Any, Any]) -> None:
    """Apply the newest-wins rule to one mapped entry of a batch, setting ``entry.outcome``.

    The entry is ``superseded`` when a newer value of its field was accepted (a later job will
    write it) or is already written, or when the batch holds a newer entry for the same target
    ``key``; otherwise it becomes the batch's entry for ``key`` (``applied``), superseding the
    one it replaces. ``newest`` maps each key to the entry the batch will write.
    """
    current = newest.get(key)
    if entry.seq < max(accepted, applied) or entry.seq == applied or (
            current is not None and current.seq >= entry.seq):
        entry.outcome = "superseded"
        return
    if current is not None:
        current.outcome = "superseded"
    newest[key] = entry
    entry.outcome = "applied"


def field_versions(runtime: Runtime, shop: ShopConfig, kind: str,
                   fields: list[str]) -> dict[str, tuple[int, int, str | None]]:
    """Per field: (newest accepted seq, applied seq, applied value)."""
    names = [f"{prefix}:{f}" for f in fields for prefix in ("accepted", "applied", "value")]
    values = runtime.state.hmget(keys.entity_versions(shop.id, kind), names) if names else []
    result = {}
    for i, name in enumerate(fields):
        accepted, applied, value = values[3 * i : 3 * i + 3]
        result[name] = (int(accepted or 0), int(applied or 0),
                        value.decode() if value is not None else None)
    return result


def record_applied(runtime: Runtime, shop: ShopConfig, kind: str,
                   applied: dict[str, tuple[int, str]]) -> None:
    """Remember the sequence number and value written for each field (under the batch lock)."""
    if not applied:
        return
    mapping: dict[str, str | int] = {}
    for name, (seq, value) in applied.items():
        mapping[f"applied:{name}"] = seq
        mapping[f"value:{name}"] = value
    runtime.state.hset(keys.entity_versions(shop.id, kind), mapping=mapping)
