"""The audit log: which token did what to which job, when, and how it ended.

Operator actions (``POST /jobs/{id}/retry`` - the replay of a dead or cancelled job -,
``POST /jobs/{id}/cancel``, ``POST /deploys``) by a valid token append one entry each, refused
attempts included: outcome ``refused`` with the error code in ``error`` (``forbidden``,
``not_found``, ``conflict``, ``invalid_bundle``, ``rate_limited``, ...). Entries live in a Redis
stream in the state DB (``keys.audit_log()``), so every ingest replica writes to and reads from
the same log; the stream id is the time, from the Redis server's clock.

An action and its entry are one atomic step: a cancel, a replay and a deploy's job are written
by a Lua script that appends the entry too (``script_args``; ``cancel.lua``, ``requeue.lua``,
``accept.lua``), see docs/security.md.

Retention, both applied on every write: at most ``HOOKYARD_AUDIT_MAX_ENTRIES`` entries and none
older than ``HOOKYARD_AUDIT_RETENTION_SECONDS``; the stream expires as a whole once its newest
entry is that old, and reads never return an entry past its retention. An entry carries the
token's *name* only - never the token, its digest, or a request body (a deploy's bundle).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from hookyard.base import keys
from hookyard.base.errors import HookyardError

MAX_FIELD_LENGTH = 200
CURSOR = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
"""A stream id, the cursor ``GET /audit`` hands out. ASCII digits only: ``\\d`` also takes other
scripts' digits, which Redis refuses."""
MAX_ID_PART = 2**64 - 1
"""Both halves of a stream id are unsigned 64-bit integers; Redis refuses larger ones."""


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: str
    who: str
    action: str
    job_id: str
    outcome: str
    error: str
    """The error code of a refused attempt (outcome ``refused``), else empty."""
    shop: str
    """The job's shop; for a refused deploy the shop it asked for."""
    request_id: str

    def view(self) -> dict[str, str]:
        return {"id": self.id, "at": self.at, "who": self.who, "action": self.action,
                "job_id": self.job_id, "outcome": self.outcome, "error": self.error,
                "shop": self.shop, "request_id": self.request_id}


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _entry(stream_id: bytes | str, fields: dict[Any, Any]) -> AuditEntry:
    sid = _text(stream_id)
    ms = int(sid.split("-", 1)[0])
    values = {_text(k): _text(v) for k, v in fields.items()}
    return AuditEntry(
        id=sid,
        at=datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds"),
        who=values.get("who", ""), action=values.get("action", ""),
        job_id=values.get("job_id", ""), outcome=values.get("outcome", ""),
        error=values.get("error", ""), shop=values.get("shop", ""),
        request_id=values.get("request_id", ""))


def parse_cursor(cursor: str) -> tuple[int, int]:
    """A cursor's stream id as (milliseconds, sequence); ``ValueError`` unless it is a stream id
    Redis takes: ``<ms>-<seq>``, each of ASCII digits and at most ``MAX_ID_PART``."""
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise ValueError("malformed cursor")
    ms, seq = int(match[1]), int(match[2])
    if ms > MAX_ID_PART or seq > MAX_ID_PART:
        raise ValueError("cursor out of range")
    return ms, seq


class AuditLog:
    """Append and read audit entries (newest first), capped by count and by age."""

    def __init__(self, client: redis.Redis, *, retention_seconds: int, max_entries: int) -> None:
        self.client = client
        self.retention_ms = retention_seconds * 1000
        self.max_entries = max_entries

    def _oldest_kept_ms(self) -> int:
        return max(0, int(time.time() * 1000) - self.retention_ms)

    def record(self, *, who: str, action: str, job_id: str, outcome: str, error: str = "",
               shop: str = "", request_id: str = "") -> str:
        """Append one entry on its own (append, trim and expiry in one MULTI/EXEC); returns its
        id. Raises ``redis.RedisError`` when Redis fails. An entry that belongs to an action is
        written by the action's script instead (``script_args``)."""
        key = keys.audit_log()
        fields = {"who": who, "action": action, "job_id": job_id, "outcome": outcome,
                  "error": error, "shop": shop, "request_id": request_id}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {k: v[:MAX_FIELD_LENGTH] for k, v in fields.items()},
                      maxlen=self.max_entries, approximate=False)
            pipe.xtrim(key, minid=f"{self._oldest_kept_ms()}-0", approximate=False)
            pipe.pexpire(key, self.retention_ms)
            entry_id, _, _ = pipe.execute()
        return _text(entry_id)

    def script_args(self, *, who: str, action: str, request_id: str = "") -> list[str | int]:
        """The tail of ``ARGV`` with which an action's Lua script (``cancel.lua``,
        ``requeue.lua``, ``accept.lua``) appends the entry itself, in the same step as the
        action; the stream is the script's last key (``keys.audit_log()``). The script fills in
        job id, outcome and shop."""
        return [who[:MAX_FIELD_LENGTH], action, request_id[:MAX_FIELD_LENGTH], self.max_entries,
                f"{self._oldest_kept_ms()}-0", self.retention_ms]

    def record_refusal(self, *, who: str, action: str, error: HookyardError, job_id: str = "",
                       shop: str = "", request_id: str = "") -> None:
        """Append the entry of an attempt refused with ``error``, unless the error is ours
        (5xx: Redis down or slow), where there is no refusal to record and writing would fail
        too."""
        if error.status < 500:
            self.record(who=who, action=action, job_id=job_id, outcome="refused",
                        error=error.code, shop=shop, request_id=request_id)

    def recent(self, *, limit: int, cursor: str | None = None
               ) -> tuple[list[AuditEntry], str | None]:
        """Up to ``limit`` entries, newest first, older than ``cursor`` when given (an entry id
        from a previous page); and the cursor of the next page, or None. ``ValueError`` on a
        malformed cursor."""
        newest = "+"
        if cursor is not None:
            ms, seq = parse_cursor(cursor)
            if (ms, seq) == (0, 0):
                return [], None  # nothing is older than the smallest id (and Redis refuses "(0-0")
            newest = f"({ms}-{seq}"
        rows = self.client.xrevrange(keys.audit_log(), max=newest,
                                     min=f"{self._oldest_kept_ms()}-0", count=limit)
        entries = [_entry(sid, fields) for sid, fields in rows]
        next_cursor = entries[-1].id if len(entries) == limit else None
        return entries, next_cursor
