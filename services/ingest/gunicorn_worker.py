"""Ingest's gunicorn worker: gthread with a read deadline per request and JSON error answers.

**Read deadline.** gthread reads a request's line, headers and body on a blocking socket with
no timeout, so a client that sends part of a request and stops (or trickles it) holds a worker
thread for as long as it likes: two such connections starved a 1-worker x 2-thread ingest. Each
request must now arrive in full within ``HOOKYARD_INGEST_READ_TIMEOUT_SECONDS``, with no pause
longer than ``HOOKYARD_INGEST_READ_IDLE_SECONDS`` between two reads; otherwise it is answered
408 ``request_timeout`` and the connection is closed. A connection that has sent nothing yet
holds no thread (gthread hands it back to its poller). The decision, the alternatives and the
measurement are in docs/security.md ("Slow and stalled clients").

**JSON errors.** gunicorn answers requests it cannot parse (400, 414, 431, ...) itself, with an
HTML page. This worker answers them in Hookyard's error shape instead, by giving gunicorn's
error writer a JSON one when the worker process starts.

**One answer per request.** When draining a body the app did not read fails after the app
answered (a malformed chunk, a stall), gunicorn would write an error after that answer; the
client would take it for its next request's. A request already answered gets no second one:
the connection closes.

**Counted.** The answers gunicorn gives never reach the app, so its middleware cannot count
them: ``write_json_error`` counts each one on a ``/webhooks/`` path in
``hookyard_webhook_answers_total``, by the path of the request line the worker saw arrive
(``DeadlineSocket.request_path``; gunicorn may not have parsed it, as for 414 or a stall).
"""

from __future__ import annotations

import io
import socket
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from hookyard.base.settings import Settings

# gunicorn's status -> Hookyard's stable error code.
ERROR_CODES = {400: "bad_request", 403: "forbidden", 408: "request_timeout",
               414: "uri_too_long", 417: "expectation_failed", 431: "headers_too_large",
               500: "internal_error"}
# gunicorn answers a Transfer-Encoding it does not implement with 501. That is the sender's
# bad input, and a 5xx would page on-call for it: Hookyard answers 400 with its own code.
SENDER_FAULTS = {501: (400, "Bad Request", "unsupported_transfer_coding")}
ADVICE = {414: "Shorten the URL (at most 8190 bytes in the request line).",
          431: "Send fewer or shorter headers.",
          408: "Send the whole request again without pausing.",
          500: "Try again; if it persists, tell the operators with the time of the request."}
MESSAGE_LIMIT = 200  # what an error echoes of the request, at most
HEAD_BYTES = 256  # of each request kept to tell its path, enough for "POST /webhooks/<source>"


class ReadDeadlineExceeded(Exception):
    """The request did not arrive within its read deadline (not an ``OSError``, so that
    gthread's handler answers it instead of only logging a socket error)."""


def request_path(head: bytes) -> str:
    """The decoded path of the request line ``head`` starts with ('' when ``head`` holds no
    method and target yet). A target cut off by the end of ``head`` gives the part seen."""
    line = head.removeprefix(b"\r\n").split(b"\r\n", 1)[0]
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0]:
        return ""
    target = parts[1].decode("latin-1")
    if target.lower().startswith(("http://", "https://")):  # absolute form
        target = urlsplit(target).path
    return unquote(target.split("?", 1)[0].split("#", 1)[0])


class DeadlineSocket:
    """A client socket whose reads share one deadline per request.

    Every ``recv`` waits at most for what is left of the request's deadline and at most
    ``idle`` seconds; past either it raises ``ReadDeadlineExceeded``. Sends wait at most the
    whole read timeout. Everything else is the socket's own.

    Per request it also keeps the first ``HEAD_BYTES`` that arrived (``request_path``) and
    whether an answer was sent (``answered``)."""

    def __init__(self, sock: socket.socket, *, total: float, idle: float) -> None:
        self._sock, self._total, self._idle = sock, total, idle
        self._deadline = time.monotonic() + total
        self._head = b""
        self.answered = False

    def start_request(self, buffered: bytes = b"") -> None:
        """A new request starts; ``buffered`` is what of it was read with the previous one."""
        self._deadline = time.monotonic() + self._total
        self._head = buffered[:HEAD_BYTES]
        self.answered = False

    def request_path(self) -> str:
        """The path of this request's request line, as far as it arrived."""
        return request_path(self._head)

    def _keep_head(self, data: bytes | memoryview) -> None:
        self._head += bytes(data[:HEAD_BYTES - len(self._head)])

    def _arm(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ReadDeadlineExceeded
        self._sock.settimeout(min(remaining, self._idle))

    def recv(self, size: int, *flags: int) -> bytes:
        self._arm()
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:
            raise ReadDeadlineExceeded from None
        if len(self._head) < HEAD_BYTES:
            self._keep_head(data)
        return data

    def recv_into(self, buffer: Any, *args: int) -> int:
        self._arm()
        try:
            received = self._sock.recv_into(buffer, *args)
        except TimeoutError:
            raise ReadDeadlineExceeded from None
        if len(self._head) < HEAD_BYTES:
            self._keep_head(memoryview(buffer)[:received])
        return received

    def sendall(self, data: bytes, *flags: int) -> None:
        self.answered = True
        if self._sock.gettimeout() != 0.0:  # gunicorn's non-blocking error writes stay so
            self._sock.settimeout(self._total)
        self._sock.sendall(data, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def count_answer(path: str, status: int, code: str) -> None:
    """``metrics.count_webhook_answer``, imported here rather than at the top: the gunicorn
    master imports this module before ``gunicorn_conf`` sets ``PROMETHEUS_MULTIPROC_DIR``, and
    ``prometheus_client`` chooses between in-process and multiprocess values when it is first
    imported. Only worker processes answer requests, and they import it after the fork."""
    from hookyard.base import metrics

    metrics.count_webhook_answer(path, status, code)


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` with Hookyard's error shape instead of an HTML page."""
    code = ERROR_CODES.get(status_int, "bad_request")
    if status_int in SENDER_FAULTS:
        status_int, reason, code = SENDER_FAULTS[status_int]
    if isinstance(sock, DeadlineSocket):
        count_answer(sock.request_path(), status_int, code)
    detail = mesg if len(mesg) <= MESSAGE_LIMIT else mesg[:MESSAGE_LIMIT] + "..."
    message = f"{reason}: {detail}." if detail else f"{reason}."
    advice = ADVICE.get(status_int, "Fix the request and send it again.")
    body = orjson.dumps({"error": code, "message": f"{message} {advice}"})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


class IngestWorker(ThreadWorker):
    """gthread with ``DeadlineSocket`` connections and JSON error answers."""

    def init_process(self) -> None:
        settings = Settings.from_env()
        self.read_timeout = settings.ingest_read_timeout_seconds
        self.read_idle = settings.ingest_read_idle_seconds
        util.write_error = write_json_error  # this worker process's gunicorn answers in JSON
        super().init_process()

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, total=self.read_timeout, idle=self.read_idle)
        conn.sock.start_request(pipelined(conn))
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if getattr(client, "answered", False):
            # Raised after the app's answer (draining a body it did not read): a second answer
            # would be taken for the next request's. The connection closes instead.
            self.log.info("request from %s failed after it was answered (%s); connection "
                          "closed", (addr or ("",))[0], type(exc).__name__)
            return
        if isinstance(exc, ReadDeadlineExceeded):
            self.log.info("request from %s did not arrive within %s s; answered 408",
                          (addr or ("",))[0], self.read_timeout)
            try:
                write_json_error(client, 408, "Request Timeout",
                                 "the request did not arrive in time")
            except OSError:
                pass
            return
        super().handle_error(req, client, addr, exc)


def pipelined(conn: Any) -> bytes:
    """What gunicorn's parser of a kept-alive connection already read of the next request
    (the client sent it with the previous one), so that its path is known too."""
    buffer = getattr(getattr(getattr(conn, "parser", None), "unreader", None), "buf", None)
    return buffer.getvalue()[:HEAD_BYTES] if isinstance(buffer, io.BytesIO) else b""
