"""The job as callers see it: the status API's view of a record and its paging cursors."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from hookyard.jobs.records import iso


def public_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The job as the status API shows it (contract: ../shared/README.md)."""
    progress = record.get("progress") or {"percent": 0, "message": None, "stage": None}
    return {
        "id": record["id"],
        "queue": record["queue"],
        "actor": record["actor"],
        "state": record["state"],
        "progress": progress,
        "result": record.get("result"),
        "error": record.get("error"),
        "attempts": record.get("attempts", 0),
        "max_attempts": record.get("max_attempts", 0),
        "shop": record.get("shop") or None,
        "entity": record.get("entity") or None,
        "source_event": record.get("source_event"),
        "created_at": iso(record.get("created_at")),
        "started_at": iso(record.get("started_at")),
        "finished_at": iso(record.get("finished_at")),
        "cancel_requested": record.get("cancel_requested") == "1",
        "waiting": _waiting(record),
    }


def _waiting(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """For a job waiting for an unavailable upstream (``hookyard.jobs.failures``): for what,
    since when, why, and when it tries again; else None."""
    since = record.get("waiting_since")
    if record.get("state") != "retrying" or not since:
        return None
    error = record.get("error") or {}
    return {"for": error.get("waiting_for"), "since": iso(int(since)),
            "reason": error.get("message"), "next_attempt_at": iso(
                int(record["retry_at"])) if record.get("retry_at") else None}


def encode_cursor(score: float, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{int(score)}:{job_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    padded = cursor + "=" * (-len(cursor) % 4)
    score, _, job_id = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    return int(score), job_id
