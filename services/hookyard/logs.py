"""Logging set-up for every process: one JSON object per line on stderr.

Called by entrypoints, never at import. Messages never carry tokens: the code never logs request
headers or settings values, and a test greps captured logs for the configured secrets.
"""

from __future__ import annotations

import logging
import sys
import time

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
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
        return "Results middleware" not in record.getMessage()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(DropResultsAdvice())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
