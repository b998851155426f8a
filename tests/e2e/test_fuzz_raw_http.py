"""Hypothesis over raw HTTP against a real gunicorn ingest: requests mutated from a valid
webhook (methods, paths, headers, framing, bodies) never get a 5xx or a non-JSON error, never
hang past the read deadline, and do not grow the worker's memory past a bound.

The budget is ``HOOKYARD_FUZZ_EXAMPLES`` (default 120 in ``make test``; the README shows a longer
run)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Stack
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import TOKEN
from tests.support.raw_http import read_answer, split_answer

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("HOOKYARD_FUZZ_EXAMPLES", "120"))
# make test replays the same examples every run; a longer run explores new ones each time.
DERANDOMIZE = "HOOKYARD_FUZZ_EXAMPLES" not in os.environ
READ_TIMEOUT = 3  # HOOKYARD_INGEST_READ_TIMEOUT_SECONDS of the fuzzed ingest
ANSWER_WITHIN = READ_TIMEOUT + 5
RSS_GROWTH_LIMIT = 64 * 1024 * 1024

VALID = inventory_body(["SKU-1"], token=None)
methods = st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]) | \
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
            max_size=12)
paths = st.sampled_from(["/webhooks/nhanh", "/webhooks/nhanh/inventory", "/deploys",
                         "/jobs", "/jobs/x", "/queues", "/audit", "/healthz", "/metrics"]) | \
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40).map(
        lambda tail: "/" + tail)
header_values = st.binary(max_size=40).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
extra_headers = st.lists(st.tuples(
    st.sampled_from([b"Content-Type", b"Content-Length", b"Transfer-Encoding", b"verifyToken",
                     b"Authorization", b"Expect", b"X-Odd", b"Connection"]), header_values),
    max_size=4)
bodies = st.one_of(st.just(VALID), st.binary(max_size=300),
                   st.builds(lambda cut: VALID[:cut], st.integers(0, len(VALID))),
                   st.builds(lambda junk: VALID + junk, st.binary(max_size=20)))
framings = st.sampled_from(["length", "short-length", "long-length", "chunked", "bad-chunked",
                            "none"])


def frame(body: bytes, framing: str) -> tuple[list[bytes], bytes]:
    if framing == "length":
        return [b"Content-Length: %d" % len(body)], body
    if framing == "short-length":
        return [b"Content-Length: %d" % max(0, len(body) - 3)], body
    if framing == "long-length":
        return [b"Content-Length: %d" % (len(body) + 3)], body
    if framing == "chunked":
        return [b"Transfer-Encoding: chunked"], b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    if framing == "bad-chunked":
        return [b"Transfer-Encoding: chunked"], b"%x\r\n%sXX" % (len(body) + 7, body)
    return [], body


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def send(stack: Stack, raw: bytes, half_close: bool) -> bytes:
    host, port = stack.ingest_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=ANSWER_WITHIN) as sock:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before it read everything
        try:
            return read_answer(sock, within=ANSWER_WITHIN)
        except TimeoutError:
            raise AssertionError(
                f"no answer within {ANSWER_WITHIN} s to {raw[:200]!r}") from None


@pytest.fixture(scope="module")
def fuzzed_ingest(redis_server, sandbox_process, tmp_path_factory):
    stack = Stack(redis_server, sandbox_process, tmp_path_factory.mktemp("fuzz"),
                  HOOKYARD_INGEST_WORKERS="1", HOOKYARD_INGEST_THREADS="4",
                  HOOKYARD_INGEST_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
                  HOOKYARD_INGEST_READ_IDLE_SECONDS="1")
    stack.start_ingest()
    yield stack
    stack.stop()


def test_raw_http_never_gets_a_5xx_a_hang_or_unbounded_memory(fuzzed_ingest):
    stack = fuzzed_ingest
    assert stack.services[0].process is not None
    [worker] = stack.services[0].children()
    send(stack, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", False)  # warm up
    rss_before = rss_bytes(worker)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    @given(method=methods, path=paths, headers=extra_headers, body=bodies, framing=framings,
           json_type=st.booleans(), token=st.booleans(), half_close=st.booleans())
    def one_request(method, path, headers, body, framing, json_type, token, half_close):
        framing_headers, payload = frame(body, framing)
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: ingest"]
        if json_type:
            lines.append(b"Content-Type: application/json")
        if token:
            lines.append(f"verifyToken: {TOKEN}".encode())
        lines += framing_headers + [name + b": " + value for name, value in headers]
        raw = b"\r\n".join(lines) + b"\r\n\r\n" + payload
        answer = send(stack, raw, half_close)
        if not answer:
            return  # closed without an answer: a peer that hung up first, never a 5xx
        status, head, body_bytes = split_answer(answer)
        assert status < 500, f"{status} for {raw[:300]!r}:\n{answer[:500]!r}"
        if status >= 400 and method != "HEAD":
            assert b"application/json" in head.lower(), answer[:500]
            assert {"error", "message"} <= set(json.loads(body_bytes)), answer[:500]

    one_request()
    assert stack.services[0].children() == [worker], "the worker was replaced"
    growth = rss_bytes(worker) - rss_before
    assert growth < RSS_GROWTH_LIMIT, f"the worker grew by {growth / 2**20:.1f} MiB"
