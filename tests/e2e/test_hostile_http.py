"""Hostile HTTP on the wire, against gunicorn itself: malformed and short bodies, stalled and
trickling clients, and requests gunicorn refuses before the app sees them. Every one is
answered with the JSON error shape and enqueues nothing."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from conftest import Stack
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import ADMIN_TOKEN
from tests.support.raw_http import is_complete, read_answer, split_answer

pytestmark = pytest.mark.e2e

BODY = inventory_body(["SKU-1"])
HEAD = (b"POST /webhooks/nhanh HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n")


def connect(stack: Stack) -> socket.socket:
    host, port = stack.ingest_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=20)


def exchange(stack: Stack, raw: bytes, *, half_close: bool = False) -> tuple[int, dict]:
    """Send ``raw`` (then close our side if asked) and read the answer until the server is
    done; its status and JSON body."""
    with connect(stack) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_json_error(sock)


def read_json_error(sock: socket.socket) -> tuple[int, dict]:
    data = read_answer(sock)
    assert is_complete(data), f"the server closed without a whole answer after {data!r}"
    status, head, body = split_answer(data)
    assert b"application/json" in head.lower(), head
    answer = json.loads(body)
    assert set(answer) == {"error", "message"}, answer
    return status, answer


def nothing_enqueued(stack: Stack) -> None:
    queues = requests.get(f"{stack.ingest_url}/queues", timeout=10,
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["queues"]
    assert all(q["waiting"] == 0 and q["delayed"] == 0 for q in queues.values()), queues


@pytest.fixture
def ingest(make_stack) -> Stack:
    stack: Stack = make_stack(HOOKYARD_INGEST_WORKERS="1", HOOKYARD_INGEST_THREADS="2",
                              HOOKYARD_INGEST_READ_TIMEOUT_SECONDS="4",
                              HOOKYARD_INGEST_READ_IDLE_SECONDS="1")
    stack.start_ingest()
    return stack


def chunked(*chunks: bytes) -> bytes:
    return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(chunks)


@pytest.mark.parametrize("raw, half_close", [
    pytest.param(chunked(b"zz\r\n", BODY, b"\r\n0\r\n\r\n"), False, id="bad size line"),
    pytest.param(chunked(b"%x\r\n" % len(BODY), BODY, b"XX0\r\n\r\n"), False,
                 id="missing CRLF after a chunk"),
    pytest.param(chunked(b"%x\r\n" % len(BODY), BODY, b"\r\n0\r\nbad trailer\r\n\r\n"), False,
                 id="bad trailer"),
    pytest.param(chunked(b"%x\r\n" % len(BODY), BODY, b"\r\n"), True,
                 id="no last chunk, then half-close"),
])
def test_a_malformed_chunked_body_is_a_400_json_error_and_no_job(ingest, raw, half_close):
    status, answer = exchange(ingest, raw, half_close=half_close)
    assert status == 400, answer
    assert answer["error"] in ("invalid_body", "bad_request")
    nothing_enqueued(ingest)


def test_a_body_the_app_did_not_read_that_fails_to_drain_gets_no_second_answer(ingest):
    """415 before the body is read; draining the malformed chunks after it fails. gunicorn
    would write a 400 behind the 415, which a keep-alive client takes for its next answer."""
    raw = (b"POST /webhooks/nhanh HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
           b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    with connect(ingest) as sock:
        sock.sendall(raw)
        wire = b""
        while chunk := sock.recv(65536):  # until the server closes
            wire += chunk
    assert wire.startswith(b"HTTP/1.1 415 ") and wire.count(b"HTTP/1.1 ") == 1, wire


def test_a_body_shorter_than_its_content_length_is_a_400_and_no_job(ingest):
    raw = HEAD + b"Content-Length: %d\r\n\r\n" % (len(BODY) + 50) + BODY
    status, answer = exchange(ingest, raw, half_close=True)
    assert (status, answer["error"]) == (400, "invalid_body")
    assert "Content-Length" in answer["message"]
    nothing_enqueued(ingest)


def test_headers_then_nothing_is_answered_408_at_the_idle_limit(ingest):
    started = time.monotonic()
    status, answer = exchange(ingest, HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY))
    assert (status, answer["error"]) == (408, "request_timeout")
    assert time.monotonic() - started < 4
    nothing_enqueued(ingest)


def test_a_request_line_then_nothing_is_answered_408(ingest):
    status, answer = exchange(ingest, b"POST /webhooks/nhanh HTTP/1.1\r\nHost: in")
    assert (status, answer["error"]) == (408, "request_timeout")


def test_a_trickling_body_is_cut_off_at_the_read_timeout(ingest):
    started = time.monotonic()
    with connect(ingest) as sock:
        sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY))
        sent = 0
        try:
            while sent < len(BODY) - 1 and time.monotonic() - started < 10:
                sock.sendall(BODY[sent:sent + 1])  # one byte every half second
                sent += 1
                time.sleep(0.5)
        except OSError:
            pass  # the server answered and closed while we were still sending
        status, answer = read_json_error(sock)
    assert (status, answer["error"]) == (408, "request_timeout")
    # cut off at the 4 s read timeout, not after the 10 s we would go on trickling
    assert time.monotonic() - started < 9
    nothing_enqueued(ingest)


def test_stalled_clients_do_not_starve_a_small_ingest(make_stack):
    """Four connections that send headers and stop, on one worker with two threads: health
    checks and webhooks still get through, because each stalled client loses its thread at the
    1 s idle limit rather than at the 20 s read timeout.

    Two threads, four stalled clients: a health check waits about two idle limits (2 s). Were
    the idle limit not enforced it would wait for two read timeouts (40 s). The bound of 10 s
    sits far from both, so a slow or busy machine does not make this test flaky."""
    ingest: Stack = make_stack(HOOKYARD_INGEST_WORKERS="1", HOOKYARD_INGEST_THREADS="2",
                               HOOKYARD_INGEST_READ_TIMEOUT_SECONDS="20",
                               HOOKYARD_INGEST_READ_IDLE_SECONDS="1")
    ingest.start_ingest()
    stalled = [connect(ingest) for _ in range(4)]
    try:
        for sock in stalled:
            sock.sendall(HEAD + b"Content-Length: 100\r\n\r\n{")
        time.sleep(0.2)
        waits = []
        for _ in range(3):
            started = time.monotonic()
            assert requests.get(f"{ingest.ingest_url}/healthz", timeout=30).status_code == 200
            waits.append(time.monotonic() - started)
        answer = ingest.post(BODY)
        assert answer.status_code == 200, answer.text
        assert max(waits) < 10, waits
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.parametrize("raw, status, code", [
    pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long",
                 id="request line too long"),
    pytest.param(b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120))
                 + b"\r\n", 431, "headers_too_large", id="too many headers"),
    pytest.param(b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request",
                 id="bad HTTP version"),
    pytest.param(b"POST /webhooks/nhanh HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 b"Transfer-Encoding: \r\n\r\n{}", 400, "unsupported_transfer_coding",
                 id="a transfer coding gunicorn does not implement (its 501)"),
    pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "bad_request",
                 id="TLS sent to plain HTTP"),
])
def test_requests_gunicorn_refuses_itself_get_the_json_error_shape(ingest, raw, status, code):
    answer_status, answer = exchange(ingest, raw)
    assert (answer_status, answer["error"]) == (status, code)
    assert len(answer["message"]) < 400, "the answer never echoes unbounded input"


def test_an_ordinary_webhook_still_passes_after_the_hostile_ones(ingest):
    threads = [threading.Thread(target=exchange, args=(ingest, HEAD + b"Content-Length: 9\r\n"
                                                       b"\r\n{"))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ingest.post(BODY).status_code == 200
