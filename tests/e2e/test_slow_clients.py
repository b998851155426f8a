"""Slow senders cost ingest one gthread thread each, not the process: while slowloris clients
trickle their headers and slow-body clients trickle their bodies, a normal webhook still answers
200 quickly, and the slow ones are answered correctly once they finish.

The bound is HOOKYARD_INGEST_WORKERS x HOOKYARD_INGEST_THREADS concurrent slow senders; beyond
it, protection is the ingress's job (it buffers whole requests and times out slow ones before
ingest sees a byte). docs/security.md has the details.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.nhanh_payloads import inventory_body

pytestmark = pytest.mark.e2e

THREADS = 8
SLOWLORIS = 3
SLOW_BODIES = 3  # 6 slow senders hold 6 of the 8 threads


def _answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def trickling(port: int, body: bytes) -> Iterator[list[bytes]]:
    """Opens the slow connections and keeps them trickling until the block ends; then each
    finishes its request. Yields the list their answers' status lines are put into."""
    stop = threading.Event()
    answers: list[bytes] = []
    request_head = (b"POST /webhooks/nhanh HTTP/1.1\r\nHost: ingest\r\n"
                    b"Content-Type: application/json\r\n")

    def slowloris(index: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request_head)
            n = 0
            while not stop.is_set():  # one more header line every 0.2 s, never the end
                sock.sendall(f"X-Slow-{index}-{n}: y\r\n".encode())
                n += 1
                stop.wait(0.2)
            own = inventory_body([f"SKU-{index}"], available=50 + index)
            sock.sendall(f"Content-Length: {len(own)}\r\n\r\n".encode() + own)
            answers.append(_answer(sock).split(b"\r\n", 1)[0])

    def slow_body(index: int) -> None:
        own = inventory_body([f"SKU-{index}"], available=70 + index)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request_head + f"Content-Length: {len(own)}\r\n\r\n".encode())
            sent = 0
            while not stop.is_set() and sent < len(own) - 1:  # one byte every 0.2 s
                sock.sendall(own[sent:sent + 1])
                sent += 1
                stop.wait(0.2)
            sock.sendall(own[sent:])
            answers.append(_answer(sock).split(b"\r\n", 1)[0])

    threads = [threading.Thread(target=slowloris, args=(i,)) for i in range(SLOWLORIS)]
    threads += [threading.Thread(target=slow_body, args=(10 + i,)) for i in range(SLOW_BODIES)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # every slow sender is inside ingest, holding its thread
        yield answers
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)


def test_slowloris_and_slow_body_senders_do_not_starve_a_normal_webhook(make_stack, shop):
    stack = make_stack(HOOKYARD_INGEST_WORKERS="1", HOOKYARD_INGEST_THREADS=str(THREADS))
    stack.start_ingest()

    with trickling(stack.ingest_port, b"") as answers:
        timings = []
        for available in range(3):
            started = time.monotonic()
            answer = stack.post(inventory_body(["SKU-0"], available=available))
            timings.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text
        assert max(timings) < 1.0, timings
        health_started = time.monotonic()
        assert stack.post(b"{}").status_code == 401
        assert time.monotonic() - health_started < 1.0
        assert answers == []  # the slow senders are still sending

    assert sorted(answers) == [b"HTTP/1.1 200 OK"] * (SLOWLORIS + SLOW_BODIES)
