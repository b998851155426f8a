"""One mapping from failures to HTTP: ``{"error": "<code>", "message": "..."}`` always.

Hookyard errors carry their status and code; Redis failures are 503 ``unavailable`` with
``Retry-After`` (never a 2xx: the delivery is not confirmed; after a timeout Redis may still run
the acceptance, and the re-send then answers 200 ``duplicate``); Falcon's own errors (unknown
route, wrong method) get the same body shape; anything unexpected is a 500 without internals.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon
import redis

from hookyard.base import metrics
from hookyard.base.errors import HookyardError, Unavailable, clipped

log = logging.getLogger("hookyard.ingest")

FALCON_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _write(resp: falcon.Response, status: int, code: str, message: str,
           extra: dict[str, Any] | None = None) -> None:
    resp.context.answer_reason = code  # what ingest.middleware counts a webhook answer by
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps({"error": code, "message": message, **(extra or {})},
                           ensure_ascii=False)


LOGGED_FIELDS = 10
"""Failing fields of a 422 its access log line names (the answer names up to 50)."""


def handle_hookyard_error(req: falcon.Request, resp: falcon.Response, ex: HookyardError,
                          params: dict[str, Any]) -> None:
    _write(resp, ex.status, ex.code, ex.message, dict(ex.details))
    fields = ex.details.get("fields")
    if isinstance(fields, list):  # the sender sees them in the answer, the operator in the log
        resp.context.answer_fields = [clipped(str(item.get("field", "")))
                                      for item in fields[:LOGGED_FIELDS]
                                      if isinstance(item, dict)]
    if ex.retry_after_seconds is not None:
        resp.set_header("Retry-After", str(ex.retry_after_seconds))
    _count_webhook_rejection(req, ex.code)


def handle_redis_error(req: falcon.Request, resp: falcon.Response, ex: redis.RedisError,
                       params: dict[str, Any]) -> None:
    log.warning("redis unavailable: %s", type(ex).__name__)
    handle_hookyard_error(req, resp, Unavailable(
        "Hookyard's store did not confirm this delivery; send it again later (if it was "
        "accepted after all, the re-send answers 200 with its original job ids)."), params)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: dict[str, Any]) -> None:
    if isinstance(ex, falcon.HTTPError):
        serialize_falcon_error(req, resp, ex)
        return
    log.exception("unexpected error on %s %s", req.method, req.uri_template or req.path)
    _write(resp, 500, "internal_error", "Something went wrong on our side; retry later.")


def serialize_falcon_error(req: falcon.Request, resp: falcon.Response,
                           ex: falcon.HTTPError) -> None:
    status = int(ex.status_code)
    code = FALCON_CODES.get(status, "http_error")
    message = ex.description or ex.title or "Request failed."
    if status == 404:
        message = f"There is no {req.path!r} here; see /openapi.yaml for the routes."
    elif status == 405:
        method = req.method if req.method in falcon.COMBINED_METHODS else "That method"
        message = f"{method} is not allowed here; see the Allow header."
    elif status == 400 and req.method not in falcon.COMBINED_METHODS:
        message = ("That is not an HTTP method; send one of the methods each route takes "
                   "(see /openapi.yaml).")
    headers = ex.headers or {}
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    for name, value in pairs:
        resp.set_header(str(name), str(value))
    _write(resp, status, code, message)


def _count_webhook_rejection(req: falcon.Request, code: str) -> None:
    if req.path.startswith("/webhooks/"):
        outcome = "unavailable" if code == "unavailable" else f"rejected_{code}"
        metrics.webhooks_total.labels("nhanh", outcome).inc()


def install_error_handling(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(redis.RedisError, handle_redis_error)
    app.add_error_handler(HookyardError, handle_hookyard_error)
    app.set_error_serializer(serialize_falcon_error)
