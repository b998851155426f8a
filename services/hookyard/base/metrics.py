"""Every Prometheus metric Hookyard exports is declared here.

Names are ``hookyard_<noun>_<unit>`` in base units; labels are small bounded sets (route, method,
status, queue, actor, source, shop, outcome); ids are never labels.

Counters and histograms are plain ``prometheus_client`` objects. Under gunicorn they work in
multiprocess mode: ``ingest.gunicorn_conf`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker
imports ``prometheus_client``, and ``/metrics`` aggregates the files. Queue gauges are not stored
in any process: ``QueueStatsCollector`` reads them from Redis at scrape time, so every scrape is
current and no replica can report a stale value (dashboards aggregate them with ``max``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                          "CONNECT"})
"""The ``method`` label's values besides ``other``: RFC 9110's methods and PATCH."""
OTHER = "other"
UNMATCHED_ROUTE = "unmatched"
"""The ``route`` label of every request no route template matched."""
_HTTP_STATUSES = frozenset(int(s) for s in HTTPStatus)


def http_method_label(method: str) -> str:
    """``method`` if it is one of ``HTTP_METHODS``, else ``other``: the method is whatever the
    client sent, and each new label value would add a series per metric for good."""
    return method if method in HTTP_METHODS else OTHER


def http_status_label(status: int) -> str:
    """The status code as text if it is a registered HTTP status, else ``other``."""
    return str(status) if status in _HTTP_STATUSES else OTHER

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

http_requests_total = Counter(
    "hookyard_http_requests_total",
    "HTTP requests answered by ingest, by route template (unmatched: no route), method (other: "
    "not a standard one) and status code.",
    ["route", "method", "status"],
)
http_request_duration_seconds = Histogram(
    "hookyard_http_request_duration_seconds",
    "Time ingest took to answer a request, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
webhooks_total = Counter(
    "hookyard_webhooks_total",
    "Webhook deliveries by source and outcome (accepted, duplicate, ignored, rejected_<code>, "
    "unavailable).",
    ["source", "outcome"],
)
jobs_total = Counter(
    "hookyard_jobs_total",
    "Job executions by queue and outcome (succeeded, retried, failed, superseded, cancelled, "
    "skipped, dead_delivery_cap, requeued_by_sweeper).",
    ["queue", "outcome"],
)
job_duration_seconds = Histogram(
    "hookyard_job_duration_seconds",
    "Time one job execution took in the worker, by queue.",
    ["queue"],
    buckets=JOB_BUCKETS,
)
jobs_enqueued_total = Counter(
    "hookyard_jobs_enqueued_total",
    "Jobs created (accepted webhooks items, deploys), by queue.",
    ["queue"],
)
shopify_calls_total = Counter(
    "hookyard_shopify_calls_total",
    "Shopify Admin API calls by shop and outcome (ok, throttled, error, rejected).",
    ["shop", "outcome"],
)
shopify_cost_points_total = Counter(
    "hookyard_shopify_cost_points_total",
    "Shopify calculated query cost actually spent, by shop.",
    ["shop"],
)
shopify_budget_available_points = Gauge(
    "hookyard_shopify_budget_available_points",
    "Points left in the shop's Shopify bucket, as last reported by Shopify.",
    ["shop"],
    multiprocess_mode="max",
)
shopify_throttled_total = Counter(
    "hookyard_shopify_throttled_total",
    "Shopify calls answered with a throttle (HTTP 429 or THROTTLED), by shop.",
    ["shop"],
)
sync_items_total = Counter(
    "hookyard_sync_items_total",
    "Synced items by kind (inventory, customer) and outcome (applied, skipped_no_mapping, "
    "skipped_ambiguous_match: contacts of no single Shopify customer, superseded, unchanged).",
    ["kind", "outcome"],
)
shopify_bulk_operations_total = Counter(
    "hookyard_shopify_bulk_operations_total",
    "Catalogue bulk queries by kind (inventory, customer) and outcome (completed, failed, "
    "timeout, busy, error), counted by the worker that held the shop's catalogue lease.",
    ["kind", "outcome"],
)
catalog_prefills_total = Counter(
    "hookyard_catalog_prefills_total",
    "Background snapshot loads of sync workers (at start, and when a snapshot comes due) by "
    "kind and outcome: fresh, completed, held (another worker had the lease), cooldown, "
    "timeout, failed, busy, error.",
    ["kind", "outcome"],
)
shopify_bulk_rows_total = Counter(
    "hookyard_shopify_bulk_rows_total",
    "Rows of completed catalogue bulk queries loaded into the mapping caches, by kind.",
    ["kind"],
)
nhanh_api_calls_total = Counter(
    "hookyard_nhanh_api_calls_total",
    "Nhanh.vn Open API requests by shop, endpoint (the API path, e.g. /v3.0/customer/list) and "
    "outcome (ok, throttled, error, rejected).",
    ["shop", "endpoint", "outcome"],
)
nhanh_api_throttled_total = Counter(
    "hookyard_nhanh_api_throttled_total",
    "Nhanh API requests held back by the limit, by shop: waits for Hookyard's own shared "
    "pacing, and Nhanh's ERR_429 answers.",
    ["shop"],
)

QUEUE_GAUGES: Mapping[str, str] = {
    "waiting": "hookyard_queue_waiting",
    "delayed": "hookyard_queue_delayed",
    "in_flight": "hookyard_queue_in_flight",
    "dead": "hookyard_queue_dead",
    "oldest_waiting_age_seconds": "hookyard_queue_oldest_waiting_age_seconds",
    "consumers": "hookyard_queue_consumers",
}
QUEUE_GAUGE_HELP: Mapping[str, str] = {
    "waiting": "Messages waiting on the queue (read from Redis at scrape time).",
    "delayed": "Messages waiting for a retry backoff or a delay to pass.",
    "in_flight": "Messages fetched by a worker and not yet acknowledged.",
    "dead": "Jobs that failed for good (dead letters) still retained.",
    "oldest_waiting_age_seconds": "Age of the oldest job waiting to start (0 when none).",
    "consumers": "Live worker processes consuming the queue.",
}


class QueueStatsCollector(Collector):
    """Yields the queue gauges from ``read_stats()`` (queue -> {field: number}) at scrape time."""

    def __init__(self, read_stats: Callable[[], Mapping[str, Mapping[str, float]]]) -> None:
        self._read_stats = read_stats

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        families = {
            field: GaugeMetricFamily(name, QUEUE_GAUGE_HELP[field], labels=["queue"])
            for field, name in QUEUE_GAUGES.items()
        }
        try:
            stats = self._read_stats()
        except Exception:
            stats = {}
        for queue, values in stats.items():
            for field, family in families.items():
                family.add_metric([queue], float(values.get(field, 0)))
        yield from families.values()


def render_metrics(extra_collectors: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """Exposition of this process's metrics (or all gunicorn workers', in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # the process-wide metrics
            registry.register(collector)
    for collector in extra_collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def declared_metric_names() -> set[str]:
    """Every metric family name Hookyard can export (used to check dashboards and alerts).

    Read from the metrics declared above, so a new one cannot be left out: a counter under the
    name it is exported and queried by (``..._total``), the others by family name.
    """
    names = set(QUEUE_GAUGES.values())
    for declared in list(globals().values()):
        if isinstance(declared, MetricWrapperBase):
            for family in declared.describe():
                names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names
