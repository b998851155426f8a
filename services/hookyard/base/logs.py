"""Logging set-up for every process: one JSON object per line on stderr.

Called by entrypoints, never at import. Messages never carry tokens: the code never logs request
headers or settings values, and a test greps captured logs for the configured secrets.

Ingest logs a line per request, so the cost of a record counts (about 4 % of the app's CPU per
webhook before the changes below, docs/performance.md). ``configure_logging`` turns off what the
JSON lines never show, as the logging HOWTO's "Optimization" section describes: the caller's
file and line (a frame walk per record), and the thread, process and multiprocessing names.
The timestamp's formatting is done once per second, not per record.

Every ``extra`` field of a record reaches its JSON line. A worker thread running a job tags each
line with that job (``job_id``, ``queue``, and ``shop`` once the record is loaded): the lifecycle
middleware sets ``job_context`` before the job runs and clears it after, so an operator can
follow one job through the logs.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

import orjson

job_context: ContextVar[dict[str, Any] | None] = ContextVar("hookyard_job", default=None)
"""The job the current thread runs (``job_id``, ``queue``, ``shop``), for its log lines."""

STANDARD_ATTRIBUTES = frozenset(logging.LogRecord(
    "", logging.INFO, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
"""What every LogRecord has; anything else on a record came from ``extra``."""


def tag_job(**fields: Any) -> None:
    """Add ``fields`` to the running job's log tags (``job_id``, ``queue`` and ``shop``)."""
    current = job_context.get()
    job_context.set({**(current or {}), **fields})


def untag_job() -> None:
    job_context.set(None)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # (second, its text) as one tuple: threads replace it whole, never read half of it.
        self._formatted_second: tuple[int, str] = (-1, "")

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._formatted_second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._formatted_second = cached
        return f"{cached[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        job = job_context.get()
        if job:
            entry.update(job)
        for name, value in record.__dict__.items():
            if name not in STANDARD_ATTRIBUTES:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class DropResultsAdvice(logging.Filter):
    """Dramatiq warns on every job that returns a value without its Results middleware; our
    results go to job records instead, so the advice is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("dramatiq") or \
            "Results middleware" not in record.getMessage()


def configure_logging(level: str) -> None:
    logging._srcfile = None  # no caller lookup per record
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(DropResultsAdvice())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
