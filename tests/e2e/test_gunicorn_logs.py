"""Gunicorn's own messages (worker timeouts and kills above all) reach ingest's JSON log."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest

from conftest import Stack, wait_until

pytestmark = pytest.mark.e2e


def json_lines(text: str) -> list[dict[str, object]]:
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def test_a_stuck_worker_s_timeout_and_kill_reach_the_json_log_with_their_level(make_stack):
    stack: Stack = make_stack(HOOKYARD_INGEST_WORKERS="1", HOOKYARD_INGEST_TIMEOUT_SECONDS="2")
    ingest = stack.start_ingest()
    assert ingest.process is not None
    [worker] = ingest.children()
    host, port = stack.ingest_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as slow:
        # A request whose body is still on its way holds the worker when it stops.
        slow.sendall(b"POST /webhooks/nhanh HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        os.kill(worker, signal.SIGSTOP)
        try:
            wait_until(lambda: "was sent SIGKILL" in ingest.output(), 30, ingest)
        finally:
            try:
                os.kill(worker, signal.SIGCONT)
            except ProcessLookupError:
                pass
    entries = json_lines(ingest.log_path.read_text(errors="replace"))
    gunicorn = [e for e in entries if e.get("logger") == "gunicorn.error"]
    assert {"level": "critical", "message": f"WORKER TIMEOUT (pid:{worker})"}.items() <= \
        next(e for e in gunicorn if "WORKER TIMEOUT" in str(e["message"])).items()
    killed = next(e for e in gunicorn if "was sent SIGKILL" in str(e["message"]))
    assert killed["level"] == "error"
    assert str(worker) in str(killed["message"])
    assert "Logging error" not in ingest.output()
    # The master starts a fresh worker, which logs its boot.
    wait_until(lambda: any(p != worker for p in ingest.children()), 20,
               ingest)
    time.sleep(0.5)
    assert any("Booting worker" in str(e["message"])
               for e in json_lines(ingest.log_path.read_text(errors="replace")))
