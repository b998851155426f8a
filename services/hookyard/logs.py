"""Logging set-up for every process: one JSON object per line on stderr.

Called by entrypoints, never at import. Messages never carry tokens: the code never logs request
headers or settings values, and a test greps captured logs for the configured secrets.

Ingest logs a line per request, so the cost of a record counts (about 4 % of the app's CPU per
webhook before the changes below, docs/performance.md). ``configure_logging`` turns off what the
JSON lines never show, as the logging HOWTO's "Optimization" section describes: the caller's
file and line (a frame walk per record), and the thread, process and multiprocessing names.
The timestamp's formatting is done once per second, not per record.
"""

from __future__ import annotations

import logging
import sys
import time

import orjson


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
        entry = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("route", "method", "status", "duration_ms", "request_id", "job_id", "queue"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


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
