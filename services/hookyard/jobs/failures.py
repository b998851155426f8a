"""What happens to a job whose run raised: retry, wait for its upstream, or dead.

Two kinds of failure, two policies (docs/reliability.md, "Upstream outages"):

- **The job's own failure** (bad data, Shopify rejecting the input, an unexpected error): today's
  policy. Retryable errors retry with exponential backoff (``HOOKYARD_RETRY_BASE_SECONDS``,
  doubling, jittered) until ``HOOKYARD_MAX_RETRIES`` are spent; the others are dead at once.
- **Its upstream was unavailable** (an error whose ``upstream`` is set: Shopify or Nhanh
  answering 5xx, timing out, refusing connections, throttling past the wait limit, or the shop's
  circuit breaker being open): the job *waits*. The attempt is given back, the record says since
  when and for what (``waiting_since``, ``error.waiting_for``), and the job runs again just after
  the breaker's next probe (or after a backoff capped at the breaker's longest probe interval),
  so work resumes within seconds of Shopify answering again. Only after
  ``HOOKYARD_UPSTREAM_MAX_OUTAGE_SECONDS`` of waiting is it dead, with ``upstream_unavailable``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from dramatiq.common import compute_backoff
from dramatiq.middleware.time_limit import TimeLimitExceeded

from hookyard.base.errors import (
    HookyardError,
    JobError,
    ShopifyUnavailable,
    UpstreamUnavailable,
)
from hookyard.base.settings import Settings
from hookyard.jobs.records import iso, now_ms
from hookyard.jobs.store import JobStore

WAITING, RETRIED, FAILED = "waiting", "retried", "failed"
"""What ``record_failure`` did (``hookyard_jobs_total`` outcomes)."""


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The ``error`` of a job record: a stable code, a message, and the exception type."""
    if isinstance(exc, HookyardError):
        return {"code": exc.code, "message": exc.message, "type": type(exc).__name__}
    if isinstance(exc, TimeLimitExceeded):
        return {"code": "time_limit_exceeded", "type": "TimeLimitExceeded",
                "message": "The job ran past its queue's time limit and was interrupted."}
    return {"code": "unexpected_error", "type": type(exc).__name__, "message": str(exc)[:2000]}


def retry_delay_ms(settings: Settings, attempts: int,
                   exception: BaseException | None = None) -> int:
    """Exponential backoff with jitter from ``HOOKYARD_RETRY_BASE_SECONDS``; an error's own
    ``retry_after_seconds`` (a throttle's Retry-After) is a floor."""
    _, delay = compute_backoff(
        max(0, attempts - 1),
        factor=int(settings.retry_base_seconds * 1000),
        max_backoff=int(settings.retry_max_seconds * 1000),
        jitter=True,
    )
    hint = exception.retry_after_seconds if isinstance(exception, HookyardError) else None
    if hint is not None:
        delay = max(delay, int(hint * 1000))
    return int(delay)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, JobError):
        return exc.retryable
    return isinstance(exc, Exception)  # not KeyboardInterrupt/SystemExit-style interrupts


def upstream_of(exc: BaseException) -> str | None:
    """The unavailable service that failed the job, or None for the job's own failure."""
    return exc.upstream if isinstance(exc, JobError) and exc.retryable else None


BREAKER_WAKE_SPREAD_SECONDS = 2.0
"""Waiting jobs of a shop whose breaker is open wake within this long after its next probe."""


def upstream_wait_ms(settings: Settings, waits: int, exc: BaseException) -> int:
    """How long a waiting job sleeps before it tries again.

    The shop's breaker is open (``ShopifyUnavailable``): until just after its next probe, spread
    over ``BREAKER_WAKE_SPREAD_SECONDS``; asking the breaker costs no Shopify call, so the
    shop's work resumes within seconds of the probe that finds Shopify back. Otherwise (a 5xx
    before the breaker opened, Nhanh): a backoff from ``HOOKYARD_RETRY_BASE_SECONDS`` capped at
    the breaker's longest probe interval, at least the error's hint, spread by up to a quarter."""
    hint = exc.retry_after_seconds if isinstance(exc, HookyardError) else None
    if isinstance(exc, ShopifyUnavailable) and hint is not None:
        return int((hint + random.random() * BREAKER_WAKE_SPREAD_SECONDS) * 1000)
    cap = settings.breaker_probe_max_seconds * 1000
    backoff = min(cap, settings.retry_base_seconds * 1000 * 2 ** min(waits - 1, 30))
    base = max(backoff, (hint or 0) * 1000)
    return int(base * (1 + random.random() / 4))


def record_failure(jobs: JobStore, settings: Settings, record: Mapping[str, Any], rmid: str,
                   exc: BaseException, *, attempts: int, max_attempts: int) -> str:
    """Record how the run ``rmid`` of ``record`` ended after raising ``exc`` (its ``attempts``
    counting this run): waiting, retried or failed (dead). Returns which."""
    error = describe_error(exc)
    upstream = upstream_of(exc)
    now = now_ms()
    if upstream is not None:
        since = int(record.get("waiting_since") or 0) or now
        if now - since < settings.upstream_max_outage_seconds * 1000:
            waits = int(record.get("waits") or 0) + 1
            delay_ms = upstream_wait_ms(settings, waits, exc)
            error.update(waiting_for=upstream, waiting_since=iso(since),
                         next_attempt_in_seconds=round(delay_ms / 1000, 3))
            jobs.retry(record, rmid, delay_ms=delay_ms, error=error,
                       fields={"attempts": max(0, attempts - 1), "waiting_since": since,
                               "waits": waits})
            return WAITING
        dead = UpstreamUnavailable(
            f"{upstream} was unavailable from {iso(since)} for longer than "
            f"HOOKYARD_UPSTREAM_MAX_OUTAGE_SECONDS ({settings.upstream_max_outage_seconds} s); "
            f"the last error: {error['message']} Replay the job (POST /jobs/{{id}}/retry) once "
            f"{upstream} answers again.")
        jobs.finish(str(record["id"]), str(record["queue"]), rmid, "failed",
                    error={**describe_error(dead), "waiting_for": upstream,
                           "waiting_since": iso(since), "last_error": error})
        return FAILED
    if is_retryable(exc) and attempts < max_attempts:
        delay_ms = retry_delay_ms(settings, attempts, exc)
        error["next_attempt_in_seconds"] = round(delay_ms / 1000, 3)
        jobs.retry(record, rmid, delay_ms=delay_ms, error=error,
                   fields={"waiting_since": "", "waits": 0})
        return RETRIED
    jobs.finish(str(record["id"]), str(record["queue"]), rmid, "failed", error=error)
    return FAILED
