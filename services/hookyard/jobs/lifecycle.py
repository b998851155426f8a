"""``JobLifecycle``: the Dramatiq middleware that writes every job transition to its record.

It replaces Dramatiq's Retries middleware:

- before a message runs, ``start`` checks the fence (a stale copy, a job that already ended or a
  job without a record is skipped) and the delivery cap (a job whose worker died under it
  ``HOOKYARD_MAX_DELIVERIES`` times goes to dead instead of killing the next worker);
- after it runs, the outcome is recorded: succeeded / superseded, cancelled, or what
  ``hookyard.jobs.failures`` decides for a failure: retrying (exponential backoff with jitter,
  the delayed message enqueued in the same atomic step), waiting for an unavailable upstream
  (retrying without spending an attempt), or failed (dead).

Messages are always acked, never nacked: the dead-letter queue is the set of failed job records,
which keep everything needed to replay them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from dramatiq.broker import Broker, MessageProxy
from dramatiq.middleware import Middleware, SkipMessage

from hookyard.base import metrics
from hookyard.base.errors import JobCancelled
from hookyard.base.logs import job_context, untag_job
from hookyard.base.settings import Settings
from hookyard.jobs.failures import FAILED, describe_error, record_failure, retry_delay_ms
from hookyard.jobs.records import HandedOff, Superseded
from hookyard.jobs.store import JobStore

log = logging.getLogger(__name__)


WORKER_DIED = {"code": "worker_died", "type": "WorkerDied",
               "message": "The job's previous run ended with its worker process (killed or out "
                          "of memory); it runs again after a backoff."}
"""The ``error`` of a job whose run died with its worker (see ``_back_off_after_worker_death``)."""


class JobLifecycle(Middleware):
    """Records every transition in ``jobs``, the process's one job store (shared by every
    worker thread: start and finish are scripts, each run on a connection a thread takes for
    that one call, ``hookyard/scripts.py``)."""

    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        self.settings = settings
        self.jobs = jobs
        self._running = threading.local()

    @property
    def actor_options(self) -> set[str]:
        # ``throws``: exceptions the worker logs briefly (they end the job as failed anyway).
        return {"throws"}

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        queue = message.queue_name
        job_context.set({"job_id": message.message_id, "queue": queue})
        rmid = message.options["redis_message_id"]
        verdict = self.jobs.start(message.message_id, queue, rmid)
        if verdict.verdict == "suspect":
            self._back_off_after_worker_death(message, verdict.attempts)
            raise SkipMessage(verdict.verdict)
        if verdict.verdict != "run":
            outcome = {"dead": "dead_delivery_cap"}.get(verdict.verdict, "skipped")
            metrics.jobs_total.labels(queue, outcome).inc()
            level = logging.ERROR if verdict.verdict in ("dead", "missing") else logging.INFO
            log.log(level, "job %s not run: %s", message.message_id, verdict.verdict)
            raise SkipMessage(verdict.verdict)
        self._running.started = time.monotonic()
        self._running.attempts = verdict.attempts
        self._running.max_attempts = verdict.max_attempts

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        untag_job()

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        try:
            self._record_outcome(message, result, exception)
        finally:
            untag_job()

    def _record_outcome(self, message: MessageProxy, result: Any,
                        exception: BaseException | None) -> None:
        started = getattr(self._running, "started", None)
        if started is None:
            return
        self._running.started = None
        queue = message.queue_name
        job_id = message.message_id
        rmid = message.options["redis_message_id"]
        metrics.job_duration_seconds.labels(queue).observe(time.monotonic() - started)
        if exception is None and isinstance(result, HandedOff):
            metrics.jobs_total.labels(queue, "handed_to_batch").inc()
            return
        if exception is None:
            state = "superseded" if isinstance(result, Superseded) else "succeeded"
            value = result.result if isinstance(result, Superseded) else result
            self.jobs.finish(job_id, queue, rmid, state, result=value)
            metrics.jobs_total.labels(queue, state).inc()
            return
        error = describe_error(exception)
        if isinstance(exception, JobCancelled):
            self.jobs.finish(job_id, queue, rmid, "cancelled", error=error)
            metrics.jobs_total.labels(queue, "cancelled").inc()
            return
        record = self.jobs.get(job_id)
        if record is None:
            self.jobs.finish(job_id, queue, rmid, "failed", error=error)
            metrics.jobs_total.labels(queue, FAILED).inc()
            return
        outcome = record_failure(self.jobs, self.settings, record, rmid, exception,
                                 attempts=self._running.attempts,
                                 max_attempts=self._running.max_attempts)
        metrics.jobs_total.labels(queue, outcome).inc()

    def _back_off_after_worker_death(self, message: MessageProxy, attempts: int) -> None:
        """The job's previous run died with its worker (SIGKILL, OOM). Its message came back
        together with every other message that worker held, so running it at once would run it
        next to the same jobs again: a poison job would take them down with it each time, until
        the delivery cap dead-letters innocent jobs too. So it is re-run after a jittered backoff
        (as a retry, without spending an attempt), which spreads those jobs apart."""
        record = self.jobs.get(message.message_id)
        if record is None:
            return
        delay_ms = retry_delay_ms(self.settings, attempts)
        error = {**WORKER_DIED, "next_attempt_in_seconds": round(delay_ms / 1000, 3)}
        self.jobs.retry(record, message.options["redis_message_id"], delay_ms=delay_ms,
                        error=error)
        metrics.jobs_total.labels(message.queue_name, "retried").inc()
        log.warning("job %s: its previous run died with its worker; re-run in %.1fs",
                    message.message_id, delay_ms / 1000)
