"""Draining: after the sending, wait (bounded) until every accepted job has ended, no job is
queued, running or retrying, and the broker's queues, message hashes and delay queues are
empty. ``TERMINAL`` and ``queue_keys`` say what "ended" and "empty" mean, for the oracle too."""

from __future__ import annotations

import time

import redis

from hookyard.base import keys
from hookyard.base.queues import QUEUES
from tests.chaos.ledger import Ledger
from tests.chaos.stack import ChaosStack

TERMINAL = {"succeeded", "superseded", "failed", "cancelled"}


def queue_keys() -> list[tuple[str, str]]:
    """(Redis type, key) of every broker structure that must end empty."""
    names = []
    for queue in QUEUES:
        names += [("list", keys.broker_queue(queue)), ("hash", keys.broker_messages(queue)),
                  ("list", keys.broker_queue(f"{queue}.DQ")),
                  ("hash", keys.broker_delay_messages(queue))]
    return names


def active_jobs(stack: ChaosStack) -> int:
    pipe = stack.jobs.state.pipeline(transaction=False)
    for queue in QUEUES:
        for state in ("queued", "running", "retrying"):
            pipe.zcard(keys.jobs_in_state(queue, state))
    return int(sum(pipe.execute()))


def waiting_messages(stack: ChaosStack) -> int:
    pipe = stack.jobs.broker.pipeline(transaction=False)
    for kind, key in queue_keys():
        (pipe.llen if kind == "list" else pipe.hlen)(key)
    return int(sum(pipe.execute()))


def drain(stack: ChaosStack, ledger: Ledger, job_ids: list[str], timeout: float) -> float:
    """Wait until every accepted job ended and no job is queued, running or retrying."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            records = stack.jobs.get_many(job_ids)
            open_jobs = sum(1 for r in records if r is None or r["state"] not in TERMINAL)
            if open_jobs == 0 and active_jobs(stack) == 0 and waiting_messages(stack) == 0:
                return time.monotonic() - started
        except redis.RedisError:
            open_jobs = -1
        if time.monotonic() > deadline:
            ledger.event(f"drain timed out with {open_jobs} accepted jobs not ended")
            return time.monotonic() - started
        time.sleep(0.5)
