"""The labels of ``hookyard_webhook_answers_total`` stay bounded, and gunicorn's answers before
the app are told apart by the request line the worker saw arrive."""

from __future__ import annotations

import inspect
import socket

import pytest

from hookyard.base import errors, metrics
from ingest.errors import FALCON_CODES
from ingest.gunicorn_worker import (
    ERROR_CODES,
    HEAD_BYTES,
    SENDER_FAULTS,
    DeadlineSocket,
    request_path,
)

# HookyardError codes no request on a /webhooks/ path can be answered with.
NEVER_ON_WEBHOOK_PATHS = {"invalid_settings", "invalid_bundle", "unsafe_path",
                          "invalid_theme_layout", "conflict"}


@pytest.mark.parametrize("path, source", [
    ("/webhooks/nhanh", "nhanh"),
    ("/webhooks/nhanh/inventory", "nhanh"),
    ("/webhooks/nhanh/anything/else", "nhanh"),
    ("/webhooks/shopify", "other"),
    ("/webhooks/", "other"),
    ("/webhooks/nhanhX", "other"),
    ("/webhooks/" + "x" * 5000, "other"),
    ("/webhooks", None),
    ("/jobs/1", None),
    ("/healthz", None),
    ("", None),
])
def test_the_source_label_is_a_known_sender_or_other_and_only_for_webhook_paths(path, source):
    assert metrics.webhook_source_label(path) == source


def test_the_reason_label_is_an_outcome_or_error_code_else_other():
    assert metrics.webhook_reason_label("accepted") == "accepted"
    assert metrics.webhook_reason_label("invalid_token") == "invalid_token"
    for unknown in (None, "", "job_failed", "Invalid token 1234", "x" * 1000):
        assert metrics.webhook_reason_label(unknown) == "other"


def test_every_error_code_ingest_can_answer_a_webhook_with_is_a_reason():
    hookyard_codes = {
        cls.code for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.HookyardError) and not issubclass(cls, errors.JobError)
    } - NEVER_ON_WEBHOOK_PATHS
    falcon_codes = set(FALCON_CODES.values()) | {"http_error"}
    gunicorn_codes = set(ERROR_CODES.values()) | {code for _, _, code in SENDER_FAULTS.values()}
    assert hookyard_codes | falcon_codes | gunicorn_codes == metrics.WEBHOOK_ERROR_CODES


def test_the_answers_exported_from_the_start_have_labels_from_the_vocabulary():
    for status, reason in metrics.WEBHOOK_ANSWERS_AT_START:
        assert metrics.http_status_label(status) == str(status)
        assert metrics.webhook_reason_label(reason) == reason


@pytest.mark.parametrize("head, path", [
    (b"POST /webhooks/nhanh HTTP/1.1\r\nHost: x\r\n", "/webhooks/nhanh"),
    (b"POST /webhooks/nhanh?x=1 HTTP/1.1\r\n", "/webhooks/nhanh"),
    (b"POST /webhooks/nhanh#frag HTTP/1.1\r\n", "/webhooks/nhanh"),
    (b"\r\nPOST /webhooks/nhanh HTTP/1.1\r\n", "/webhooks/nhanh"),
    (b"POST http://ingest:8080/webhooks/nhanh HTTP/1.1\r\n", "/webhooks/nhanh"),
    (b"POST /webhooks/%6Ehanh HTTP/1.1\r\n", "/webhooks/nhanh"),
    (b"GET /webhooks/nhanh?" + b"a" * 9000, "/webhooks/nhanh"),  # a request line too long
    (b"POST /webhooks/nh", "/webhooks/nh"),  # stalled in the target
    (b"POST", ""),
    (b"", ""),
    (b" /webhooks/nhanh HTTP/1.1\r\n", ""),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", ""),
])
def test_the_path_is_read_from_the_request_line_as_far_as_it_arrived(head, path):
    assert request_path(head) == path


def test_a_deadline_socket_keeps_the_head_of_each_request_and_whether_it_was_answered():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sock = DeadlineSocket(ours, total=5, idle=5)
        theirs.sendall(b"POST /webhooks/nhanh HTTP/1.1\r\n")
        assert sock.recv(8) == b"POST /we"
        buffer = bytearray(HEAD_BYTES * 2)
        theirs.sendall(b"x" * (HEAD_BYTES * 2))
        received = sock.recv_into(buffer)
        assert sock.request_path() == "/webhooks/nhanh"
        assert len(sock._head) == HEAD_BYTES and received > 0
        assert not sock.answered

        sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        assert sock.answered

        sock.start_request(b"GET /webhooks/nhanh/customer HTTP/1.1\r\n")  # pipelined
        assert not sock.answered
        assert sock.request_path() == "/webhooks/nhanh/customer"
        sock.start_request()
        assert sock.request_path() == ""
