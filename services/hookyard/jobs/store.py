"""Job records: Hookyard's own account of every job (Dramatiq keeps none).

A record is a Redis hash in the state DB (``keys.job``). Every transition is one Lua script so
the record, its indexes and (where a message moves) the broker are changed together:

    queued --start--> running --finish--> succeeded | superseded | failed | cancelled
       ^                 |  \\--retry--> retrying --start--> running ...
       |                 \\--(worker died: message redelivered)--> running (attempts + 1)
       \\--requeue (sweeper recovery, operator replay of failed/cancelled)

The record's ``rmid`` names the one live broker message of the job. Every enqueue replaces it,
and a delivered message whose id is not ``rmid`` is a stale copy that must not run. That fence
is what makes the sweeper's re-enqueue and operator replay safe against double execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import redis

from hookyard.base import keys
from hookyard.base.ids import new_uuid4
from hookyard.base.settings import Settings
from hookyard.jobs.messages import EncodedMessage, encode_job_message
from hookyard.jobs.reads import JobReads
from hookyard.jobs.records import (
    CANCEL_ERROR,
    STATES,
    TERMINAL_STATES,
    Accepted,
    NewJob,
    StartVerdict,
    dumps,
    now_ms,
)
from hookyard.storage import scripts


class JobStore(JobReads):
    """Creates, transitions and reads job records. Holds no per-job state in memory.

    ``state`` is a client on the state DB and ``broker`` one on the broker DB of the same Redis.
    """

    def __init__(self, settings: Settings, *, state: redis.Redis, broker: redis.Redis) -> None:
        self.settings = settings
        self.state = state
        self.broker = broker
        self._accept = scripts.register(state, "accept")
        self._start = scripts.register(state, "start")
        self._finish = scripts.register(state, "finish")
        self._requeue = scripts.register(state, "requeue")
        self._cancel = scripts.register(state, "cancel")
        self._progress = scripts.register(state, "progress")
        self._claim = scripts.register(state, "claim")

    # --- creating jobs ---------------------------------------------------------------------

    def message_for(self, record: Mapping[str, Any], *,
                    eta_ms: int | None = None) -> EncodedMessage:
        queue = str(record["queue"])
        return encode_job_message(
            job_id=str(record["id"]),
            queue=queue,
            actor=str(record["actor"]),
            time_limit_ms=self.settings.time_limit_seconds(queue) * 1000,
            eta_ms=eta_ms,
        )

    def submit(self, jobs: Sequence[NewJob], *, dedupe_key: str | None = None,
               audit: Sequence[str | int] = ()) -> Accepted:
        """Write records and messages in one atomic step; a known ``dedupe_key`` returns the
        original job ids and writes nothing. ``audit`` (``AuditLog.script_args``) makes the
        step append the audit entry of the request too (outcome ``requested``, the first job).

        ``jobs`` are one delivery: they must share queue, actor, shop, sync kind, source event
        and priority, which is what lets ``accept.lua`` write each index once per delivery.
        """
        if not jobs:
            raise ValueError("submit() needs at least one job.")
        first = jobs[0]
        shared = (first.queue, first.actor, first.shop, first.batch_kind, first.priority,
                  first.delay_ms)
        for job in jobs:
            if (job.queue, job.actor, job.shop, job.batch_kind, job.priority,
                    job.delay_ms) != shared or (
                    job.source_event is not first.source_event
                    and job.source_event != first.source_event):
                raise ValueError("submit() takes the jobs of one delivery: every job must share "
                                 "queue, actor, shop, batch_kind, priority, delay_ms and "
                                 "source_event; submit other jobs separately.")
        now = now_ms()
        job_ids = [job.job_id for job in jobs]
        ids_json = orjson.dumps(job_ids)
        shop = first.shop or "-"
        kind = first.batch_kind or "-"
        script_keys: list[str] = [
            dedupe_key or keys.dedupe("none", new_uuid4()),
            keys.all_jobs(),
            keys.acceptance_seq(),
            keys.jobs_by_queue(first.queue),
            keys.jobs_by_shop(shop),
            keys.jobs_in_state(first.queue, "queued"),
            keys.entity_versions(shop, kind),
            keys.pending_batch(shop, kind),
            # A delayed delivery's messages go to the delay queue, which Dramatiq moves to the
            # queue when they are due; its wake-up tokens then only wake a consumer early.
            keys.broker_delay_queue(first.queue) if first.delay_ms
            else keys.broker_queue(first.queue),
            keys.broker_delay_messages(first.queue) if first.delay_ms
            else keys.broker_messages(first.queue),
            keys.broker_wakeup(first.queue),
            keys.shop_turn(shop, kind),
        ]
        common: dict[str, str] = {
            "queue": first.queue,
            "actor": first.actor,
            "state": "queued",
            "attempts": "0",
            "max_attempts": str(self.settings.max_attempts()),
            "shop": first.shop or "",
            "source_event": dumps(first.source_event) if first.source_event else "null",
            "created_at": str(now),
            "updated_at": str(now),
            "priority": str(first.priority),
        }
        if first.batch_kind:
            common["batch_kind"] = first.batch_kind
        args: list[Any] = [
            self.settings.state_redis_db,
            self.settings.broker_redis_db,
            self.settings.dedupe_ttl_seconds if dedupe_key else 0,
            now,
            ids_json,
            len(jobs),
            self.turn_ttl_ms(first.queue, delay_ms=first.delay_ms)
            if first.batch_kind and self.settings.shop_turns else 0,
            len(common),
        ]
        for name, value in common.items():
            args += [name, value]
        time_limit_ms = self.settings.time_limit_seconds(first.queue) * 1000
        eta_ms = now + first.delay_ms if first.delay_ms else None
        for job in jobs:
            script_keys.append(keys.job(job.job_id))
            message = encode_job_message(job_id=job.job_id, queue=job.queue, actor=job.actor,
                                         time_limit_ms=time_limit_ms, eta_ms=eta_ms)
            coalesce = job.coalesce_fields if job.batch_kind else ()
            args += [job.job_id, message.redis_message_id, message.data, 2,
                     "entity", job.entity or "", "payload", dumps(job.payload),
                     len(coalesce), *coalesce]
        if audit:
            script_keys.append(keys.audit_log())
            args += audit
        accepted, ids, seq = self._accept(keys=script_keys, args=args)
        return Accepted(job_ids=tuple(orjson.loads(ids)), duplicate=not int(accepted),
                        seq=int(seq))

    def turn_ttl_ms(self, queue: str, *, delay_ms: int = 0) -> int:
        """How long a shop's turn outlives its last pass: longer than a batch can run (twice the
        queue's time limit) and than an accepted delivery's delay. A turn whose message was
        lost lapses after it, and the sweeper passes it on (``hookyard.jobs.turns``)."""
        return (2 * self.settings.time_limit_seconds(queue) + 60) * 1000 + delay_ms

    def claim(self, queue: str, pending_key: str, job_ids: Sequence[str],
              batch_rmid: str, *, turn_key: str) -> list[str]:
        """Move waiting jobs into a batch (see ``lua/claim.lua``); returns the ids claimed."""
        if not job_ids:
            return []
        claimed = self._claim(
            keys=[pending_key, keys.jobs_in_state(queue, "queued"),
                  keys.jobs_in_state(queue, "retrying"), keys.jobs_in_state(queue, "running"),
                  turn_key, *[keys.job(job_id) for job_id in job_ids]],
            args=[batch_rmid, now_ms(), *job_ids],
        )
        return [c.decode() for c in claimed]

    # --- the worker's transitions ----------------------------------------------------------

    def start(self, job_id: str, queue: str, redis_message_id: str) -> StartVerdict:
        verdict, attempts, max_attempts = self._start(
            keys=[
                keys.job(job_id),
                keys.jobs_in_state(queue, "queued"),
                keys.jobs_in_state(queue, "retrying"),
                keys.jobs_in_state(queue, "running"),
                keys.jobs_in_state(queue, "failed"),
                keys.queue_totals(queue),
            ],
            args=[redis_message_id, now_ms(), self.settings.max_deliveries],
        )
        return StartVerdict(verdict.decode(), int(attempts), int(max_attempts))

    def finish(
        self,
        job_id: str,
        queue: str,
        redis_message_id: str,
        state: str,
        *,
        result: Any = None,
        error: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record a terminal outcome; False when this run was stale and nothing was written."""
        if state not in TERMINAL_STATES:
            raise ValueError(f"finish() takes a terminal state, not {state!r}")
        fields: dict[str, str] = {"result": dumps(result), "error": dumps(error)}
        if state == "succeeded":
            fields["progress"] = dumps({"percent": 100, "message": "done", "stage": "done"})
        return bool(
            self._finish(
                keys=[
                    keys.job(job_id),
                    keys.jobs_in_state(queue, "running"),
                    keys.jobs_in_state(queue, state),
                    keys.queue_totals(queue),
                ],
                args=[
                    redis_message_id,
                    now_ms(),
                    state,
                    dumps(fields),
                    self.settings.state_redis_db,
                    self.settings.broker_redis_db,
                ],
            )
        )

    def retry(
        self,
        record: Mapping[str, Any],
        redis_message_id: str,
        *,
        delay_ms: int,
        error: Mapping[str, Any],
        fields: Mapping[str, str | int] | None = None,
    ) -> bool:
        """Mark the job retrying and enqueue its delayed message, in one step; ``fields`` are
        further record fields to set with it (a wait's refunded attempt and its start)."""
        queue = str(record["queue"])
        eta = now_ms() + delay_ms
        message = self.message_for(record, eta_ms=eta)
        written = {**{k: str(v) for k, v in (fields or {}).items()},
                   "error": dumps(error), "retry_at": str(eta)}
        return bool(
            self._finish(
                keys=[
                    keys.job(str(record["id"])),
                    keys.jobs_in_state(queue, "running"),
                    keys.jobs_in_state(queue, "retrying"),
                    keys.queue_totals(queue),
                    keys.broker_delay_queue(queue),
                    keys.broker_delay_messages(queue),
                ],
                args=[
                    redis_message_id,
                    now_ms(),
                    "retrying",
                    dumps(written),
                    self.settings.state_redis_db,
                    self.settings.broker_redis_db,
                    message.redis_message_id,
                    message.data,
                ],
            )
        )

    def report_progress(
        self, job_id: str, *, percent: float, message: str | None = None, stage: str | None = None
    ) -> bool:
        """Record progress; returns True when an operator asked to cancel the job."""
        progress = {"percent": max(0.0, min(100.0, round(percent, 1))), "message": message,
                    "stage": stage}
        _recorded, cancel = self._progress(keys=[keys.job(job_id)],
                                           args=[dumps(progress), now_ms()])
        return bool(int(cancel))

    def cancel_requested(self, job_id: str) -> bool:
        return self.state.hget(keys.job(job_id), "cancel_requested") == b"1"

    # --- operator actions ------------------------------------------------------------------

    def cancel(self, job_id: str, *, audit: Sequence[str | int] = ()) -> str:
        """Cancel; returns 'cancelled', 'requested' (running: honoured between steps), 'missing'
        or the terminal state the job is already in.

        ``audit`` (``AuditLog.script_args``) makes ``cancel.lua`` append the audit entry in the
        same step as the cancel; a refused cancel writes neither.
        """
        record = self.get(job_id)
        if record is None:
            return "missing"
        queue = str(record["queue"])
        outcome = self._cancel(
            keys=[
                keys.job(job_id),
                keys.jobs_in_state(queue, "queued"),
                keys.jobs_in_state(queue, "retrying"),
                keys.jobs_in_state(queue, "cancelled"),
                keys.queue_totals(queue),
                *([keys.audit_log()] if audit else []),
            ],
            args=[now_ms(), dumps(CANCEL_ERROR), *audit],
        )
        return str(outcome.decode())

    def requeue(
        self,
        record: Mapping[str, Any],
        *,
        expected_states: Iterable[str],
        expected_rmid: str = "*",
        reset_attempts: bool = False,
        audit: Sequence[str | int] = (),
    ) -> bool:
        """Give the job a fresh message on its queue if it is still as expected (``audit``: see
        ``cancel``)."""
        queue = str(record["queue"])
        message = self.message_for(record)
        state_keys = [keys.jobs_in_state(queue, state) for state in STATES if state != "queued"]
        return bool(
            self._requeue(
                keys=[
                    keys.job(str(record["id"])),
                    keys.jobs_in_state(queue, "queued"),
                    *state_keys,
                    keys.broker_queue(queue),
                    keys.broker_messages(queue),
                    keys.broker_wakeup(queue),
                    *([keys.audit_log()] if audit else []),
                ],
                args=[
                    self.settings.state_redis_db,
                    self.settings.broker_redis_db,
                    expected_rmid,
                    ",".join(expected_states),
                    message.redis_message_id,
                    message.data,
                    now_ms(),
                    "1" if reset_attempts else "0",
                    keys.shop_turn_pattern(),
                    *audit,
                ],
            )
        )

    def replay(self, job_id: str, *, audit: Sequence[str | int] = ()) -> bool:
        """Operator replay of a dead (failed) or cancelled job: a fresh run with fresh attempts
        (``audit``: see ``cancel``). False, with nothing written, when it is missing or in
        another state."""
        record = self.get(job_id)
        if record is None:
            return False
        return self.requeue(record, expected_states=("failed", "cancelled"), reset_attempts=True,
                            audit=audit)

    # --- reading -----------------------------------------------------------------------------
