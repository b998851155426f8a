"""A worker's small HTTP endpoint: ``/metrics`` (Prometheus) and ``/healthz`` (liveness)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.registry import Collector

from hookyard.base.metrics import render_metrics


def serve_health(host: str, port: int, *, healthy: Callable[[], bool],
                 collectors: list[Collector]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, content_type = render_metrics(collectors)
                self._send(200, body, content_type)
            elif self.path == "/healthz":
                ok = healthy()
                self._send(200 if ok else 503, b'{"ok":true}' if ok else b'{"ok":false}',
                           "application/json")
            else:
                self._send(404, b'{"error":"not_found","message":"Try /metrics or /healthz."}',
                           "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="hookyard-health", daemon=True).start()
    return server
