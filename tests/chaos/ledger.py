"""The ledger: every webhook, every send of it and its answer, the poison jobs and the run's
events, kept in this process only (the nemesis never touches it) and dumped to ``ledger.json``.
What the oracle judges the stack against."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Send:
    at: float
    outcome: str  # "200", "503", "timeout", "connection_error", "broken_answer", ...


def is_definite(outcome: str) -> bool:
    """A 200 (accepted) or a 4xx (refused before anything was written). After anything else
    (a 5xx, a timeout, a lost connection, an answer cut off) the sender cannot know whether
    Redis committed the delivery: a 503 may come from a script that ran after ingest stopped
    waiting for it, a lost connection from a worker killed after the commit."""
    return outcome.isdigit() and (outcome == "200" or 400 <= int(outcome) < 500)


@dataclass
class Webhook:
    id: int
    kind: str  # inventory | customer
    values: dict[str, int]  # entity (SKU or Nhanh customer id) -> value this webhook sets
    body: bytes = field(repr=False)
    sender: int = 0
    sends: list[Send] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    accepted_at: float | None = None
    duplicate_answer: bool = False
    rejected: str | None = None  # a 4xx: a definite "no", never re-sent
    gave_up: str | None = None  # the last outcome when the sender stopped without a definite one

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def maybe_accepted(self) -> bool:
        """Never answered 200, but some send ended without a definite answer."""
        return not self.accepted and any(not is_definite(s.outcome) for s in self.sends)

    @property
    def finished(self) -> bool:
        return self.accepted or self.rejected is not None or self.gave_up is not None

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


POISON_ACTORS = {"crash": "crash_the_worker", "job_error": "fail_with_a_job_error"}
"""The actor of each kind of poison job (tests/e2e/crashing_worker.py): ``crash`` SIGKILLs every
worker that runs it; ``job_error`` raises a (retryable) job error on every run."""


@dataclass
class Poison:
    """A job submitted straight to Redis that must end dead (the oracle says how)."""

    job_id: str
    kind: str = "crash"  # a key of POISON_ACTORS
    accepted_at: float | None = None
    tries: int = 0

    @property
    def actor(self) -> str:
        return POISON_ACTORS[self.kind]


class Ledger:
    """Every send and its answer, in this process only (the nemesis never touches it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.webhooks: dict[int, Webhook] = {}
        self.poison: dict[str, Poison] = {}
        self.events: list[tuple[float, str]] = []
        self.harness_errors: list[str] = []
        self.redis_outages: list[tuple[float, float]] = []  # (start, end), as send times
        self.started = time.monotonic()
        self.sent = 0

    def now(self) -> float:
        """Seconds since the sending started: the clock of every time in the ledger."""
        return round(time.monotonic() - self.started, 3)

    def event(self, text: str) -> None:
        with self.lock:
            self.events.append((round(self.now(), 2), text))

    def record_send(self, webhook: Webhook, outcome: str, answer: dict[str, Any] | None) -> None:
        with self.lock:
            webhook.sends.append(Send(self.now(), outcome))
            if answer is not None and outcome == "200":
                webhook.job_ids = list(answer.get("jobs") or [])
                webhook.duplicate_answer = bool(answer.get("duplicate"))
                webhook.accepted_at = time.monotonic() - self.started
                self.sent += 1

    def dump(self, path: Path) -> None:
        with self.lock:
            data = {
                "webhooks": [{**{k: v for k, v in asdict(w).items() if k != "body"},
                              "body_sha256": w.body_sha256}
                             for w in self.webhooks.values()],
                "poison": [asdict(p) for p in self.poison.values()],
                "events": self.events,
                "redis_outages": self.redis_outages,
                "harness_errors": self.harness_errors,
            }
        path.write_text(json.dumps(data, indent=1))
