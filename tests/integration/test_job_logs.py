"""Structured logs: every ``extra`` field reaches the JSON line, and a worker thread's lines
carry the job it runs (job_id, queue, shop) so one job can be followed through the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from hookyard.base.logs import JsonFormatter
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import post_webhook


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_extra_field_reaches_the_json_line(json_lines):
    logging.getLogger("hookyard.test").warning(
        "bulk export loaded", extra={"shop": "acme", "kind": "inventory", "rows": 12})
    [entry] = [e for e in entries(json_lines) if e["logger"] == "hookyard.test"]
    assert entry["message"] == "bulk export loaded"
    assert (entry["shop"], entry["kind"], entry["rows"]) == ("acme", "inventory", 12)


def test_a_failing_job_s_log_lines_carry_its_id_queue_and_shop(client, shop, sandbox, worker,
                                                                wait_state, json_lines):
    sandbox.set_faults("acme", fail_next=1)
    job_id = post_webhook(client, inventory_body(["SKU-2"], available=5)).json["jobs"][0]
    wait_state(job_id, "succeeded")
    tagged = [e for e in entries(json_lines) if e.get("job_id") == job_id]
    assert tagged, entries(json_lines)
    assert all(e["queue"] == "inventory-sync" for e in tagged)
    assert any(e.get("shop") == "acme" and e["level"] in ("warning", "error") for e in tagged)


def test_lines_outside_a_job_carry_no_job(json_lines):
    logging.getLogger("hookyard.test").warning("between jobs")
    [entry] = [e for e in entries(json_lines) if e["logger"] == "hookyard.test"]
    assert "job_id" not in entry and "queue" not in entry
