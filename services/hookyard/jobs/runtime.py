"""What an actor body needs at run time, installed once by the worker process.

Actors are declared at import (``hookyard.actors``) but must not read the environment or open
connections then; the worker entrypoint builds a ``Runtime`` from its settings and installs it
before the first message runs. ``run_job`` is the thin actor body: load the record, call a
domain step, return its result for ``JobLifecycle`` to record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from hookyard.base.errors import PermanentJobError
from hookyard.base.logs import tag_job
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard.storage.connections import broker_client, state_client


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    jobs: JobStore
    state: redis.Redis

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """The process's one job store and state client (the broker records transitions in the
        same store: ``hookyard.jobs.broker.install(settings, jobs=runtime.jobs)``)."""
        state = state_client(settings)
        return cls(settings=settings, jobs=JobStore(settings, state=state,
                                                    broker=broker_client(settings)), state=state)


_installed: Runtime | None = None

JobStep = Callable[[Runtime, dict[str, Any]], Any]


def install(runtime: Runtime) -> None:
    global _installed
    _installed = runtime


def current() -> Runtime:
    if _installed is None:
        raise RuntimeError(
            "No Hookyard runtime installed in this process: start workers with "
            "`python -m workers.<kind>` (or call hookyard.runtime.install first)."
        )
    return _installed


def run_job(job_id: str, step: JobStep) -> Any:
    """Load the job's record and hand it to ``step``; the record must exist (the lifecycle
    middleware has just marked it running)."""
    runtime = current()
    record = runtime.jobs.get(job_id)
    if record is None:
        raise PermanentJobError(f"Job {job_id} has no record any more; nothing to run.")
    if record.get("shop"):
        tag_job(shop=record["shop"])
    return step(runtime, record)
