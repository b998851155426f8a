"""Operator actions on jobs - cancel and replay - each written with its audit entry.

The action's own Lua script (``lua/cancel.lua``, ``lua/requeue.lua``) appends the entry in the
same step as the change (the audit stream is its last key, ``AuditLog.script_args`` the tail of
its arguments), so a job is never cancelled or replayed without an entry, and no entry claims an
action that did not happen. Refused attempts change nothing and are recorded by the caller
(``AuditLog.record_refusal``).

``JobStore.cancel`` and ``JobStore.replay`` run the same scripts without an entry; the scripts'
keys are built here the same way, with the stream appended.
"""

from __future__ import annotations

from hookyard import keys, scripts
from hookyard.audit import AuditLog
from hookyard.jobs import STATES, JobStore, dumps, now_ms

CANCEL_ERROR = {"code": "cancelled", "message": "Cancelled by an operator."}


class OperatorActions:
    def __init__(self, jobs: JobStore, audit: AuditLog) -> None:
        self.jobs = jobs
        self.audit = audit
        self._cancel = scripts.register(jobs.state, "cancel")
        self._requeue = scripts.register(jobs.state, "requeue")

    def cancel(self, job_id: str, *, who: str, request_id: str = "") -> str:
        """Cancel; returns 'cancelled' or 'requested' (running: honoured between steps), both
        audited, else 'missing' or the terminal state the job is already in (nothing written)."""
        record = self.jobs.get(job_id)
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
                keys.audit_log(),
            ],
            args=[now_ms(), dumps(CANCEL_ERROR),
                  *self.audit.script_args(who=who, action="cancel", request_id=request_id)],
        )
        return str(outcome.decode())

    def replay(self, job_id: str, *, who: str, request_id: str = "") -> bool:
        """Replay a dead (failed) or cancelled job: a fresh message and fresh attempts, audited
        (outcome ``replayed``). False, with nothing written, when it is missing or in another
        state."""
        record = self.jobs.get(job_id)
        if record is None:
            return False
        queue = str(record["queue"])
        message = self.jobs.message_for(record)
        settings = self.jobs.settings
        replayed = self._requeue(
            keys=[
                keys.job(job_id),
                keys.jobs_in_state(queue, "queued"),
                *[keys.jobs_in_state(queue, state) for state in STATES if state != "queued"],
                keys.broker_queue(queue),
                keys.broker_messages(queue),
                keys.broker_wakeup(queue),
                keys.audit_log(),
            ],
            args=[settings.state_redis_db, settings.broker_redis_db, "*", "failed,cancelled",
                  message.redis_message_id, message.data, now_ms(), "1",
                  *self.audit.script_args(who=who, action="retry", request_id=request_id)],
        )
        return bool(replayed)
