"""Every Prometheus metric Hookyard exports is declared here.

Names are ``hookyard_<noun>_<unit>`` in base units; labels are small bounded sets (route, method,
status, queue, actor, source, shop, outcome, reason); ids are never labels. Labels taken from a
request (method, status, a webhook's source and reason) go through a ``*_label`` function that
maps anything outside a fixed vocabulary to ``other``.

Counters and histograms are plain ``prometheus_client`` objects. Under gunicorn they work in
multiprocess mode: ``ingest.gunicorn_conf`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker
imports ``prometheus_client``, and ``/metrics`` aggregates the files. Queue gauges are not stored
in any process: ``QueueStatsCollector`` reads them from Redis at scrape time, so every scrape is
current and no replica can report a stale value (dashboards aggregate them with ``max``). The
same holds for the Shopify circuit breaker gauges (``BreakerStateCollector``, exported by ingest).
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


WEBHOOK_PATH_PREFIX = "/webhooks/"
WEBHOOK_SOURCES = frozenset({"nhanh"})
"""The ``source`` label's values besides ``other`` (a ``/webhooks/<name>`` no sender uses)."""
WEBHOOK_OUTCOMES = frozenset({"accepted", "duplicate", "ignored", "handshake"})
"""The ``reason`` of a webhook answered 200."""
WEBHOOK_ERROR_CODES = frozenset({
    # Hookyard's own (hookyard.base.errors), as the webhook resource and handlers answer them
    "invalid_json", "validation_failed", "payload_too_large", "unsupported_media_type",
    "missing_token", "invalid_token", "forbidden", "unknown_shop", "wrong_event", "not_found",
    "bad_request", "invalid_body", "request_timeout", "rate_limited", "unavailable",
    "internal_error",
    # Falcon's (ingest.errors.FALCON_CODES, "http_error" for the rest)
    "method_not_allowed", "length_required", "http_error",
    # gunicorn's, before the app (ingest.gunicorn_worker.ERROR_CODES)
    "uri_too_long", "headers_too_large", "expectation_failed", "unsupported_transfer_coding",
})
"""The ``reason`` of any other answer: its stable error code. A unit test holds this equal to
the codes ingest can answer with, so a new one cannot silently become ``other``."""


def webhook_source_label(path: str) -> str | None:
    """The ``source`` label of a request on ``path``: ``None`` when it is not a webhook path
    (not under ``/webhooks/``), the sender's name when it is one of ``WEBHOOK_SOURCES``
    (``/webhooks/nhanh`` and every path under it), else ``other``."""
    if not path.startswith(WEBHOOK_PATH_PREFIX):
        return None
    name = path[len(WEBHOOK_PATH_PREFIX):].split("/", 1)[0]
    return name if name in WEBHOOK_SOURCES else OTHER


def webhook_reason_label(reason: str | None) -> str:
    """``reason`` if it is an outcome or error code of ``WEBHOOK_OUTCOMES`` /
    ``WEBHOOK_ERROR_CODES``, else ``other``: a label never takes a value from outside them."""
    if reason in WEBHOOK_OUTCOMES or reason in WEBHOOK_ERROR_CODES:
        return reason
    return OTHER


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
webhook_answers_total = Counter(
    "hookyard_webhook_answers_total",
    "Answers to requests on /webhooks/ paths, each counted once whoever gave it (the app, or "
    "gunicorn before the app: 408, 400, 414, 431), by source (other: not a known sender), "
    "HTTP status and reason: the outcome of a 200 (accepted, duplicate, ignored, handshake), "
    "else the answer's error code (other: none Hookyard knows).",
    ["source", "status", "reason"],
)
WEBHOOK_ANSWERS_AT_START = (
    (200, "accepted"), (200, "duplicate"), (200, "ignored"), (200, "handshake"),
    (400, "invalid_json"), (400, "invalid_body"), (401, "missing_token"), (401, "invalid_token"),
    (404, "unknown_shop"), (408, "request_timeout"), (413, "payload_too_large"),
    (422, "validation_failed"), (500, "internal_error"), (503, "unavailable"),
)
"""The answers a sender's own traffic gets, exported at 0 from the start (``start_webhook_
answers``): Prometheus' ``rate``/``increase`` cannot see a series' first increments, so a
first failure must not be the one that creates its series."""


def start_webhook_answers(source: str) -> None:
    """Export ``WEBHOOK_ANSWERS_AT_START`` of ``source`` at 0 in this process."""
    for status, reason in WEBHOOK_ANSWERS_AT_START:
        webhook_answers_total.labels(source, str(status), reason)


def count_webhook_answer(path: str, status: int, reason: str | None) -> None:
    """Count one answer with ``status`` and ``reason`` (an outcome or error code) to a request
    on ``path``, if that is a webhook path. Every answer is counted by exactly one caller: the
    app's by ``ingest.middleware``, the ones gunicorn gives before the app by
    ``ingest.gunicorn_worker``."""
    source = webhook_source_label(path)
    if source is not None:
        webhook_answers_total.labels(source, http_status_label(status),
                                     webhook_reason_label(reason)).inc()


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
shopify_breaker_rejected_calls_total = Counter(
    "hookyard_shopify_breaker_rejected_calls_total",
    "Shopify calls not made because the shop's circuit breaker was open or its one probe call "
    "was out, by shop (the job waits for the next probe).",
    ["shop"],
)
shopify_breaker_transitions_total = Counter(
    "hookyard_shopify_breaker_transitions_total",
    "Shopify circuit breaker transitions by shop and the state entered (open, half_open, "
    "closed), counted by the process whose call caused them.",
    ["shop", "to"],
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


BREAKER_STATE_VALUES: Mapping[str, int] = {"closed": 0, "half_open": 1, "open": 2}
"""``hookyard_shopify_breaker_state``'s value per state: the higher, the less Shopify is called."""
BREAKER_STATE_GAUGE = "hookyard_shopify_breaker_state"
BREAKER_SINCE_GAUGE = "hookyard_shopify_breaker_state_since_timestamp_seconds"


class BreakerStateCollector(Collector):
    """Yields every configured shop's circuit breaker gauges from ``read_states()`` (shop ->
    (state, when it began in Unix seconds, or None before Hookyard's first call to the shop)) at
    scrape time: the breaker lives in Redis, shared by every worker, so no process holds it."""

    def __init__(
        self, read_states: Callable[[], Mapping[str, tuple[str, float | None]]]
    ) -> None:
        self._read_states = read_states

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily(
            BREAKER_STATE_GAUGE,
            "The shop's Shopify circuit breaker: 0 closed (calls flow), 1 half_open (one probe "
            "call is out), 2 open (no calls until the next probe); read from Redis at scrape "
            "time.",
            labels=["shop"])
        since = GaugeMetricFamily(
            BREAKER_SINCE_GAUGE,
            "When the shop's circuit breaker entered its current state (Unix seconds, Redis' "
            "clock); time in state is time() minus this.",
            labels=["shop"])
        try:
            states = self._read_states()
        except Exception:
            states = {}
        for shop, (name, began) in states.items():
            state.add_metric([shop], float(BREAKER_STATE_VALUES[name]))
            if began is not None:
                since.add_metric([shop], began)
        yield state
        yield since


SHOP_BACKLOG_GAUGE = "hookyard_shop_backlog"
SHOP_OLDEST_WAITING_GAUGE = "hookyard_shop_oldest_waiting_age_seconds"


class ShopBacklogCollector(Collector):
    """Yields every configured shop's pending sync jobs per queue from ``read_backlogs()``
    (shop -> queue -> (waiting, oldest waiting age in seconds)) at scrape time, from Redis."""

    def __init__(self, read_backlogs: Callable[[], Mapping[str, Mapping[str, tuple[int, float]]]]
                 ) -> None:
        self._read_backlogs = read_backlogs

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        waiting = GaugeMetricFamily(
            SHOP_BACKLOG_GAUGE,
            "The shop's sync jobs waiting to be written, per queue; read from Redis at scrape "
            "time.", labels=["shop", "queue"])
        oldest = GaugeMetricFamily(
            SHOP_OLDEST_WAITING_GAUGE,
            "How long the shop's oldest waiting sync job has waited, per queue (0 when none "
            "waits).", labels=["shop", "queue"])
        try:
            backlogs = self._read_backlogs()
        except Exception:
            backlogs = {}
        for shop, queues in backlogs.items():
            for queue, (count, age) in queues.items():
                waiting.add_metric([shop, queue], float(count))
                oldest.add_metric([shop, queue], age)
        yield waiting
        yield oldest


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
    names = set(QUEUE_GAUGES.values()) | {BREAKER_STATE_GAUGE, BREAKER_SINCE_GAUGE}
    for declared in list(globals().values()):
        if isinstance(declared, MetricWrapperBase):
            for family in declared.describe():
                names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names
