"""The status and operations API: jobs, queues, dead letters, retry and cancel, the audit log,
shops and their Shopify circuit breakers (bearer tokens).

Every request is counted against its token's budget (``HOOKYARD_API_RATE_LIMIT_PER_MINUTE`` in a
sliding 60 s window kept in Redis, so all replicas share it); over it answers 429
``rate_limited`` with ``Retry-After``. Operator actions need an ``admin`` token and are written to
the audit log (``hookyard.jobs.audit``) together with the action, refused attempts included.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from typing import Any

import falcon

from hookyard.base import keys
from hookyard.base.api_tokens import ApiToken
from hookyard.base.errors import BadRequest, Conflict, HookyardError, NotFound, RateLimited, quoted
from hookyard.base.queues import QUEUES
from hookyard.base.settings import Settings
from hookyard.base.shops import ShopConfig
from hookyard.jobs.audit import AuditLog
from hookyard.jobs.operator_actions import OperatorActions
from hookyard.jobs.records import STATES
from hookyard.jobs.store import JobStore
from hookyard.jobs.turns import Backlog, Turns
from hookyard.jobs.views import public_view
from hookyard.shopify.breaker import BreakerState, read_breakers
from hookyard.storage.rate_limits import SlidingWindowLimit
from ingest.auth import bearer_token, require_admin

MAX_LIMIT = 500
RATE_WINDOW_SECONDS = 60
LIMIT = re.compile(r"[0-9]{1,4}")
"""ASCII digits, few enough that ``int`` is cheap (``str.isdigit`` also takes ``²``, which
``int`` refuses)."""
BAD_CURSOR = "cursor is not one this API gave out; start without it."


def _visible(record: dict[str, Any] | None, token: ApiToken, job_id: str) -> dict[str, Any]:
    """The record if this token may see it; unknown and foreign ids look the same (404)."""
    if record is None or (token.shop is not None and record.get("shop") != token.shop):
        raise NotFound(f"No job {quoted(job_id)} visible to this token.")
    return record


def _queue_param(value: str | None) -> str | None:
    if value is not None and value not in QUEUES:
        raise BadRequest(f"Unknown queue {quoted(value)}; use one of {', '.join(QUEUES)}.")
    return value


def _limit_param(req: falcon.Request) -> int:
    limit_raw = req.get_param("limit") or "50"
    if not LIMIT.fullmatch(limit_raw) or not 1 <= int(limit_raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(limit_raw)


def _page(jobs: JobStore, req: falcon.Request, *, queue: str | None, state: str | None,
          shop: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``JobStore.list_jobs`` by the request's ``limit`` and ``cursor`` (400 for a
    cursor this API did not hand out)."""
    limit = _limit_param(req)
    try:
        return jobs.list_jobs(queue=queue, state=state, shop=shop, limit=limit,
                              cursor=req.get_param("cursor"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(BAD_CURSOR) from None


def audit_log(settings: Settings, jobs: JobStore) -> AuditLog:
    """The audit log in the state DB, through ingest's (short-timeout) state client."""
    return AuditLog(jobs.state, retention_seconds=settings.audit_retention_seconds,
                    max_entries=settings.audit_max_entries)


class _Authenticated:
    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        self.settings = settings
        self.jobs = jobs
        self.audit = audit_log(settings, jobs)
        self.rate = SlidingWindowLimit(jobs.state, limit=settings.api_rate_limit_per_minute,
                                       window_seconds=RATE_WINDOW_SECONDS)

    def token(self, req: falcon.Request) -> ApiToken:
        """The caller's token (401 without a valid one), admitted by its rate budget (429)."""
        token = bearer_token(req, self.settings.api_tokens)
        admission = self.rate.admit(keys.api_rate(token.name))
        if not admission.admitted:
            raise RateLimited(
                f"Token {token.name!r} made {self.settings.api_rate_limit_per_minute} requests in "
                "the last minute (HOOKYARD_API_RATE_LIMIT_PER_MINUTE); retry after "
                f"{admission.retry_after_seconds} s.",
                retry_after_seconds=admission.retry_after_seconds)
        return token


class _OperatorAction(_Authenticated):
    """``POST /jobs/{id}/<action>``: admin only; every attempt by a valid token is audited: a
    performed action by its own script, in the same step (``hookyard.jobs.operator_actions``), a
    refused one with ``refused`` and the error code."""

    action = ""

    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        super().__init__(settings, jobs)
        self.actions = OperatorActions(jobs, self.audit)

    def perform(self, resp: falcon.Response, token: ApiToken, job_id: str,
                request_id: str) -> None:
        raise NotImplementedError

    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        token = self.token(req)
        request_id = getattr(req.context, "request_id", "")
        try:
            require_admin(token)
            self.perform(resp, token, job_id, request_id)
        except HookyardError as exc:
            self.audit.record_refusal(who=token.name, action=self.action, error=exc,
                                      job_id=job_id, request_id=request_id)
            raise


class JobResource(_Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        token = self.token(req)
        resp.media = public_view(_visible(self.jobs.get(job_id), token, job_id))


class JobsResource(_Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        token = self.token(req)
        queue = _queue_param(req.get_param("queue"))
        state = req.get_param("state")
        if state is not None and state not in STATES:
            raise BadRequest(f"Unknown state {quoted(state)}; use one of {', '.join(STATES)}.")
        shop = req.get_param("shop")
        if token.shop is not None:
            if shop not in (None, token.shop):
                raise NotFound(f"Shop {quoted(shop)} is not visible to this token.")
            shop = token.shop
        records, cursor = _page(self.jobs, req, queue=queue, state=state, shop=shop)
        resp.media = {"jobs": [public_view(r) for r in records], "next_cursor": cursor}


class JobRetryResource(_OperatorAction):
    action = "retry"

    def perform(self, resp: falcon.Response, token: ApiToken, job_id: str,
                request_id: str) -> None:
        record = _visible(self.jobs.get(job_id), token, job_id)
        if not self.actions.replay(job_id, who=token.name, request_id=request_id):
            raise Conflict(f"Job {job_id} is {record['state']}; only failed (dead) or cancelled "
                           "jobs can be replayed.")
        resp.status = falcon.HTTP_202
        resp.media = public_view(_visible(self.jobs.get(job_id), token, job_id))


class JobCancelResource(_OperatorAction):
    action = "cancel"

    def perform(self, resp: falcon.Response, token: ApiToken, job_id: str,
                request_id: str) -> None:
        _visible(self.jobs.get(job_id), token, job_id)
        outcome = self.actions.cancel(job_id, who=token.name, request_id=request_id)
        if outcome not in ("cancelled", "requested"):
            raise Conflict(f"Job {job_id} already ended ({outcome}); nothing to cancel.")
        resp.status = falcon.HTTP_202 if outcome == "requested" else falcon.HTTP_200
        resp.media = public_view(_visible(self.jobs.get(job_id), token, job_id))


class QueuesResource(_Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_admin(self.token(req))
        resp.media = {"queues": self.jobs.queue_stats()}


class DeadJobsResource(_Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response, queue: str) -> None:
        require_admin(self.token(req))
        if queue not in QUEUES:
            raise NotFound(f"No queue {quoted(queue)}; queues are {', '.join(QUEUES)}.")
        records, cursor = _page(self.jobs, req, queue=queue, state="failed", shop=None)
        resp.media = {"queue": queue, "jobs": [public_view(r) for r in records],
                      "next_cursor": cursor}


class AuditResource(_Authenticated):
    """``GET /audit?limit=&cursor=``: operator actions, newest first (admin)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_admin(self.token(req))
        limit = _limit_param(req)
        try:
            entries, cursor = self.audit.recent(limit=limit, cursor=req.get_param("cursor"))
        except ValueError:
            raise BadRequest(BAD_CURSOR) from None
        resp.media = {"entries": [e.view() for e in entries], "next_cursor": cursor}


def shop_view(shop: ShopConfig, *, breaker: BreakerState,
              backlog: Mapping[str, Backlog]) -> dict[str, Any]:
    """One shop as ``GET /shops`` shows it: its plan, weight, Shopify circuit breaker and sync
    backlog per queue. Each concern adds a key of its own (reconciliation status comes next,
    issue #18), so callers can rely on the keys that exist and ignore new ones."""
    return {"plan": shop.plan, "weight": shop.weight, "breaker": breaker.view(),
            "backlog": {queue: {"waiting": b.waiting,
                                "oldest_waiting_age_seconds": b.oldest_waiting_age_seconds}
                        for queue, b in backlog.items()}}


class ShopsResource(_Authenticated):
    """``GET /shops``: the configured shops this token may see (admin: every one; ``shop:<id>``:
    its own), read in one Redis round trip."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        token = self.token(req)
        shops = [s for s in self.settings.shops if token.shop in (None, s.id)]
        breakers = read_breakers(self.jobs.state, [s.id for s in shops])
        backlogs = Turns(self.jobs).backlogs([s.id for s in shops])
        resp.media = {"shops": {s.id: shop_view(s, breaker=breakers[s.id],
                                                backlog=backlogs[s.id]) for s in shops}}
