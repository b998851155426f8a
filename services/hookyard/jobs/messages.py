"""Broker messages for Hookyard jobs: one message carries one job id, nothing else.

The job's payload lives in its record, so a message can be rebuilt at any time from the record
(sweeper recovery, operator replay) and stays small on the wire. The Dramatiq message id *is*
the job id; ``redis_message_id`` is new for every enqueued copy and is what the job record
fences on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from hookyard.base.ids import new_uuid4


@dataclass(frozen=True)
class EncodedMessage:
    redis_message_id: str
    data: bytes


def new_redis_message_id() -> str:
    return new_uuid4()


def encode_job_message(
    *, job_id: str, queue: str, actor: str, time_limit_ms: int, eta_ms: int | None = None
) -> EncodedMessage:
    """The Dramatiq message that runs ``actor(job_id)`` on ``queue`` (delayed when ``eta_ms``).

    Encoded from the dict ``dramatiq.Message.asdict()`` would give (same fields, same order),
    without building a ``Message``: ingest encodes one per item, and the dataclass round trip was
    a tenth of its CPU per webhook. The bytes are what Dramatiq's ``JSONEncoder`` (the only
    encoder Hookyard uses, docs/security.md) writes and reads, made by orjson in C.
    """
    redis_message_id = new_redis_message_id()
    options: dict[str, object] = {
        "redis_message_id": redis_message_id,
        "time_limit": time_limit_ms,
    }
    queue_name = queue
    if eta_ms is not None:
        options["eta"] = eta_ms
        queue_name = f"{queue}.DQ"
    fields = {
        "queue_name": queue_name,
        "actor_name": actor,
        "args": [job_id],
        "kwargs": {},
        "options": options,
        "message_id": job_id,
        "message_timestamp": int(time.time() * 1000),
    }
    return EncodedMessage(redis_message_id=redis_message_id, data=orjson.dumps(fields))
