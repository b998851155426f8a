"""Gunicorn's own messages as Hookyard's JSON log lines.

Gunicorn logs through ``gunicorn.error`` with handlers and a text format of its own
(``[%(process)d] [%(levelname)s] ...``). Hookyard's logging turns off the per-record process id
(``hookyard.base.logs``), which that format needs, so every gunicorn message, ``WORKER TIMEOUT`` and
"worker was sent SIGKILL" among them, failed to format and was lost. This logger drops gunicorn's
handlers and lets its records reach the root logger's JSON handler with their level.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger


class JsonGunicornLogger(Logger):
    """``gunicorn.error`` records go to the root (JSON) handler; there is no access log, since
    ingest logs one JSON line per request itself."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True
