"""What a chaos run is asked to do (``ChaosConfig``: its size, seed, faults, the senders'
patience and an optional Shopify outage) and the settings of the stack under test
(``stack_settings``: ``CHAOS_SETTINGS``, plus ``outage_settings`` in an outage run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hookyard.base.settings import SPECS

# Settings of the stack under test. Short timeouts make a killed worker's jobs come back in
# seconds; retries are generous enough that a job survives the injected Shopify bursts and
# the kills of the batches it is part of; records are kept so that every job can be judged.
CHAOS_SETTINGS = {
    "HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS": "2",
    "HOOKYARD_WORKER_THREADS": "4",
    "HOOKYARD_WORKER_SHUTDOWN_TIMEOUT_SECONDS": "5",
    "HOOKYARD_SWEEP_INTERVAL_SECONDS": "1",
    "HOOKYARD_SWEEP_GRACE_SECONDS": "2",
    "HOOKYARD_STRANDED_AFTER_SECONDS": "30",
    "HOOKYARD_SYNC_TIME_LIMIT_SECONDS": "60",
    "HOOKYARD_CATALOG_WAIT_SECONDS": "10",  # waited up to twice a batch: well inside 60 s
    "HOOKYARD_MAX_RETRIES": "8",
    "HOOKYARD_MAX_DELIVERIES": "10",
    "HOOKYARD_RETRY_BASE_SECONDS": "0.1",
    "HOOKYARD_RETRY_MAX_SECONDS": "1",
    "HOOKYARD_SUCCEEDED_RETENTION_COUNT": "10000000",
    "HOOKYARD_SHOPIFY_MAX_THROTTLE_WAIT_SECONDS": "10",
    "HOOKYARD_SHOPIFY_TIMEOUT_SECONDS": "5",
    "HOOKYARD_INGEST_WORKERS": "2",
    "HOOKYARD_INGEST_THREADS": "8",
    "HOOKYARD_INGEST_REDIS_TIMEOUT_SECONDS": "0.5",
    "HOOKYARD_LOG_LEVEL": "WARNING",
    "HOOKYARD_METRICS_PORT": "0",
}


@dataclass(frozen=True)
class ChaosConfig:
    webhooks: int = 500
    seed: int = 1
    senders: int = 8
    skus: int = 60
    customers: int = 30
    poison: int = 3
    inventory_workers: int = 2
    customer_workers: int = 2
    kill_every_seconds: tuple[float, float] = (3.0, 6.0)
    appendfsync: str = "always"
    send_timeout_seconds: float = 5.0
    # Re-sending: Nhanh re-sends a failed delivery 3 times, 5/10/30 minutes apart, so its
    # retries outlast every outage injected here (at most a few seconds). The senders compress
    # that in time: they re-send with backoff (0.1 s doubling to 2 s) until a definite answer,
    # and give up only after give_up_after_seconds (ingest unavailable that long is a failure).
    # max_sends caps the sends per delivery (4 = Nhanh's count without its spacing): senders
    # then give up inside an outage, which leaves maybe-accepted deliveries to judge.
    give_up_after_seconds: float = 180.0
    max_sends: int | None = None
    send_rate: float | None = None  # webhooks a second, all senders together; None: at once
    drain_timeout_seconds: float = 300.0
    faults: bool = True
    workdir: Path | None = None
    # The outage run (docs/reliability.md, "The outage run"): Shopify answers 503 to every call
    # for outage_seconds, starting when outage_at of the webhooks are sent (moved by up to
    # 0.05 either way by the seed). failing_jobs jobs that raise a job error on every run are
    # submitted as it starts: they must still die after their attempts, not wait.
    outage_seconds: float = 0.0
    outage_at: float = 0.3
    failing_jobs: int = 2
    convergence_limit_seconds: float = 60.0
    outage_call_bound: int | None = None  # None: oracle.outage_call_bound's formula

    @property
    def outage(self) -> bool:
        return self.outage_seconds > 0


# The circuit breaker's settings keep their production defaults in an outage run (the test
# platform's are made for outages of a second), unless the environment of the run sets them:
# `HOOKYARD_BREAKER_PROBE_MAX_SECONDS=20 python -m tests.chaos.run --outage-seconds 600` tunes.
BREAKER_SETTINGS = ("HOOKYARD_BREAKER_FAILURES", "HOOKYARD_BREAKER_PROBE_SECONDS",
                    "HOOKYARD_BREAKER_PROBE_MAX_SECONDS")


def outage_settings(config: ChaosConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """What an outage run adds: jobs wait far longer than the outage (so none is dead for it:
    at least an hour, and four times the outage), and the breaker as in production."""
    defaults = {spec.env: spec.default for spec in SPECS}
    wait = max(3600, 4 * int(config.outage_seconds))
    return {"HOOKYARD_UPSTREAM_MAX_OUTAGE_SECONDS": str(wait),
            **{name: environ.get(name, defaults[name]) for name in BREAKER_SETTINGS}}


def stack_settings(config: ChaosConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings of the stack under test (over the test platform's); ``environ`` is the
    run's own environment."""
    return {**CHAOS_SETTINGS, **(outage_settings(config, environ) if config.outage else {})}
