"""What a job record is: its states, the values a job step returns, and the record's decoding.

A record is a Redis hash in the state DB (``keys.job``); ``hookyard.jobs.store`` changes it,
one Lua script per transition.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from hookyard.base.ids import new_uuid4

STATES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled", "superseded")
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "superseded"})
ACTIVE_STATES = ("queued", "retrying", "running")
_JSON_FIELDS = ("progress", "result", "error", "payload", "source_event")
_TIME_FIELDS = ("created_at", "started_at", "finished_at", "updated_at")
CANCEL_ERROR = {"code": "cancelled", "message": "Cancelled by an operator."}


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def dumps(value: Any) -> str:
    """Compact JSON that keeps non-ASCII text as is (stored byte-for-byte in UTF-8).

    orjson, in C: ingest writes one payload per item. Non-string keys become strings as with
    ``json``; NaN and infinities, which no parsed body or Hookyard value holds, become null.
    """
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


@dataclass(frozen=True)
class NewJob:
    """A job to create: which actor runs it, for which shop and entity, with what payload."""

    queue: str
    actor: str
    payload: Mapping[str, Any]
    shop: str | None = None
    entity: str | None = None
    source_event: Mapping[str, Any] | None = None
    priority: int = 0
    batch_kind: str | None = None
    """Sync kind (``inventory``, ``customer``) whose pending jobs of a shop are written together."""
    coalesce_fields: tuple[str, ...] = ()
    """Fields of the shop's entity hash this job sets (newest accepted value wins)."""
    delay_ms: int = 0
    """Run no sooner than this long after acceptance (its message waits in the delay queue)."""
    job_id: str = field(default_factory=new_uuid4)


@dataclass(frozen=True)
class Superseded:
    """Returned by a job whose change was overtaken by a newer one: ends in ``superseded``."""

    result: Any = None


@dataclass(frozen=True)
class HandedOff:
    """Returned by a run whose job was claimed by another job's batch while it waited: that
    batch records the outcome, so this run records nothing."""


@dataclass(frozen=True)
class Accepted:
    job_ids: tuple[str, ...]
    duplicate: bool
    seq: int = 0


@dataclass(frozen=True)
class StartVerdict:
    verdict: str
    attempts: int
    max_attempts: int


def decode_record(raw: Mapping[bytes, bytes]) -> dict[str, Any]:
    record: dict[str, Any] = {k.decode(): v.decode() for k, v in raw.items()}
    for name in _JSON_FIELDS:
        if name in record:
            record[name] = orjson.loads(record[name])
    for name in (*_TIME_FIELDS, "attempts", "max_attempts", "seq"):
        if name in record and record[name] != "":
            record[name] = int(record[name])
    return record
