"""The labels of ``hookyard_webhook_answers_total`` stay bounded."""

from __future__ import annotations

import inspect

import pytest

from hookyard.base import errors, metrics
from ingest.errors import FALCON_CODES
from ingest.gunicorn_worker import ERROR_CODES, SENDER_FAULTS

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
