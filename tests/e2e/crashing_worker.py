"""A customer-sync worker process with one extra actor that SIGKILLs its own process.

Only for e2e tests of the delivery cap: a job of ``crash_the_worker`` kills every worker that
runs it, the way an out-of-memory kill would. Everything else is the production runner.
"""

from __future__ import annotations

import os
import signal
import sys

import dramatiq

from hookyard.base.logs import configure_logging
from hookyard.base.settings import Settings
from workers.runner import boot, serve


def main() -> int:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    rt, broker = boot(settings)
    import hookyard.actors  # noqa: F401

    @dramatiq.actor(actor_name="crash_the_worker", queue_name="customer-sync")
    def crash_the_worker(job_id: str) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    return serve(rt, broker, "customer-sync")


if __name__ == "__main__":
    sys.exit(main())
