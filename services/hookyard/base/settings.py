"""One frozen settings object, read from the environment once per process.

Every variable is prefixed ``HOOKYARD_`` and declared once, as a field of ``Settings``: its
default, a valid example, its description and its parser (``setting(...)``). From that one
declaration come the field, the parsing, the error message and the README's configuration
table (``markdown_table``; a test holds the README equal to it). ``Settings.from_env`` reports
every bad variable in one ``SettingsError``, each with its name and a valid example, and the
process refuses to start. Secrets (tokens, the Redis URL) never appear in ``repr`` or in error
messages. Shops and API tokens parse in their own modules (``hookyard.base.shops``,
``hookyard.base.api_tokens``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlparse

from hookyard.base import setting_parsers as parse
from hookyard.base.api_tokens import ApiToken, parse_api_tokens
from hookyard.base.errors import SettingsError
from hookyard.base.queues import SYNC_QUEUES
from hookyard.base.setting_specs import SettingSpec, declared, setting, specs_table, with_environ
from hookyard.base.shops import ShopConfig, parse_shops

PREFIX = "HOOKYARD_"


@dataclass(frozen=True)
class Settings:
    """Validated configuration; build with ``Settings.from_env``. Field order is the README's."""

    redis_url: str = setting(
        'redis://127.0.0.1:6379/0', 'redis://redis:6379/0',
        "Redis for the broker (this URL's DB index) and job state (see STATE_REDIS_DB).",
        parse.redis_url, secret=True)
    state_redis_db: int = setting('1', '1',
        'DB index for job records, dedupe markers and indexes; must differ from the '
        "broker's so Dramatiq's maintenance KEYS scans stay small.",
        parse.non_negative_int)
    nhanh_tokens: tuple[str, ...] = setting('', 'tok-2026-a,tok-2026-b',
        'Comma-separated accepted Nhanh.vn verify tokens (several allow rotation).',
        parse.token_list, secret=True)
    shops: tuple[ShopConfig, ...] = setting('', '/etc/hookyard/shops.yaml',
        'Shops: a JSON/YAML file path or inline JSON (id, nhanh_business_id, '
        'shopify_domain, access_token or access_token_env, plan, depots; for Nhanh\'s API '
        'nhanh_app_id with nhanh_access_token or nhanh_access_token_env).',
        with_environ(parse_shops), secret=True)
    api_tokens: tuple[ApiToken, ...] = setting(
        '', 'ops:admin:s3cret,acme-bot:shop:acme:sha256:<64 hex>',
        'Status API bearer tokens: name:scope:token (scope admin or shop:<id>), or JSON.',
        parse_api_tokens, secret=True)
    shopify_api_version: str = setting('2026-10', '2026-10',
        'Shopify Admin API version.',
        parse.api_version)
    shopify_base_url: str | None = setting('', 'http://127.0.0.1:8082',
        'Override of https://<shop domain> (the local sandbox).',
        parse.optional_url)
    shopify_timeout_seconds: float = setting('10', '10',
        'Connect/read timeout of one Shopify call.',
        parse.positive_float)
    shopify_max_throttle_wait_seconds: float = setting('60', '60',
        'Longest one Shopify call waits for rate budget or throttles before the job '
        'retries later.',
        parse.positive_float)
    nhanh_api_url: str = setting('https://pos.open.nhanh.vn', 'http://127.0.0.1:8083',
        "Base URL of Nhanh.vn's Open API v3 (POS); the local Nhanh sandbox in tests.",
        parse.http_url)
    nhanh_api_requests: int = setting('150', '150',
        'Nhanh API requests Hookyard sends per app, business and API path in any '
        'NHANH_API_WINDOW_SECONDS (Nhanh allows 150 per 30 s), counted in Redis and shared by '
        'every replica. See [docs/nhanh.md](docs/nhanh.md#nhanh-api-client).',
        parse.positive_int)
    nhanh_api_window_seconds: int = setting('30', '30',
        'The sliding window of NHANH_API_REQUESTS (Hookyard counts it one second longer, for '
        'network delays); one Nhanh API call waits at most that long for room in it before '
        'the job retries later.',
        parse.positive_int)
    nhanh_api_timeout_seconds: float = setting('10', '10',
        'Connect/read timeout of one Nhanh API call.',
        parse.positive_float)
    customer_metafield_namespace: str = setting('nhanh', 'nhanh',
        "Namespace of the Shopify customer metafield that holds Nhanh.vn's total spent.",
        parse.identifier)
    customer_metafield_key: str = setting('total_spent', 'total_spent',
        'Key of that metafield.',
        parse.identifier)
    catalog_prefill_min_misses: int = setting('50', '50',
        'A sync batch missing at least this many mappings (SKUs, customers) loads the '
        "shop's whole catalogue with one Shopify bulk query instead of looking each up; 0 "
        'turns this reactive prefill off (see CATALOG_PREFILL_ON_START). See '
        '[docs/sync.md](docs/sync.md#mapping-snapshots-from-a-bulk-query).',
        parse.non_negative_int)
    catalog_prefill_on_start: bool = setting('true', 'false',
        "Sync workers load each shop's catalogue snapshot of their kind in the background "
        'when they start and again once it is older than CATALOG_REFRESH_SECONDS, instead '
        'of waiting for a batch to miss; false leaves only the reactive prefill. See '
        '[docs/sync.md](docs/sync.md#when-snapshots-load).',
        parse.flag)
    catalog_refresh_seconds: int = setting('86400', '86400',
        'A catalogue snapshot older than this is loaded again: in the background (see '
        'CATALOG_PREFILL_ON_START) or by the next batch with enough misses.',
        parse.positive_int)
    catalog_wait_seconds: float = setting('20', '20',
        'Longest a sync batch waits for a bulk query to finish (and again for its '
        'download) before it looks mappings up one by one; less than half of '
        'SYNC_TIME_LIMIT_SECONDS.',
        parse.positive_float)
    catalog_retry_seconds: int = setting('300', '300',
        'After a bulk query failed or could not be read, how long batches look mappings '
        'up one by one before a new bulk query is tried.',
        parse.positive_int)
    mapping_negative_ttl_seconds: int = setting('300', '300',
        'How long a SKU or customer Shopify did not know is not looked up again (0 looks '
        'it up every time).',
        parse.non_negative_int)
    max_body_bytes: int = setting('1048576', '1048576',
        'Largest accepted webhook body.',
        parse.positive_int)
    dedupe_ttl_seconds: int = setting('86400', '86400',
        'How long a delivered body is remembered for de-duplication.',
        parse.positive_int)
    nhanh_customer_read_delay_seconds: float = setting('5', '5',
        "How long a customer job from a Nhanh order event waits before it reads the customer's "
        'total from Nhanh: a burst of orders of one customer then costs one read.',
        parse.non_negative_float)
    ingest_redis_timeout_seconds: float = setting('0.5', '0.5',
        "Ingest's Redis socket timeout; slower answers 503 so the sender retries.",
        parse.positive_float)
    deploy_redis_timeout_seconds: float = setting('10', '10',
        'Redis socket timeout of POST /deploys, whose bundle write (up to '
        "DEPLOY_MAX_BUNDLE_BYTES) takes longer than a webhook's; slower answers 503.",
        parse.positive_float)
    max_retries: int = setting('3', '3',
        'Retries after the first attempt before a job is dead.',
        parse.non_negative_int)
    retry_base_seconds: float = setting('2', '2',
        'First retry backoff; doubles each retry, with jitter.',
        parse.positive_float)
    retry_max_seconds: float = setting('300', '300',
        'Longest retry backoff.',
        parse.positive_float)
    upstream_max_outage_seconds: int = setting('86400', '86400',
        'How long a job waits for an unavailable Shopify or Nhanh (5xx, timeouts, an open '
        'breaker) without spending attempts before it is dead with upstream_unavailable.',
        parse.positive_int)
    breaker_failures: int = setting('5', '5',
        "Consecutive upstream failures of a shop's Shopify calls that open its circuit "
        'breaker (every replica shares it).',
        parse.positive_int)
    breaker_probe_seconds: float = setting('5', '5',
        "First wait before an open breaker's probe call; doubles (with jitter) while probes "
        'fail.',
        parse.positive_float)
    breaker_probe_max_seconds: float = setting('30', '30',
        'Longest wait between probe calls of an open breaker (bounds the time from the end '
        'of an outage to the shop resuming).',
        parse.positive_float)
    max_deliveries: int = setting('5', '5',
        'Deliveries (incl. ones whose worker died) before a job is dead.',
        parse.positive_int)
    succeeded_retention_seconds: int = setting('3600', '3600',
        'How long succeeded/superseded job records are kept.',
        parse.positive_int)
    succeeded_retention_count: int = setting('1000', '1000',
        'Most succeeded/superseded job records kept per queue.',
        parse.positive_int)
    failed_retention_seconds: int = setting('86400', '86400',
        'How long failed (dead) and cancelled job records are kept.',
        parse.positive_int)
    sync_time_limit_seconds: int = setting('120', '120',
        'Time limit of one customer-sync or inventory-sync job.',
        parse.positive_int)
    deploy_time_limit_seconds: int = setting('600', '600',
        'Time limit of one deploy job.',
        parse.positive_int)
    worker_threads: int = setting('8', '8',
        'Worker threads per worker process.',
        parse.positive_int)
    worker_prefetch: int = setting('0', '4',
        'Messages a worker fetches ahead; 0 means 2 x threads.',
        parse.non_negative_int)
    worker_shutdown_timeout_seconds: int = setting('30', '30',
        'On SIGTERM, how long in-flight jobs may finish before they are requeued.',
        parse.positive_int)
    heartbeat_timeout_seconds: int = setting('10', '10',
        'A worker silent this long is dead and its in-flight messages are requeued.',
        parse.positive_int)
    sweep_interval_seconds: float = setting('5', '5',
        'How often the sweeper looks for lost jobs.',
        parse.positive_float)
    sweep_grace_seconds: int = setting('30', '30',
        'A queued/retrying job is only re-enqueued when its message has been gone this '
        'long.',
        parse.positive_int)
    stranded_after_seconds: int = setting('900', '900',
        'A job held by a live worker without progress this long (beyond its time limit) '
        "is re-enqueued; a backstop: a queued job's message the worker lost from memory "
        'is replaced within a few heartbeats.',
        parse.positive_int)
    queue_max_age_seconds: int = setting('300', '300',
        'A queue whose oldest waiting job is older is reported unhealthy.',
        parse.positive_int)
    shop_turns: bool = setting('true', 'true',
        "Fair by shop: a shop's pending sync jobs stand in the queue as one message (its turn, "
        'passed to the back after each batch), so a long backlog never delays other shops. '
        '"false" gives every job its own message (the design before turns).',
        parse.flag)
    queue_dead_window_seconds: int = setting('3600', '3600',
        'A queue with a job that went dead within this many seconds is reported unhealthy.',
        parse.positive_int)
    deploy_worker_threads: int = setting('3', '3',
        'Worker threads of the deploy worker (concurrent theme deploys per process).',
        parse.positive_int)
    deploy_max_bundle_bytes: int = setting('20971520', '20971520',
        'Largest accepted theme bundle upload (POST /deploys body); larger answers 413.',
        parse.positive_int)
    deploy_max_unpacked_bytes: int = setting('67108864', '67108864',
        "Largest total size of a bundle's files once unpacked (zip-bomb guard).",
        parse.positive_int)
    deploy_max_files: int = setting('2000', '2000',
        'Most files one theme bundle may hold.',
        parse.positive_int)
    deploy_max_read_seconds: float = setting('5', '5',
        'Most CPU time (of the thread doing it) reading and checking one theme bundle may '
        'take, in ingest and again in the deploy worker; longer answers 413. A backstop behind '
        'the size, name and entry limits (docs/security.md).',
        parse.positive_float)
    deploy_bundle_ttl_seconds: int = setting('86400', '86400',
        'How long a stored bundle is kept for its deploy job (also for a replay).',
        parse.positive_int)
    deploy_rate_limit_per_minute: int = setting('10', '10',
        'Deploy attempts per shop in any 60 s window, accepted or refused (once the token may '
        'deploy to that shop); more answer 429 before the bundle is read.',
        parse.positive_int)
    deploy_theme_source_url: str | None = setting(
        'https://github.com/Shopify/skeleton-theme/archive/refs/heads/main.zip', 'https://cdn.example.com/blank-theme.zip',
        "Zip that themeCreate starts a new theme from before the bundle's files are "
        'uploaded.',
        parse.optional_url)
    api_rate_limit_per_minute: int = setting('600', '600',
        'Status API requests accepted per token in any 60 s window (counted in Redis, '
        'shared by every ingest replica); more answer 429.',
        parse.positive_int)
    audit_retention_seconds: int = setting('7776000', '7776000',
        'How long audit log entries (operator actions: retry, cancel, deploy) are kept.',
        parse.positive_int)
    audit_max_entries: int = setting('100000', '100000',
        'Most audit log entries kept; older ones are trimmed first.',
        parse.positive_int)
    worker_poll_timeout_seconds: float = setting('1', '1',
        'Longest an idle worker blocks before it looks at its queue again (a new job '
        'wakes it at once); also how long a stop request may go unnoticed.',
        parse.positive_float)
    ingest_bind: str = setting('0.0.0.0:8080', '0.0.0.0:8080',
        'Address gunicorn binds ingest to.',
        parse.bind_address)
    ingest_workers: int = setting('2', '2',
        'Gunicorn worker processes of ingest.',
        parse.positive_int)
    ingest_threads: int = setting('8', '8',
        'Threads per gunicorn worker (gthread): a slow client holds one thread, not a '
        'process.',
        parse.positive_int)
    ingest_timeout_seconds: int = setting('30', '30',
        'Gunicorn worker timeout; a request stuck this long is aborted.',
        parse.positive_int)
    ingest_read_timeout_seconds: float = setting('30', '30',
        "Longest a request's line, headers and body may take to arrive in full; slower "
        'answers 408 and the connection closes (slow and stalled clients, see '
        'docs/security.md).',
        parse.positive_float)
    ingest_read_idle_seconds: float = setting('10', '10',
        'Longest pause between two reads of one request before it is answered 408.',
        parse.positive_float)
    metrics_port: int = setting('9191', '9191',
        "Port of a worker's /metrics endpoint (0 disables).",
        parse.non_negative_int)
    metrics_host: str = setting('0.0.0.0', '127.0.0.1',
        "Address a worker's /metrics and /healthz listen on: every interface in a pod, "
        'loopback on a shared machine (the local stack).',
        parse.listen_host)
    log_level: str = setting('INFO', 'INFO',
        'DEBUG, INFO, WARNING or ERROR.',
        parse.log_level)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every ``HOOKYARD_*`` variable; one ``SettingsError`` lists every
        bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for spec in SPECS:
            try:
                values[spec.attr] = spec.value(environ)
            except (ValueError, TypeError, OSError) as exc:
                problems.append(spec.problem(environ, exc))
        if not problems:
            settings = cls(**values)
            problems = settings._inconsistencies()
            if not problems:
                return settings
        if len(problems) == 1:
            raise SettingsError(problems[0])
        raise SettingsError(f"{len(problems)} settings are invalid:\n"
                            + "\n".join(f"- {problem}" for problem in problems))

    def _inconsistencies(self) -> list[str]:
        """What is wrong between settings that are each valid alone."""
        problems: list[str] = []
        if self.state_redis_db == self.broker_redis_db:
            problems.append(
                f"{PREFIX}STATE_REDIS_DB must differ from the DB index in {PREFIX}REDIS_URL "
                f"({self.broker_redis_db}). Example: {PREFIX}STATE_REDIS_DB="
                f"{self.broker_redis_db + 1}"
            )
        if self.max_deliveries < self.max_attempts():
            problems.append(
                f"{PREFIX}MAX_DELIVERIES must be at least {PREFIX}MAX_RETRIES + 1 "
                f"({self.max_attempts()}), or the delivery cap would cut normal retries short. "
                f"Example: {PREFIX}MAX_DELIVERIES={self.max_attempts() + 1}"
            )
        for name in ("SYNC_TIME_LIMIT_SECONDS", "DEPLOY_TIME_LIMIT_SECONDS"):
            if getattr(self, name.lower()) <= self.shopify_max_throttle_wait_seconds:
                problems.append(
                    f"{PREFIX}{name} must exceed {PREFIX}SHOPIFY_MAX_THROTTLE_WAIT_SECONDS, or "
                    f"waiting for Shopify budget would hit the time limit. "
                    f"Example: {PREFIX}{name}=600"
                )
        if self.sync_time_limit_seconds <= self.nhanh_api_window_seconds:
            problems.append(
                f"{PREFIX}SYNC_TIME_LIMIT_SECONDS must exceed {PREFIX}NHANH_API_WINDOW_SECONDS, "
                "or waiting for room in Nhanh's limit would hit the time limit. "
                f"Example: {PREFIX}NHANH_API_WINDOW_SECONDS=30"
            )
        if self.catalog_wait_seconds * 2 >= self.sync_time_limit_seconds:
            problems.append(
                f"{PREFIX}CATALOG_WAIT_SECONDS must be less than half of "
                f"{PREFIX}SYNC_TIME_LIMIT_SECONDS ({self.sync_time_limit_seconds / 2:g}): a batch "
                "waits that long for a bulk query and again for its download, and must still "
                f"look up and write in time. Example: {PREFIX}CATALOG_WAIT_SECONDS="
                f"{max(1, self.sync_time_limit_seconds // 6)}"
            )
        if self.retry_max_seconds < self.retry_base_seconds:
            problems.append(
                f"{PREFIX}RETRY_MAX_SECONDS must be at least {PREFIX}RETRY_BASE_SECONDS. "
                f"Example: {PREFIX}RETRY_MAX_SECONDS=300"
            )
        if self.breaker_probe_max_seconds < self.breaker_probe_seconds:
            problems.append(
                f"{PREFIX}BREAKER_PROBE_MAX_SECONDS must be at least "
                f"{PREFIX}BREAKER_PROBE_SECONDS ({self.breaker_probe_seconds:g}): it caps the "
                f"wait between probe calls. Example: {PREFIX}BREAKER_PROBE_MAX_SECONDS=30"
            )
        return problems

    @property
    def broker_redis_db(self) -> int:
        path = urlparse(self.redis_url).path.strip("/")
        return int(path) if path.isdigit() else 0

    def shop_by_business_id(self, business_id: str) -> ShopConfig | None:
        for shop in self.shops:
            if shop.nhanh_business_id == business_id:
                return shop
        return None

    def shop_by_id(self, shop_id: str) -> ShopConfig | None:
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        return None

    def time_limit_seconds(self, queue: str) -> int:
        return self.sync_time_limit_seconds if queue in SYNC_QUEUES else \
            self.deploy_time_limit_seconds

    def max_attempts(self) -> int:
        return self.max_retries + 1



SPECS: tuple[SettingSpec, ...] = tuple(declared(PREFIX, f) for f in fields(Settings))
"""Every setting, in the order of ``Settings``'s fields."""


def markdown_table() -> str:
    """The README's configuration table, from the declarations."""
    return specs_table(SPECS)
