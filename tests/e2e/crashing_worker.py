"""A customer-sync worker process with two extra actors that never succeed.

A job of ``crash_the_worker`` kills every worker that runs it, the way an out-of-memory kill
would (the e2e tests of the delivery cap, the fault run's poison jobs). A job of
``fail_with_a_job_error`` raises a retryable job error on every run: it must be dead after its
attempts even while Shopify is down (the fault run's outage, docs/reliability.md). Everything
else is the production runner.
"""

from __future__ import annotations

import os
import signal
import sys

import dramatiq

from hookyard.base.errors import JobError
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

    @dramatiq.actor(actor_name="fail_with_a_job_error", queue_name="customer-sync",
                    throws=(JobError,))
    def fail_with_a_job_error(job_id: str) -> None:
        raise JobError("This job fails on every run (a fault-run poison job).")

    return serve(rt, broker, "customer-sync")


if __name__ == "__main__":
    sys.exit(main())
