"""A tiny real HTTP server that records the webhooks a sandbox sends it, for tests.

It answers each POST with the next status of ``statuses`` (then 200 for good) and keeps every
request: path, headers (lower-case names), decoded JSON body and arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    """``time.monotonic()`` when it arrived."""
    status: int
    """What the receiver answered."""


class WebhookReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, statuses: Iterable[int] = ()) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = list(statuses)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/webhooks/nhanh"

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, once they arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} webhooks arrived")
            time.sleep(0.02)


class _Handler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        status = self.server.next_status()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        with self.server.lock:
            self.server.received.append(Received(
                path=self.path, headers={k.lower(): v for k, v in self.headers.items()},
                body=body, at=time.monotonic(), status=status))
        payload = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def webhook_receiver(statuses: Iterable[int] = ()) -> Iterator[WebhookReceiver]:
    """A running receiver (on a free loopback port) for the ``with`` block."""
    server = WebhookReceiver(statuses)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
