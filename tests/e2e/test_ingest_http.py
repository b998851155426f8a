"""Ingest over real HTTP (gunicorn): chunked bodies, method errors and its listening sockets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from devstack.commands import ingest_command
from tests.support.nhanh_payloads import inventory_body

pytestmark = pytest.mark.e2e


def test_a_chunked_body_over_the_limit_is_413_by_bounded_read(stack, shop):
    stack.start_ingest()

    def chunks():
        for _ in range(40):
            yield b" " * 32768  # 1.25 MiB in all, no Content-Length

    answer = requests.post(f"{stack.ingest_url}/webhooks/nhanh", data=chunks(), timeout=10,
                           headers={"Content-Type": "application/json"})

    assert answer.status_code == 413 and answer.json()["error"] == "payload_too_large"
    assert stack.jobs.state.dbsize() == 0


def test_a_chunked_body_within_the_limit_is_accepted(stack, shop):
    stack.start_ingest()
    body = inventory_body(["SKU-0"])

    answer = requests.post(f"{stack.ingest_url}/webhooks/nhanh", data=iter([body[:10], body[10:]]),
                           timeout=10, headers={"Content-Type": "application/json"})

    assert answer.status_code == 200 and answer.json()["accepted"] == 1


def test_unknown_routes_are_404_json(stack):
    stack.start_ingest()
    answer = requests.get(f"{stack.ingest_url}/nope", timeout=5)
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def listening_sockets(port: int) -> int:
    """Sockets in LISTEN state on ``port`` (IPv4), from the kernel's table."""
    listening = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            listening += 1
    return listening


def test_every_ingest_worker_listens_on_a_socket_of_its_own(stack):
    # SO_REUSEPORT: the kernel spreads connections over the workers instead of an uneven
    # accept race on one shared socket.
    stack.start_ingest()

    assert listening_sockets(stack.ingest_port) == stack.settings.ingest_workers == 2
    assert all(stack.post(inventory_body([f"SKU-{i}"])).status_code == 200 for i in range(4))


def test_a_second_ingest_on_a_taken_address_refuses_to_start_and_says_why(stack):
    stack.start_ingest()

    second = subprocess.run(ingest_command(),
                            env={**stack.env,
                                 "HOOKYARD_INGEST_BIND": f"127.0.0.1:{stack.ingest_port}"},
                            capture_output=True, text=True, timeout=30, check=False)

    assert second.returncode != 0
    assert f"Ingest cannot listen on 127.0.0.1:{stack.ingest_port}" in second.stderr
    assert listening_sockets(stack.ingest_port) == 2
