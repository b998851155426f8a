"""Ingest over real HTTP (gunicorn): chunked bodies and method errors."""

from __future__ import annotations

import pytest
import requests

from nhanh_payloads import inventory_body

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
