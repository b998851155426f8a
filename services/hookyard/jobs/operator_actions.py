"""Operator actions on jobs - cancel and replay - each written with its audit entry.

The action's own Lua script (``lua/cancel.lua``, ``lua/requeue.lua``) appends the entry in the
same step as the change (the audit stream is its last key, ``AuditLog.script_args`` the tail of
its arguments), so a job is never cancelled or replayed without an entry, and no entry claims an
action that did not happen. Refused attempts change nothing and are recorded by the caller
(``AuditLog.record_refusal``).
"""

from __future__ import annotations

from hookyard.jobs.audit import AuditLog
from hookyard.jobs.store import JobStore


class OperatorActions:
    def __init__(self, jobs: JobStore, audit: AuditLog) -> None:
        self.jobs = jobs
        self.audit = audit

    def cancel(self, job_id: str, *, who: str, request_id: str = "") -> str:
        """Cancel; returns 'cancelled' or 'requested' (running: honoured between steps), both
        audited, else 'missing' or the terminal state the job is already in (nothing written)."""
        return self.jobs.cancel(job_id, audit=self.audit.script_args(
            who=who, action="cancel", request_id=request_id))

    def replay(self, job_id: str, *, who: str, request_id: str = "") -> bool:
        """Replay a dead (failed) or cancelled job: a fresh message and fresh attempts, audited
        (outcome ``replayed``). False, with nothing written, when it is missing or in another
        state."""
        return self.jobs.replay(job_id, audit=self.audit.script_args(
            who=who, action="retry", request_id=request_id))
