"""One frozen settings object, read from the environment once per process.

Every variable is prefixed ``HOOKYARD_`` and declared once in ``SPECS`` with its default, a
valid example and a description; the README's configuration table is checked against ``SPECS``
by a test. A bad value raises ``SettingsError`` naming the variable and a valid example, and the
process refuses to start. Secrets (tokens) never appear in ``repr`` or error messages.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from hookyard.errors import SettingsError

PREFIX = "HOOKYARD_"
QUEUES = ("customer-sync", "inventory-sync", "deploy")
PLANS = ("standard", "advanced", "plus", "enterprise")


@dataclass(frozen=True)
class ShopConfig:
    """One Shopify shop and the Nhanh.vn business that feeds it."""

    id: str
    nhanh_business_id: str
    shopify_domain: str
    access_token: str = field(repr=False)
    plan: str = "standard"
    depots: Mapping[str, str] = field(default_factory=dict)
    """Nhanh depot id -> Shopify location GID."""
    custom_domain: str | None = None
    inventory_items: Mapping[str, str] = field(default_factory=dict)
    """Explicit Nhanh product id or code -> Shopify inventory item GID (wins over SKU lookup)."""


@dataclass(frozen=True)
class ApiToken:
    """A status-API bearer token; only its sha256 is kept in memory."""

    name: str
    sha256: str = field(repr=False)
    scope: str
    """``admin`` or ``shop:<shop id>``."""

    @property
    def shop(self) -> str | None:
        return self.scope.removeprefix("shop:") if self.scope.startswith("shop:") else None

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"


@dataclass(frozen=True)
class SettingSpec:
    env: str
    attr: str
    default: str | None
    example: str
    description: str
    parse: Callable[[str], Any]
    secret: bool = False


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be zero or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _redis_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be a redis:// , rediss:// or unix:// URL")
    return raw


def _optional_url(raw: str) -> str | None:
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http(s) URL")
    return raw.rstrip("/")


def _bind_address(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port")
    return raw


def _token_list(raw: str) -> tuple[str, ...]:
    tokens = tuple(t.strip() for t in raw.split(",") if t.strip())
    return tokens


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def _api_version(raw: str) -> str:
    parts = raw.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise ValueError("must look like YYYY-MM")
    return raw


def _identifier(raw: str) -> str:
    if not raw or not all(c.isalnum() or c in "_-." for c in raw):
        raise ValueError("must be letters, digits, '_', '-' or '.'")
    return raw


def parse_api_tokens(raw: str) -> tuple[ApiToken, ...]:
    """Parse ``HOOKYARD_API_TOKENS``.

    Either JSON (``[{"name", "token" | "sha256", "scope"}]``) or a compact comma-separated list of
    ``name:scope:secret`` where secret is the token itself or ``sha256:<hex>``.
    """
    if not raw.strip():
        return ()
    entries: list[dict[str, str]] = []
    if raw.lstrip().startswith("["):
        loaded = json.loads(raw)
        if not isinstance(loaded, list) or not all(isinstance(e, dict) for e in loaded):
            raise ValueError("JSON form must be a list of objects")
        entries = loaded
    else:
        for chunk in raw.split(","):
            chunk = chunk.strip()
            if not chunk:
                continue
            name, _, rest = chunk.partition(":")
            scope, _, secret = rest.rpartition(":")
            if scope.endswith(":sha256"):
                scope, secret = scope.removesuffix(":sha256"), "sha256:" + secret
            if not name or not scope or not secret:
                raise ValueError("each entry must be name:scope:token")
            entries.append({"name": name, "scope": scope, "secret": secret})
    tokens = []
    for entry in entries:
        name, scope = str(entry.get("name", "")), str(entry.get("scope", ""))
        secret = str(entry.get("secret") or entry.get("token") or "")
        digest = str(entry.get("sha256") or "")
        if secret.startswith("sha256:"):
            digest = secret.removeprefix("sha256:")
        elif secret:
            digest = hashlib.sha256(secret.encode()).hexdigest()
        if not name or not digest:
            raise ValueError("every token needs a name and a token or sha256")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
            raise ValueError(f"token {name!r}: sha256 must be 64 hex digits")
        if scope != "admin" and not (scope.startswith("shop:") and len(scope) > 5):
            raise ValueError(f"token {name!r}: scope must be 'admin' or 'shop:<id>'")
        tokens.append(ApiToken(name=name, sha256=digest.lower(), scope=scope))
    return tuple(tokens)


def _load_shops_document(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return []
    if text[0] in "[{":
        return json.loads(text)
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"file {text!r} does not exist")
    content = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_load(content)
    return json.loads(content)


def parse_shops(raw: str, environ: Mapping[str, str] | None = None) -> tuple[ShopConfig, ...]:
    """Parse ``HOOKYARD_SHOPS``: inline JSON, or a path to a JSON or YAML file.

    The document is a list (or ``{"shops": [...]}``) of objects with ``id``,
    ``nhanh_business_id``, ``shopify_domain``, ``access_token`` or ``access_token_env``, ``plan``,
    ``depots`` ({Nhanh depot id: Shopify location GID}) and optional ``custom_domain``.
    """
    environ = os.environ if environ is None else environ
    document = _load_shops_document(raw)
    if isinstance(document, dict):
        document = document.get("shops", [])
    if not isinstance(document, list):
        raise ValueError("must be a list of shops")
    shops: list[ShopConfig] = []
    for index, entry in enumerate(document):
        if not isinstance(entry, dict):
            raise ValueError(f"shop #{index} must be an object")
        missing = [k for k in ("id", "nhanh_business_id", "shopify_domain") if not entry.get(k)]
        if missing:
            raise ValueError(f"shop #{index} is missing {', '.join(missing)}")
        token = entry.get("access_token")
        if not token and entry.get("access_token_env"):
            token = environ.get(str(entry["access_token_env"]))
            if not token:
                raise ValueError(
                    f"shop {entry['id']!r}: environment variable "
                    f"{entry['access_token_env']!r} named by access_token_env is empty"
                )
        if not token:
            raise ValueError(f"shop {entry['id']!r} needs access_token or access_token_env")
        plan = str(entry.get("plan", "standard")).lower()
        if plan not in PLANS:
            raise ValueError(f"shop {entry['id']!r}: plan must be one of {', '.join(PLANS)}")
        depots = entry.get("depots") or {}
        if not isinstance(depots, dict):
            raise ValueError(f"shop {entry['id']!r}: depots must map depot id to location GID")
        inventory_items = entry.get("inventory_items") or {}
        if not isinstance(inventory_items, dict):
            raise ValueError(f"shop {entry['id']!r}: inventory_items must map a Nhanh product "
                             "id or code to an inventory item GID")
        shops.append(
            ShopConfig(
                id=_identifier(str(entry["id"])),
                nhanh_business_id=str(entry["nhanh_business_id"]),
                shopify_domain=str(entry["shopify_domain"]),
                access_token=str(token),
                plan=plan,
                depots={str(k): str(v) for k, v in depots.items()},
                custom_domain=entry.get("custom_domain"),
                inventory_items={str(k): str(v) for k, v in inventory_items.items()},
            )
        )
    ids = [s.id for s in shops]
    businesses = [s.nhanh_business_id for s in shops]
    if len(set(ids)) != len(ids) or len(set(businesses)) != len(businesses):
        raise ValueError("shop ids and nhanh_business_ids must be unique")
    return tuple(shops)


def _spec(
    name: str,
    default: str | None,
    example: str,
    description: str,
    parse: Callable[[str], Any],
    *,
    secret: bool = False,
) -> SettingSpec:
    return SettingSpec(
        env=PREFIX + name,
        attr=name.lower(),
        default=default,
        example=example,
        description=description,
        parse=parse,
        secret=secret,
    )


SPECS: tuple[SettingSpec, ...] = (
    _spec("REDIS_URL", "redis://127.0.0.1:6379/0", "redis://redis:6379/0",
          "Redis for the broker (this URL's DB index) and job state (see STATE_REDIS_DB).",
          _redis_url, secret=True),
    _spec("STATE_REDIS_DB", "1", "1",
          "DB index for job records, dedupe markers and indexes; must differ from the broker's "
          "so Dramatiq's maintenance KEYS scans stay small.", _non_negative_int),
    _spec("NHANH_TOKENS", "", "tok-2026-a,tok-2026-b",
          "Comma-separated accepted Nhanh.vn verify tokens (several allow rotation).",
          _token_list, secret=True),
    _spec("SHOPS", "", "/etc/hookyard/shops.yaml",
          "Shops: a JSON/YAML file path or inline JSON (id, nhanh_business_id, shopify_domain, "
          "access_token or access_token_env, plan, depots).", parse_shops, secret=True),
    _spec("API_TOKENS", "", "ops:admin:s3cret,acme-bot:shop:acme:sha256:<64 hex>",
          "Status API bearer tokens: name:scope:token (scope admin or shop:<id>), or JSON.",
          parse_api_tokens, secret=True),
    _spec("SHOPIFY_API_VERSION", "2026-10", "2026-10", "Shopify Admin API version.",
          _api_version),
    _spec("SHOPIFY_BASE_URL", "", "http://127.0.0.1:8082",
          "Override of https://<shop domain> (the local sandbox).", _optional_url),
    _spec("SHOPIFY_TIMEOUT_SECONDS", "10", "10", "Connect/read timeout of one Shopify call.",
          _positive_float),
    _spec("SHOPIFY_MAX_THROTTLE_WAIT_SECONDS", "60", "60",
          "Longest one Shopify call waits for rate budget or throttles before the job retries "
          "later.", _positive_float),
    _spec("CUSTOMER_METAFIELD_NAMESPACE", "nhanh", "nhanh",
          "Namespace of the Shopify customer metafield that holds Nhanh.vn's total spent.",
          _identifier),
    _spec("CUSTOMER_METAFIELD_KEY", "total_spent", "total_spent",
          "Key of that metafield.", _identifier),
    _spec("CATALOG_PREFILL_MIN_MISSES", "50", "50",
          "A sync batch missing at least this many mappings (SKUs, customers) loads the shop's "
          "whole catalogue with one Shopify bulk query instead of looking each up; 0 turns this "
          "reactive prefill off (see CATALOG_PREFILL_ON_START).", _non_negative_int),
    _spec("CATALOG_PREFILL_ON_START", "true", "false",
          "Sync workers load each shop's catalogue snapshot of their kind in the background when "
          "they start and again once it is older than CATALOG_REFRESH_SECONDS, instead of "
          "waiting for a batch to miss; false leaves only the reactive prefill.", _flag),
    _spec("CATALOG_REFRESH_SECONDS", "86400", "86400",
          "A catalogue snapshot older than this is loaded again: in the background (see "
          "CATALOG_PREFILL_ON_START) or by the next batch with enough misses.", _positive_int),
    _spec("CATALOG_WAIT_SECONDS", "20", "20",
          "Longest a sync batch waits for a bulk query to finish (and again for its download) "
          "before it looks mappings up one by one; less than half of SYNC_TIME_LIMIT_SECONDS.",
          _positive_float),
    _spec("CATALOG_RETRY_SECONDS", "300", "300",
          "After a bulk query failed or could not be read, how long batches look mappings up "
          "one by one before a new bulk query is tried.", _positive_int),
    _spec("MAPPING_NEGATIVE_TTL_SECONDS", "300", "300",
          "How long a SKU or customer Shopify did not know is not looked up again (0 looks it up "
          "every time).", _non_negative_int),
    _spec("MAX_BODY_BYTES", "1048576", "1048576", "Largest accepted webhook body.",
          _positive_int),
    _spec("DEDUPE_TTL_SECONDS", "86400", "86400",
          "How long a delivered body is remembered for de-duplication.", _positive_int),
    _spec("INGEST_REDIS_TIMEOUT_SECONDS", "0.5", "0.5",
          "Ingest's Redis socket timeout; slower answers 503 so the sender retries.",
          _positive_float),
    _spec("DEPLOY_REDIS_TIMEOUT_SECONDS", "10", "10",
          "Redis socket timeout of POST /deploys, whose bundle write (up to "
          "DEPLOY_MAX_BUNDLE_BYTES) takes longer than a webhook's; slower answers 503.",
          _positive_float),
    _spec("MAX_RETRIES", "3", "3", "Retries after the first attempt before a job is dead.",
          _non_negative_int),
    _spec("RETRY_BASE_SECONDS", "2", "2",
          "First retry backoff; doubles each retry, with jitter.", _positive_float),
    _spec("RETRY_MAX_SECONDS", "300", "300", "Longest retry backoff.", _positive_float),
    _spec("MAX_DELIVERIES", "5", "5",
          "Deliveries (incl. ones whose worker died) before a job is dead.", _positive_int),
    _spec("SUCCEEDED_RETENTION_SECONDS", "3600", "3600",
          "How long succeeded/superseded job records are kept.", _positive_int),
    _spec("SUCCEEDED_RETENTION_COUNT", "1000", "1000",
          "Most succeeded/superseded job records kept per queue.", _positive_int),
    _spec("FAILED_RETENTION_SECONDS", "86400", "86400",
          "How long failed (dead) and cancelled job records are kept.", _positive_int),
    _spec("SYNC_TIME_LIMIT_SECONDS", "120", "120",
          "Time limit of one customer-sync or inventory-sync job.", _positive_int),
    _spec("DEPLOY_TIME_LIMIT_SECONDS", "600", "600", "Time limit of one deploy job.",
          _positive_int),
    _spec("WORKER_THREADS", "8", "8", "Worker threads per worker process.", _positive_int),
    _spec("WORKER_PREFETCH", "0", "4",
          "Messages a worker fetches ahead; 0 means 2 x threads.", _non_negative_int),
    _spec("WORKER_SHUTDOWN_TIMEOUT_SECONDS", "30", "30",
          "On SIGTERM, how long in-flight jobs may finish before they are requeued.",
          _positive_int),
    _spec("HEARTBEAT_TIMEOUT_SECONDS", "10", "10",
          "A worker silent this long is dead and its in-flight messages are requeued.",
          _positive_int),
    _spec("SWEEP_INTERVAL_SECONDS", "5", "5", "How often the sweeper looks for lost jobs.",
          _positive_float),
    _spec("SWEEP_GRACE_SECONDS", "30", "30",
          "A queued/retrying job is only re-enqueued when its message has been gone this long.",
          _positive_int),
    _spec("STRANDED_AFTER_SECONDS", "900", "900",
          "A job held by a live worker without progress this long (beyond its time limit) is "
          "re-enqueued; a backstop: a queued job's message the worker lost from memory is "
          "replaced within a few heartbeats.", _positive_int),
    _spec("QUEUE_MAX_AGE_SECONDS", "300", "300",
          "A queue whose oldest waiting job is older is reported unhealthy.", _positive_int),
    _spec("DEPLOY_WORKER_THREADS", "3", "3",
          "Worker threads of the deploy worker (concurrent theme deploys per process).",
          _positive_int),
    _spec("DEPLOY_MAX_BUNDLE_BYTES", "20971520", "20971520",
          "Largest accepted theme bundle upload (POST /deploys body); larger answers 413.",
          _positive_int),
    _spec("DEPLOY_MAX_UNPACKED_BYTES", "67108864", "67108864",
          "Largest total size of a bundle's files once unpacked (zip-bomb guard).",
          _positive_int),
    _spec("DEPLOY_MAX_FILES", "2000", "2000", "Most files one theme bundle may hold.",
          _positive_int),
    _spec("DEPLOY_MAX_READ_SECONDS", "5", "5",
          "Most CPU time reading and checking one theme bundle may take (ingest, and the deploy "
          "worker again); longer answers 413. A backstop behind the size, name and entry limits.",
          _positive_float),
    _spec("DEPLOY_BUNDLE_TTL_SECONDS", "86400", "86400",
          "How long a stored bundle is kept for its deploy job (also for a replay).",
          _positive_int),
    _spec("DEPLOY_RATE_LIMIT_PER_MINUTE", "10", "10",
          "Deploy attempts per shop in any 60 s window, accepted or refused (once the token may "
          "deploy to that shop); more answer 429 before the bundle is read.", _positive_int),
    _spec("DEPLOY_THEME_SOURCE_URL",
          "https://github.com/Shopify/skeleton-theme/archive/refs/heads/main.zip",
          "https://cdn.example.com/blank-theme.zip",
          "Zip that themeCreate starts a new theme from before the bundle's files are uploaded.",
          _optional_url),
    _spec("API_RATE_LIMIT_PER_MINUTE", "600", "600",
          "Status API requests accepted per token in any 60 s window (counted in Redis, shared "
          "by every ingest replica); more answer 429.", _positive_int),
    _spec("AUDIT_RETENTION_SECONDS", "7776000", "7776000",
          "How long audit log entries (operator actions: retry, cancel, deploy) are kept.",
          _positive_int),
    _spec("AUDIT_MAX_ENTRIES", "100000", "100000",
          "Most audit log entries kept; older ones are trimmed first.", _positive_int),
    _spec("WORKER_POLL_TIMEOUT_SECONDS", "1", "1",
          "Longest an idle worker blocks before it looks at its queue again (a new job wakes it "
          "at once); also how long a stop request may go unnoticed.", _positive_float),
    _spec("INGEST_BIND", "0.0.0.0:8080", "0.0.0.0:8080", "Address gunicorn binds ingest to.",
          _bind_address),
    _spec("INGEST_WORKERS", "2", "2", "Gunicorn worker processes of ingest.", _positive_int),
    _spec("INGEST_THREADS", "8", "8",
          "Threads per gunicorn worker (gthread): a slow client holds one thread, not a process.",
          _positive_int),
    _spec("INGEST_TIMEOUT_SECONDS", "30", "30",
          "Gunicorn worker timeout; a request stuck this long is aborted.", _positive_int),
    _spec("METRICS_PORT", "9191", "9191", "Port of a worker's /metrics endpoint (0 disables).",
          _non_negative_int),
    _spec("LOG_LEVEL", "INFO", "INFO", "DEBUG, INFO, WARNING or ERROR.", _log_level),
)


@dataclass(frozen=True)
class Settings:
    """Validated configuration; build with ``Settings.from_env``."""

    redis_url: str = field(repr=False)
    state_redis_db: int
    nhanh_tokens: tuple[str, ...] = field(repr=False)
    shops: tuple[ShopConfig, ...]
    api_tokens: tuple[ApiToken, ...]
    shopify_api_version: str
    shopify_base_url: str | None
    shopify_timeout_seconds: float
    shopify_max_throttle_wait_seconds: float
    customer_metafield_namespace: str
    customer_metafield_key: str
    catalog_prefill_min_misses: int
    catalog_prefill_on_start: bool
    catalog_refresh_seconds: int
    catalog_wait_seconds: float
    catalog_retry_seconds: int
    mapping_negative_ttl_seconds: int
    max_body_bytes: int
    dedupe_ttl_seconds: int
    ingest_redis_timeout_seconds: float
    deploy_redis_timeout_seconds: float
    max_retries: int
    retry_base_seconds: float
    retry_max_seconds: float
    max_deliveries: int
    succeeded_retention_seconds: int
    succeeded_retention_count: int
    failed_retention_seconds: int
    sync_time_limit_seconds: int
    deploy_time_limit_seconds: int
    worker_threads: int
    worker_prefetch: int
    worker_shutdown_timeout_seconds: int
    heartbeat_timeout_seconds: int
    sweep_interval_seconds: float
    sweep_grace_seconds: int
    stranded_after_seconds: int
    queue_max_age_seconds: int
    deploy_worker_threads: int
    deploy_max_bundle_bytes: int
    deploy_max_unpacked_bytes: int
    deploy_max_files: int
    deploy_max_read_seconds: float
    deploy_bundle_ttl_seconds: int
    deploy_rate_limit_per_minute: int
    deploy_theme_source_url: str | None
    api_rate_limit_per_minute: int
    audit_retention_seconds: int
    audit_max_entries: int
    worker_poll_timeout_seconds: float
    ingest_bind: str
    ingest_workers: int
    ingest_threads: int
    ingest_timeout_seconds: int
    metrics_port: int
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every ``HOOKYARD_*`` variable (``SettingsError`` on a bad one)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in SPECS:
            raw = environ.get(spec.env)
            if raw is None:
                raw = spec.default if spec.default is not None else ""
            try:
                if spec.parse is parse_shops:
                    values[spec.attr] = parse_shops(raw, environ)
                else:
                    values[spec.attr] = spec.parse(raw)
            except (ValueError, TypeError, json.JSONDecodeError, yaml.YAMLError, OSError) as exc:
                shown = "" if spec.secret else f" (got {raw!r})"
                raise SettingsError(
                    f"{spec.env} is invalid{shown}: {exc}. "
                    f"Example of a valid value: {spec.env}={spec.example}"
                ) from None
        settings = cls(**values)
        settings._check_consistency()
        return settings

    @property
    def broker_redis_db(self) -> int:
        path = urlparse(self.redis_url).path.strip("/")
        return int(path) if path.isdigit() else 0

    def _check_consistency(self) -> None:
        if self.state_redis_db == self.broker_redis_db:
            raise SettingsError(
                f"{PREFIX}STATE_REDIS_DB must differ from the DB index in {PREFIX}REDIS_URL "
                f"({self.broker_redis_db}). Example: {PREFIX}STATE_REDIS_DB="
                f"{self.broker_redis_db + 1}"
            )
        if self.max_deliveries < self.max_attempts():
            raise SettingsError(
                f"{PREFIX}MAX_DELIVERIES must be at least {PREFIX}MAX_RETRIES + 1 "
                f"({self.max_attempts()}), or the delivery cap would cut normal retries short. "
                f"Example: {PREFIX}MAX_DELIVERIES={self.max_attempts() + 1}"
            )
        for name in ("SYNC_TIME_LIMIT_SECONDS", "DEPLOY_TIME_LIMIT_SECONDS"):
            if getattr(self, name.lower()) <= self.shopify_max_throttle_wait_seconds:
                raise SettingsError(
                    f"{PREFIX}{name} must exceed {PREFIX}SHOPIFY_MAX_THROTTLE_WAIT_SECONDS, or "
                    f"waiting for Shopify budget would hit the time limit. "
                    f"Example: {PREFIX}{name}=600"
                )
        if self.catalog_wait_seconds * 2 >= self.sync_time_limit_seconds:
            raise SettingsError(
                f"{PREFIX}CATALOG_WAIT_SECONDS must be less than half of "
                f"{PREFIX}SYNC_TIME_LIMIT_SECONDS ({self.sync_time_limit_seconds / 2:g}): a batch "
                "waits that long for a bulk query and again for its download, and must still "
                f"look up and write in time. Example: {PREFIX}CATALOG_WAIT_SECONDS="
                f"{max(1, self.sync_time_limit_seconds // 6)}"
            )
        if self.retry_max_seconds < self.retry_base_seconds:
            raise SettingsError(
                f"{PREFIX}RETRY_MAX_SECONDS must be at least {PREFIX}RETRY_BASE_SECONDS. "
                f"Example: {PREFIX}RETRY_MAX_SECONDS=300"
            )

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
        return self.deploy_time_limit_seconds if queue == "deploy" else self.sync_time_limit_seconds

    def max_attempts(self) -> int:
        return self.max_retries + 1

