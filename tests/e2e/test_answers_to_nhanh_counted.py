"""Every answer to a request on a /webhooks/ path is counted once in
``hookyard_webhook_answers_total``, by status and reason, whoever gave it: the app (200s, its
errors, Falcon's 404/405, 503 with Redis down) or gunicorn before the app (408, 414, 431), over
two gunicorn worker processes whose counts /metrics adds up."""

from __future__ import annotations

import json
import re
import socket

import pytest
import requests

from conftest import Stack
from tests.support.nhanh_payloads import TOKEN, inventory_body
from tests.support.raw_http import is_complete, read_answer, split_answer

pytestmark = pytest.mark.e2e

HEAD = b"POST /webhooks/nhanh HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
SERIES = re.compile(r'^hookyard_webhook_answers_total\{reason="([^"]*)",source="([^"]*)",'
                    r'status="([^"]*)"\} ([0-9.e+]+)$', re.M)


def raw_exchange(stack: Stack, raw: bytes) -> tuple[int, str, bytes]:
    """Send ``raw``, read until the server closes; the first answer's status and error code,
    and everything the server sent."""
    with socket.create_connection(("127.0.0.1", stack.ingest_port), timeout=20) as sock:
        sock.sendall(raw)
        data = read_answer(sock)
        assert is_complete(data), data
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    status, _, body = split_answer(data)
    return status, json.loads(body)["error"], data + rest


def answers(stack: Stack) -> dict[tuple[str, str, str], float]:
    text = requests.get(f"{stack.ingest_url}/metrics", timeout=10).text
    return {(source, status, reason): float(value)
            for reason, source, status, value in SERIES.findall(text)}


def test_every_answer_on_a_webhook_path_is_counted_once_by_status_and_reason(make_stack):
    stack: Stack = make_stack(HOOKYARD_INGEST_WORKERS="2", HOOKYARD_INGEST_THREADS="2",
                              HOOKYARD_INGEST_READ_TIMEOUT_SECONDS="4",
                              HOOKYARD_INGEST_READ_IDLE_SECONDS="1")
    stack.start_ingest()
    started = answers(stack)
    assert started[("nhanh", "503", "unavailable")] == 0  # exported before the first failure
    assert set(started.values()) == {0.0}

    body = inventory_body(["SKU-1"])
    statuses = [
        stack.post(body).status_code,
        stack.post(body).status_code,  # duplicate
        stack.post(inventory_body(["SKU-1"], token="rotated-away")).status_code,
        stack.post(inventory_body(["SKU-1"], business_id="9999")).status_code,
        stack.post(json.dumps({"event": "inventoryChange", "businessId": "1001",
                               "webhooksVerifyToken": TOKEN}).encode()).status_code,
        requests.get(f"{stack.ingest_url}/webhooks/nhanh", timeout=10).status_code,
        requests.post(f"{stack.ingest_url}/webhooks/shopify", data=b"{}",
                      timeout=10).status_code,
        requests.get(f"{stack.ingest_url}/healthz", timeout=10).status_code,  # not a webhook
    ]
    assert statuses == [200, 200, 401, 404, 422, 405, 404, 200]

    # The body stalls after its headers: the app's read gives up (408 from the app).
    status, code, wire = raw_exchange(stack, HEAD + b"Content-Length: %d\r\n\r\n{" % len(body))
    assert (status, code) == (408, "request_timeout")
    assert wire.count(b"HTTP/1.1 ") == 1, wire
    # Stalled in the headers: gunicorn answers before the app.
    status, code, _ = raw_exchange(stack, b"POST /webhooks/nhanh HTTP/1.1\r\nHost: in")
    assert (status, code) == (408, "request_timeout")
    status, code, _ = raw_exchange(stack, b"POST /webhooks/nhanh?" + b"a" * 9000 + b" HTTP/1.1"
                                   b"\r\nHost: x\r\n\r\n")
    assert (status, code) == (414, "uri_too_long")
    status, code, _ = raw_exchange(stack, b"POST /webhooks/nhanh/inventory HTTP/1.1\r\n"
                                   + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n")
    assert (status, code) == (431, "headers_too_large")
    status, code, _ = raw_exchange(stack, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
    assert status == 414  # not a webhook path: not counted
    # The app answers 415 before reading the body; draining that malformed chunked body
    # afterwards fails, and that must not become a second answer (or a second count).
    status, code, wire = raw_exchange(
        stack, b"POST /webhooks/nhanh HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
               b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    assert (status, code) == (415, "unsupported_media_type")
    assert wire.count(b"HTTP/1.1 ") == 1, wire

    stack.redis.kill()
    down = stack.post(inventory_body(["SKU-2"]))
    assert (down.status_code, down.json()["error"]) == (503, "unavailable")

    counted = {labels: value for labels, value in answers(stack).items() if value}
    assert counted == {
        ("nhanh", "200", "accepted"): 1,
        ("nhanh", "200", "duplicate"): 1,
        ("nhanh", "401", "invalid_token"): 1,
        ("nhanh", "404", "unknown_shop"): 1,
        ("nhanh", "422", "validation_failed"): 1,
        ("nhanh", "405", "method_not_allowed"): 1,
        ("other", "404", "not_found"): 1,
        ("nhanh", "408", "request_timeout"): 2,
        ("nhanh", "414", "uri_too_long"): 1,
        ("nhanh", "431", "headers_too_large"): 1,
        ("nhanh", "415", "unsupported_media_type"): 1,
        ("nhanh", "503", "unavailable"): 1,
    }
