"""The status and operations API: jobs, queues, dead letters, retry and cancel (bearer tokens)."""

from __future__ import annotations

import binascii
from typing import Any

import falcon

from hookyard.errors import BadRequest, Conflict, NotFound
from hookyard.jobs import STATES, JobStore, public_view
from hookyard.settings import QUEUES, ApiToken, Settings
from ingest.auth import bearer_token, require_admin

MAX_LIMIT = 500


def _visible(record: dict[str, Any] | None, token: ApiToken, job_id: str) -> dict[str, Any]:
    """The record if this token may see it; unknown and foreign ids look the same (404)."""
    if record is None or (token.shop is not None and record.get("shop") != token.shop):
        raise NotFound(f"No job {job_id!r} visible to this token.")
    return record


def _queue_param(value: str | None) -> str | None:
    if value is not None and value not in QUEUES:
        raise BadRequest(f"Unknown queue {value!r}; use one of {', '.join(QUEUES)}.")
    return value


class _Authenticated:
    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        self.settings = settings
        self.jobs = jobs

    def token(self, req: falcon.Request) -> ApiToken:
        return bearer_token(req, self.settings.api_tokens)


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
            raise BadRequest(f"Unknown state {state!r}; use one of {', '.join(STATES)}.")
        shop = req.get_param("shop")
        if token.shop is not None:
            if shop not in (None, token.shop):
                raise NotFound(f"Shop {shop!r} is not visible to this token.")
            shop = token.shop
        limit_raw = req.get_param("limit") or "50"
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= MAX_LIMIT:
            raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        try:
            records, cursor = self.jobs.list_jobs(queue=queue, state=state, shop=shop,
                                                  limit=int(limit_raw),
                                                  cursor=req.get_param("cursor"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadRequest("cursor is not one this API gave out; start without it.") from None
        resp.media = {"jobs": [public_view(r) for r in records], "next_cursor": cursor}


class JobRetryResource(_Authenticated):
    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        token = self.token(req)
        require_admin(token)
        record = _visible(self.jobs.get(job_id), token, job_id)
        if not self.jobs.replay(job_id):
            raise Conflict(f"Job {job_id} is {record['state']}; only failed (dead) or cancelled "
                           "jobs can be replayed.")
        resp.status = falcon.HTTP_202
        resp.media = public_view(_visible(self.jobs.get(job_id), token, job_id))


class JobCancelResource(_Authenticated):
    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        token = self.token(req)
        require_admin(token)
        _visible(self.jobs.get(job_id), token, job_id)
        outcome = self.jobs.cancel(job_id)
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
            raise NotFound(f"No queue {queue!r}; queues are {', '.join(QUEUES)}.")
        limit_raw = req.get_param("limit") or "50"
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= MAX_LIMIT:
            raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        resp.media = {"queue": queue,
                      "jobs": [public_view(r) for r in self.jobs.dead(queue,
                                                                      limit=int(limit_raw))]}
