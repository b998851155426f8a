"""What a chaos run is asked to do (``ChaosConfig``: its size, seed, faults and the senders'
patience) and the settings of the stack under test (``CHAOS_SETTINGS``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    drain_timeout_seconds: float = 300.0
    faults: bool = True
    workdir: Path | None = None
