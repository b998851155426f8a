"""Per-request cross-cutting work: request id, access log and HTTP metrics; invented HTTP
methods."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import falcon
import falcon.routing

from hookyard.base import metrics
from hookyard.base.ids import new_uuid4

log = logging.getLogger("hookyard.access")


class RequestObservation:
    """Sets ``X-Request-Id``, logs one line per request (never headers or bodies; the answer's
    ``reason``, its outcome or error code, and a 422's failing ``fields``) and records
    ``hookyard_http_requests_total`` / ``hookyard_http_request_duration_seconds`` by route
    template, not by path, and by method and status from bounded sets (``metrics.
    http_method_label``): no request, however invented its method or path, adds a series.

    It also counts every answer the app gives on a ``/webhooks/`` path, once, in
    ``hookyard_webhook_answers_total``: by status and by the ``answer_reason`` that the
    webhook resource (its outcome) or the error handlers (the error code) left on
    ``resp.context``. Answers gunicorn gives before the app are counted by
    ``ingest.gunicorn_worker``."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        incoming = req.get_header("X-Request-Id") or ""
        req.context.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
            else new_uuid4().replace("-", "")

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "started", None)
        elapsed = time.perf_counter() - started if started else 0.0
        route = req.uri_template or metrics.UNMATCHED_ROUTE
        code = resp.status_code if hasattr(resp, "status_code") else int(str(resp.status)[:3])
        status = metrics.http_status_label(code)
        method = metrics.http_method_label(req.method)
        metrics.http_requests_total.labels(route, method, status).inc()
        metrics.http_request_duration_seconds.labels(route, method).observe(elapsed)
        metrics.count_webhook_answer(req.path, code, getattr(resp.context, "answer_reason", None))
        resp.set_header("X-Request-Id", getattr(req.context, "request_id", ""))
        if route not in ("/metrics", "/healthz", "/readyz"):
            extra = {"route": route, "method": method, "status": code,
                     "duration_ms": round(elapsed * 1000, 2),
                     "request_id": getattr(req.context, "request_id", "")}
            for name in ("reason", "fields"):  # the outcome or error code; a 422's fields
                value = getattr(resp.context, f"answer_{name}", None)
                if value is not None:
                    extra[name] = value
            log.info("%s %s %s", method, route, code, extra=extra)


METHOD_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""RFC 9110's ``token``, the syntax of a method name."""


class InventedMethods:
    """A request whose method Falcon does not know (``XQWERTYUIOP``) on a route that exists is
    answered like a known method the route does not take: 405 with ``Allow`` (Falcon alone
    answers 400 "Invalid HTTP method"). A method that is not even a token stays 400."""

    def process_resource(self, req: falcon.Request, resp: falcon.Response,
                         resource: object | None, params: dict[str, Any]) -> None:
        if (resource is None or req.method in falcon.COMBINED_METHODS
                or not METHOD_TOKEN.fullmatch(req.method)):
            return
        allowed = set(falcon.routing.map_http_methods(resource)) | {"OPTIONS"}
        raise falcon.HTTPMethodNotAllowed(sorted(allowed))
