"""The sweeper: finds jobs whose message is lost or stranded and re-enqueues them; trims records.

Runs inside every worker process, but only the holder of a Redis lease sweeps, so one sweep runs
at a time across the fleet. What it closes:

- a job recorded ``queued``/``retrying``/``running`` whose message is nowhere (not in its queue's
  or delay queue's message hash): Dramatiq loses a retry when Redis is down at the moment it is
  enqueued, an AOF rewind can drop a message, an outcome write can fail after the ack;
- a message in a *live* worker's ack set that the worker will never run: after a Redis blip
  Dramatiq's consumer drops its in-memory delay queue and prefetch cache but the messages stay
  in its ack set, and a fetch whose reply was lost leaves its messages there too. A queued job's
  message is replaced as soon as the worker's own account of what it holds (published with every
  heartbeat, ``HeldMessages``) has left it out for ``LOST_AFTER_SNAPSHOTS`` heartbeats; otherwise
  (and for workers that publish no account) when it has been idle well past the point where it
  would have run (retry time + grace, time limit + grace, or ``HOOKYARD_STRANDED_AFTER_SECONDS``
  for a queued job).

With turns (``hookyard.jobs.turns``), a queued job riding on its shop's turn has no message by
design: it is left alone, and instead every shop's turn whose message is gone is passed on.

Re-enqueueing is always a fenced ``requeue`` (expected state and message id), so a job that moved
on meanwhile is left alone, and the replaced copy is skipped if it is ever delivered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hookyard.base import keys, metrics
from hookyard.base.queues import QUEUES
from hookyard.jobs.records import ACTIVE_STATES, TERMINAL_STATES, now_ms
from hookyard.jobs.store import JobStore
from hookyard.jobs.turns import Turns
from hookyard.storage.leases import RELEASE

log = logging.getLogger(__name__)

BATCH = 500
LOST_AFTER_SNAPSHOTS = 3
"""How many holdings snapshots past the first pass that saw a message in a live worker's ack set
(and not in its snapshot) must leave it out before it counts as lost (see ``_lost``)."""


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    dropped: int = 0
    trimmed: int = 0
    turns_passed: list[str] = field(default_factory=list)


class Sweeper:
    def __init__(self, jobs: JobStore, *, owner: str, queues: Iterable[str] = QUEUES) -> None:
        self.jobs = jobs
        self.settings = jobs.settings
        self.owner = owner
        self.queues = tuple(queues)
        self._cursors: dict[tuple[str, str], float] = {}
        self.turns = Turns(jobs)
        # (queue, worker, redis message id) -> holdings snapshot number read right after the
        # first pass that found the message in the worker's ack set but not in its holdings.
        self._unheld: dict[tuple[str, bytes, bytes], int] = {}

    # --- the lease -------------------------------------------------------------------------

    def hold_lease(self) -> bool:
        """Take or extend the sweeper lease; True while this process holds it."""
        ttl_ms = int(max(self.settings.sweep_interval_seconds * 3, 5) * 1000)
        state = self.jobs.state
        if state.set(keys.sweeper_lease(), self.owner, nx=True, px=ttl_ms):
            return True
        if state.get(keys.sweeper_lease()) == self.owner.encode():
            state.pexpire(keys.sweeper_lease(), ttl_ms)
            return True
        return False

    def release_lease(self) -> None:
        self.jobs.state.eval(RELEASE, 1, keys.sweeper_lease(), self.owner)

    # --- one pass --------------------------------------------------------------------------

    def sweep_once(self) -> SweepReport:
        report = SweepReport()
        for queue in self.queues:
            fetched, work_acks = self._fetched_by_live_workers(queue)
            lost = self._lost(queue, work_acks)
            for state in ACTIVE_STATES:
                report.requeued += self._recover(queue, state, fetched, lost)
            report.dropped += self._drop_dead_copies(queue)
            report.trimmed += self._trim(queue)
        for job_id in report.requeued:
            log.warning("sweeper re-enqueued job %s (its message was lost or stranded)", job_id)
        if self.settings.shop_turns:
            grace_ms = self.settings.sweep_grace_seconds * 1000
            report.turns_passed = self.turns.repair(tuple(s.id for s in self.settings.shops),
                                                    older_than_ms=now_ms() - grace_ms)
            for turn in report.turns_passed:
                log.warning("sweeper passed on the turn of %s (its message was lost)", turn)
        return report

    def _fetched_by_live_workers(self, queue: str
                                 ) -> tuple[set[bytes], dict[bytes, set[bytes]]]:
        """Message ids fetched (not acked) by workers that still heartbeat, from ``queue`` and
        its delay queue; and per such worker, those of ``queue`` itself."""
        broker = self.jobs.broker
        alive_after = now_ms() - self.settings.heartbeat_timeout_seconds * 1000
        workers = broker.zrangebyscore(keys.broker_heartbeats(), alive_after, "+inf")
        pipe = broker.pipeline(transaction=False)
        for worker in workers:
            pipe.smembers(keys.broker_acks(worker.decode(), queue))
            pipe.smembers(keys.broker_acks(worker.decode(), f"{queue}.DQ"))
        replies = pipe.execute()
        work_acks = dict(zip(workers, replies[0::2], strict=True))
        return set().union(*replies), work_acks

    def _lost(self, queue: str, work_acks: dict[bytes, set[bytes]]) -> set[bytes]:
        """Ids in a live worker's ack set of ``queue`` that the worker no longer holds in memory.

        Each worker publishes, with every heartbeat, the work-queue messages it holds
        (``HeldMessages``), numbered. The ack sets are read before the snapshots, so when a pass
        finds a message in an ack set and reads snapshot n, snapshot n + 2 was taken after that
        pass (n + 1 was written after it), hence after the fetch had put the message in the ack
        set. A message that snapshot n + ``LOST_AFTER_SNAPSHOTS`` still leaves out, at least a
        heartbeat after that, is held by none of the worker's consumers: lost from memory, it
        will never run. Replacing it goes through the fence, so even a wrong call cannot run a
        job twice: the held copy would then be skipped as stale. A worker without a snapshot
        (an older version mid-rollout) is left to the time-based rule."""
        workers = [worker for worker, ids in work_acks.items() if ids]
        seen: dict[tuple[str, bytes, bytes], int] = {}
        lost: set[bytes] = set()
        snapshots = (self.jobs.state.mget([keys.worker_holdings(w.decode()) for w in workers])
                     if workers else [])
        for worker, raw in zip(workers, snapshots, strict=True):
            try:
                snapshot = json.loads(raw)
                seq = int(snapshot["seq"])
                holding = {str(i).encode() for i in snapshot["ids"]}
            except (TypeError, ValueError, KeyError):
                continue  # no snapshot (or not one we can read): judged by time only
            for rmid in work_acks[worker] - holding:
                first = self._unheld.get((queue, worker, rmid), seq)
                seen[(queue, worker, rmid)] = first
                if seq >= first + LOST_AFTER_SNAPSHOTS:
                    lost.add(rmid)
        self._unheld = {k: v for k, v in self._unheld.items() if k[0] != queue} | seen
        return lost

    def _candidates(self, queue: str, state: str, older_than: int) -> list[str]:
        index = keys.jobs_in_state(queue, state)
        after = self._cursors.get((queue, state), float("-inf"))
        low = f"({int(after)}" if after != float("-inf") else "-inf"
        batch = self.jobs.state.zrangebyscore(index, low, older_than, start=0, num=BATCH,
                                              withscores=True)
        if len(batch) < BATCH:
            self._cursors.pop((queue, state), None)  # wrap around next time
        else:
            self._cursors[(queue, state)] = batch[-1][1] - 1
        return [member.decode() for member, _ in batch]

    def _recover(self, queue: str, state: str, fetched: set[bytes], lost: set[bytes]
                 ) -> list[str]:
        now = now_ms()
        grace_ms = self.settings.sweep_grace_seconds * 1000
        ids = self._candidates(queue, state, now - grace_ms)
        if not ids:
            return []
        state_pipe = self.jobs.state.pipeline(transaction=False)
        for job_id in ids:
            state_pipe.hmget(keys.job(job_id), "state", "rmid", "updated_at", "retry_at",
                             "shop", "batch_kind")
        rows = state_pipe.execute()
        # A queued job riding on its shop's turn has no message of its own by design (the job
        # whose message *is* the turn is swept like any other: its turn moves with it).
        riding = (self.turns.riding([(job_id, row[1], row[4], row[5])
                                     for job_id, row in zip(ids, rows, strict=True)])
                  if state == "queued" and self.settings.shop_turns else [False] * len(ids))
        broker_pipe = self.jobs.broker.pipeline(transaction=False)
        for _, rmid, *_ in rows:
            broker_pipe.hexists(keys.broker_messages(queue), rmid or b"-")
            broker_pipe.hexists(keys.broker_delay_messages(queue), rmid or b"-")
        present = broker_pipe.execute()
        requeued = []
        for i, (job_id, row) in enumerate(zip(ids, rows, strict=True)):
            current_state, rmid, updated_at, retry_at, _, _ = row
            if current_state is None or current_state.decode() != state or rmid is None:
                continue
            if riding[i]:
                continue  # waits for its shop's turn, which ``Turns.repair`` keeps alive
            idle_ms = now - int(updated_at or 0)
            if idle_ms < grace_ms:
                continue
            exists = present[2 * i] or present[2 * i + 1]
            if exists and not self._stranded(queue, state, rmid in fetched, rmid in lost,
                                             idle_ms, now - int(retry_at or now)):
                continue
            record: dict[str, Any] = {"id": job_id, "queue": queue}
            actor = self.jobs.state.hget(keys.job(job_id), "actor")
            if actor is None:
                continue
            record["actor"] = actor.decode()
            if self.jobs.requeue(record, expected_states=(state,), expected_rmid=rmid.decode()):
                metrics.jobs_total.labels(queue, "requeued_by_sweeper").inc()
                requeued.append(job_id)
        return requeued

    def _stranded(self, queue: str, state: str, fetched_by_live_worker: bool, lost: bool,
                  idle_ms: int, overdue_ms: int) -> bool:
        """A message still present is only replaced when a live worker fetched it and lost it
        (a queued job's), or has held it far too long."""
        if not fetched_by_live_worker:
            return False  # waiting in its queue, or its dead worker's messages come back anyway
        grace_ms = self.settings.sweep_grace_seconds * 1000
        if state == "retrying":
            return overdue_ms > grace_ms
        if state == "running":
            return idle_ms > self.settings.time_limit_seconds(queue) * 1000 + grace_ms
        return lost or idle_ms > self.settings.stranded_after_seconds * 1000

    def _drop_dead_copies(self, queue: str) -> int:
        """Delete messages a live worker holds that can never run: their job ended, or they are
        not the job's current message. A Redis blip in the middle of a fetch leaves such copies
        in the worker's ack set (the fetch moved them there, the answer never arrived), and
        Dramatiq only hands back a worker's messages when the worker dies. Harmless to the jobs
        (the fence skips them), but they would sit in the broker for as long as the worker lives,
        counted as in flight. Deleting one is safe whatever the worker does next: running it
        would be skipped, acking it is a no-op."""
        broker = self.jobs.broker
        alive_after = now_ms() - self.settings.heartbeat_timeout_seconds * 1000
        old_ms = now_ms() - self.settings.sweep_grace_seconds * 1000
        dropped = 0
        for worker in broker.zrangebyscore(keys.broker_heartbeats(), alive_after, "+inf"):
            for name, messages in ((queue, keys.broker_messages(queue)),
                                   (f"{queue}.DQ", keys.broker_delay_messages(queue))):
                acks = keys.broker_acks(worker.decode(), name)
                rmids = sorted(broker.smembers(acks))[:BATCH]
                if not rmids:
                    continue
                doomed = []
                for rmid, data in zip(rmids, broker.hmget(messages, rmids), strict=True):
                    if data is None:
                        doomed.append(rmid)
                        continue
                    try:
                        message = json.loads(data)
                        job_id, sent_ms = message["message_id"], message["message_timestamp"]
                    except (ValueError, TypeError, KeyError):
                        continue  # not a message we can read: leave it alone
                    if int(sent_ms) > old_ms:
                        continue
                    state, current = self.jobs.state.hmget(keys.job(str(job_id)), "state",
                                                           "rmid")
                    if state is None:
                        continue  # a plain message without a job record: not ours to judge
                    if current != rmid or state.decode() in TERMINAL_STATES:
                        doomed.append(rmid)
                if doomed:
                    pipe = broker.pipeline(transaction=False)
                    pipe.srem(acks, *doomed)
                    pipe.hdel(messages, *doomed)
                    pipe.execute()
                    dropped += len(doomed)
        if dropped:
            log.info("sweeper dropped %d dead message copies of %s held by live workers",
                     dropped, queue)
        return dropped

    # --- retention ---------------------------------------------------------------------------

    def _trim(self, queue: str) -> int:
        now = now_ms()
        state = self.jobs.state
        doomed: dict[str, list[str]] = {}
        for name in ("succeeded", "superseded"):
            index = keys.jobs_in_state(queue, name)
            old = state.zrangebyscore(index, "-inf",
                                      now - self.settings.succeeded_retention_seconds * 1000,
                                      start=0, num=BATCH)
            excess = state.zcard(index) - len(old) - self.settings.succeeded_retention_count
            if excess > 0:
                old += state.zrange(index, len(old), len(old) + min(excess, BATCH) - 1)
            doomed[name] = [m.decode() for m in old]
        for name in ("failed", "cancelled"):
            old = state.zrangebyscore(keys.jobs_in_state(queue, name), "-inf",
                                      now - self.settings.failed_retention_seconds * 1000,
                                      start=0, num=BATCH)
            doomed[name] = [m.decode() for m in old]
        ids = [job_id for batch in doomed.values() for job_id in batch]
        if not ids:
            return 0
        shops = state.pipeline(transaction=False)
        for job_id in ids:
            shops.hget(keys.job(job_id), "shop")
        shop_of = dict(zip(ids, shops.execute(), strict=True))
        pipe = state.pipeline(transaction=True)
        for name, batch in doomed.items():
            for job_id in batch:
                shop = (shop_of[job_id] or b"-").decode() or "-"
                pipe.delete(keys.job(job_id))
                pipe.zrem(keys.jobs_in_state(queue, name), job_id)
                pipe.zrem(keys.jobs_by_queue(queue), job_id)
                pipe.zrem(keys.jobs_by_shop(shop), job_id)
                pipe.zrem(keys.all_jobs(), job_id)
        pipe.execute()
        return len(ids)
