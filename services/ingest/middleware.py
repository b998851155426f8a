"""Per-request cross-cutting work: request id, access log and HTTP metrics."""

from __future__ import annotations

import logging
import time

import falcon

from hookyard import metrics
from hookyard.ids import new_uuid4

log = logging.getLogger("hookyard.access")


class RequestObservation:
    """Sets ``X-Request-Id``, logs one line per request (never headers or bodies) and records
    ``hookyard_http_requests_total`` / ``hookyard_http_request_duration_seconds`` by route
    template (bounded), not by path."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        incoming = req.get_header("X-Request-Id") or ""
        req.context.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
            else new_uuid4().replace("-", "")

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "started", None)
        elapsed = time.perf_counter() - started if started else 0.0
        route = req.uri_template or "unmatched"
        status = str(resp.status_code if hasattr(resp, "status_code") else resp.status)[:3]
        metrics.http_requests_total.labels(route, req.method, status).inc()
        metrics.http_request_duration_seconds.labels(route, req.method).observe(elapsed)
        resp.set_header("X-Request-Id", getattr(req.context, "request_id", ""))
        if route not in ("/metrics", "/healthz", "/readyz"):
            log.info("%s %s %s", req.method, route, status, extra={
                "route": route, "method": req.method, "status": int(status),
                "duration_ms": round(elapsed * 1000, 2),
                "request_id": getattr(req.context, "request_id", "")})
