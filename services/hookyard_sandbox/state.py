"""In-memory state of the sandbox's shops: catalogue, inventory, customers, themes, and the
records tests read back (stats, every mutation in order, idempotency keys).

A ``ShopState`` is created from a *seed* (the body of ``POST /_sandbox/shops`` or one entry of
``--shops-file``)::

    {"id": "acme", "token": "shpat_acme", "domain": "acme.myshopify.com", "plan": "standard",
     "locations": [{"id": "gid://shopify/Location/1", "name": "Main"}],
     "products": [{"title": "Shirt", "variants": [{"sku": "SH-1", "inventory": {"Main": 5}}]}],
     "customers": [{"email": "a@example.com", "phone": "+84901234567", "firstName": "An",
                    "metafields": [{"namespace": "loyalty", "key": "total_spent",
                                    "type": "number_integer", "value": "10"}]}],
     "themes": [{"name": "Dawn", "role": "MAIN", "files": {"layout/theme.liquid": "..."}}]}

Location ids may be given (so a shop config's depot map can point at them); every other id is
assigned. A variant without ``inventory`` is stocked at every location with 0. Every state change
happens under ``ShopState.lock``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookyard_sandbox.bucket import RESTORE_RATES, LeakyBucket

GID_PREFIX = "gid://shopify/"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Faults:
    """Fault switches of one shop (``POST /_sandbox/shops/{id}/faults``)."""

    latency_ms: int = 0
    outage: bool = False
    """While true, every GraphQL request answers ``fail_status`` (Shopify down for the shop,
    however long; counted in ``Stats.outage_calls``) until it is switched off again."""
    fail_next: int = 0
    """The next N GraphQL requests answer ``fail_status`` (5xx)."""
    fail_status: int = 503
    throttle_next: int = 0
    """The next N GraphQL requests answer HTTP 429 with ``Retry-After: retry_after_seconds``."""
    retry_after_seconds: float = 1.0
    bulk_rows_per_second: float = 5000.0
    """How fast a bulk query produces its rows once running (Shopify: several thousand objects
    a second; tests make it slow)."""
    bulk_start_seconds: float = 1.0
    """Time from ``bulkOperationRunQuery`` until the first row (Shopify queues the operation)."""
    bulk_max_running: int = 0
    """Bulk queries that may run at once per shop; 0 = Shopify's limit for the API version
    (1 before 2026-01, 5 from 2026-01)."""
    bulk_fail_next: int = 0
    """The next N bulk queries end ``FAILED`` with ``bulk_error_code`` (half their rows in a
    ``partialDataUrl``)."""
    bulk_error_code: str = "INTERNAL_SERVER_ERROR"
    bulk_cancel_next: int = 0
    """The next N bulk queries end ``CANCELED``."""
    bulk_download_fail_next: int = 0
    """The next N downloads of a bulk result answer HTTP 503."""


@dataclass
class Stats:
    """Counters of one shop's GraphQL traffic (``GET /_sandbox/shops/{id}/stats``)."""

    calls: int = 0
    served: int = 0
    throttled: int = 0
    """THROTTLED answers (the bucket was short)."""
    http_429: int = 0
    http_5xx: int = 0
    outage_calls: int = 0
    """GraphQL requests answered during an ``outage`` (also counted in ``calls`` and
    ``http_5xx``)."""
    max_cost_exceeded: int = 0
    points_requested: int = 0
    points_spent: int = 0
    budget_exceeded: int = 0
    """Requests served although the bucket was short (possible only with enforcement off)."""
    min_available: float = float("inf")
    bulk_operations: int = 0
    """Bulk queries started (``bulkOperationRunQuery`` answered with an operation)."""
    bulk_downloads: int = 0
    """Downloads of a bulk result file (outside the GraphQL rate limit, as on Shopify)."""
    calls_by_field: dict[str, int] = field(default_factory=dict)
    """Served requests by root field (``productVariants``, ``bulkOperation``, ...)."""
    points_by_field: dict[str, int] = field(default_factory=dict)
    """Points spent by root field (a request with several root fields counts under the first)."""


@dataclass
class ThemeFile:
    filename: str
    content: bytes
    is_text: bool
    created_at: str
    updated_at: str

    @property
    def checksum_md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()

    def body(self) -> dict[str, Any]:
        if self.is_text:
            return {"__typename": "OnlineStoreThemeFileBodyText",
                    "content": self.content.decode("utf-8")}
        return {"__typename": "OnlineStoreThemeFileBodyBase64",
                "contentBase64": base64.b64encode(self.content).decode()}


@dataclass
class Theme:
    id: str
    name: str
    role: str
    created_at: str
    updated_at: str
    source: str | None = None
    files: dict[str, ThemeFile] = field(default_factory=dict)


@dataclass
class Metafield:
    id: str
    namespace: str
    key: str
    type: str
    value: str
    owner_type: str
    created_at: str
    updated_at: str


@dataclass
class Customer:
    id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None


@dataclass
class Variant:
    id: str
    sku: str | None
    title: str
    product_id: str
    inventory_item_id: str


BULK_TERMINAL = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


@dataclass
class BulkOperation:
    """One bulk query: its rows are produced when it is created and released over time.

    The status follows the clock (``advance``): ``CREATED`` until ``start_seconds`` have passed,
    ``RUNNING`` while the rows are "processed" at ``rows_per_second``, then its ``outcome``
    (``COMPLETED``, or ``FAILED`` / ``CANCELED`` when a fault switch said so).
    """

    id: str
    query: str
    rows: list[bytes]
    created_at: str
    started: float
    """``time.monotonic()`` at creation."""
    start_seconds: float
    rows_per_second: float
    outcome: str = "COMPLETED"
    error_code: str | None = None
    status: str = "CREATED"
    completed_at: str | None = None
    object_count: int = 0
    result_token: str | None = None
    partial_token: str | None = None

    @property
    def duration(self) -> float:
        return self.start_seconds + len(self.rows) / self.rows_per_second

    def advance(self, now: float) -> None:
        """Move ``status`` and ``object_count`` to where the clock says they are."""
        if self.status in BULK_TERMINAL:
            return
        elapsed = now - self.started
        if elapsed >= self.duration:
            self.status = self.outcome
            self.completed_at = now_iso()
            done = len(self.rows) if self.outcome == "COMPLETED" else len(self.rows) // 2
            self.object_count = done
            if self.outcome == "COMPLETED" and self.rows:
                self.result_token = secrets.token_urlsafe(16)
            elif self.outcome == "FAILED" and done:
                self.partial_token = secrets.token_urlsafe(16)
        elif elapsed >= self.start_seconds:
            self.status = "RUNNING"
            self.object_count = min(len(self.rows),
                                    int((elapsed - self.start_seconds) * self.rows_per_second))

    @property
    def running(self) -> bool:
        return self.status in ("CREATED", "RUNNING")

    def body(self, token: str) -> bytes | None:
        """The JSONL file behind ``token`` (the result, or the partial data of a failure)."""
        if token == self.result_token:
            return b"".join(self.rows)
        if token == self.partial_token:
            return b"".join(self.rows[: self.object_count])
        return None


@dataclass
class IdempotencyRecord:
    mutation: str
    fingerprint: str
    payload: Any


class ShopState:
    """Everything the sandbox knows about one shop."""

    def __init__(self, seed: dict[str, Any]) -> None:
        for required in ("id", "token"):
            if not seed.get(required):
                raise ValueError(f"a shop seed needs {required!r}")
        plan = str(seed.get("plan", "standard")).lower()
        if plan not in RESTORE_RATES:
            raise ValueError(f"plan must be one of {', '.join(RESTORE_RATES)}")
        self.id = str(seed["id"])
        self.token = str(seed["token"])
        self.domain = str(seed.get("domain") or f"{self.id}.myshopify.com")
        self.plan = plan
        self.lock = threading.RLock()
        self.bucket = LeakyBucket(plan)
        self.faults = Faults()
        self.stats = Stats()
        self._next_id = 1000
        self.products: dict[str, dict[str, str]] = {}
        self.variants: dict[str, Variant] = {}
        self.item_to_variant: dict[str, str] = {}
        self.locations: dict[str, str] = {}
        """Location GID -> name."""
        self.levels: dict[tuple[str, str], dict[str, int]] = {}
        """(inventory item GID, location GID) -> {"available": n, "on_hand": n}."""
        self.customers: dict[str, Customer] = {}
        self.metafields: dict[str, dict[tuple[str, str], Metafield]] = {}
        """Owner GID -> {(namespace, key): metafield}."""
        self.themes: dict[str, Theme] = {}
        self.mutations: list[dict[str, Any]] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.bulk_operations: dict[str, BulkOperation] = {}
        """Bulk queries by GID, oldest first."""
        self.seeded = self._seed(seed)

    def new_id(self, kind: str) -> str:
        self._next_id += 1
        return f"{GID_PREFIX}{kind}/{self._next_id}"

    # --- seeding --------------------------------------------------------------------------------

    def _seed(self, seed: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = {"shop": self.id, "locations": {}, "skus": {}, "customers": {},
                                   "themes": {}}
        for index, location in enumerate(seed.get("locations") or [{"name": "Main"}]):
            name = str(location.get("name") or f"Location {index + 1}")
            raw_id = location.get("id")
            gid = self._gid("Location", raw_id) if raw_id else self.new_id("Location")
            self.locations[gid] = name
            created["locations"][name] = gid
        by_name = {name: gid for gid, name in self.locations.items()}
        for product in seed.get("products") or []:
            product_id = self.new_id("Product")
            self.products[product_id] = {"id": product_id, "title": str(product.get("title", ""))}
            for variant in product.get("variants") or []:
                item_id = self.new_id("InventoryItem")
                sku = variant.get("sku")
                v = Variant(self.new_id("ProductVariant"), None if sku is None else str(sku),
                            str(variant.get("title", "Default Title")), product_id, item_id)
                self.variants[v.id] = v
                self.item_to_variant[item_id] = v.id
                stock = variant.get("inventory")
                if stock is None:
                    stock = dict.fromkeys(self.locations, 0)
                for where, qty in stock.items():
                    location_id = by_name.get(where) or self._gid("Location", where)
                    if location_id not in self.locations:
                        raise ValueError(f"variant {sku!r}: unknown location {where!r}")
                    self.levels[(item_id, location_id)] = {"available": int(qty),
                                                           "on_hand": int(qty)}
                if v.sku is not None:
                    created["skus"][v.sku] = {"variant": v.id, "inventoryItem": item_id}
        for customer in seed.get("customers") or []:
            c = Customer(self.new_id("Customer"), customer.get("email"), customer.get("phone"),
                         customer.get("firstName"), customer.get("lastName"))
            self.customers[c.id] = c
            created["customers"][c.email or c.phone or c.id] = c.id
            for mf in customer.get("metafields") or []:
                stamp = now_iso()
                m = Metafield(self.new_id("Metafield"), str(mf["namespace"]), str(mf["key"]),
                              str(mf.get("type", "single_line_text_field")), str(mf["value"]),
                              "CUSTOMER", stamp, stamp)
                self.metafields.setdefault(c.id, {})[(m.namespace, m.key)] = m
        for theme in seed.get("themes") or []:
            stamp = now_iso()
            t = Theme(self.new_id("OnlineStoreTheme"), str(theme.get("name", "Theme")),
                      str(theme.get("role", "UNPUBLISHED")), stamp, stamp)
            for filename, content in (theme.get("files") or {}).items():
                t.files[filename] = ThemeFile(filename, str(content).encode(), True, stamp, stamp)
            self.themes[t.id] = t
            created["themes"][t.name] = t.id
        return created

    @staticmethod
    def _gid(kind: str, raw: Any) -> str:
        text = str(raw)
        return text if text.startswith(GID_PREFIX) else f"{GID_PREFIX}{kind}/{text}"

    # --- read-back ------------------------------------------------------------------------------

    def inventory_snapshot(self) -> list[dict[str, Any]]:
        rows = []
        for (item_id, location_id), quantities in sorted(self.levels.items()):
            variant = self.variants[self.item_to_variant[item_id]]
            rows.append({"inventoryItemId": item_id, "locationId": location_id, "sku": variant.sku,
                         **quantities})
        return rows

    def customers_snapshot(self) -> list[dict[str, Any]]:
        return [
            {"id": c.id, "email": c.email, "phone": c.phone, "firstName": c.first_name,
             "lastName": c.last_name,
             "metafields": [vars(m) for m in self.metafields.get(c.id, {}).values()]}
            for c in self.customers.values()
        ]

    def themes_snapshot(self) -> list[dict[str, Any]]:
        return [
            {"id": t.id, "name": t.name, "role": t.role, "source": t.source,
             "files": {f.filename: (f.content.decode("utf-8") if f.is_text
                                    else base64.b64encode(f.content).decode())
                       for f in t.files.values()}}
            for t in self.themes.values()
        ]

    def bulk_snapshot(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        rows = []
        for op in self.bulk_operations.values():
            op.advance(now)
            rows.append({"id": op.id, "status": op.status, "errorCode": op.error_code,
                         "objectCount": op.object_count, "rows": len(op.rows),
                         "query": op.query, "createdAt": op.created_at,
                         "completedAt": op.completed_at})
        return rows

    def stats_snapshot(self) -> dict[str, Any]:
        stats = dict(vars(self.stats))
        stats["calls_by_field"] = dict(self.stats.calls_by_field)
        stats["points_by_field"] = dict(self.stats.points_by_field)
        if stats["min_available"] == float("inf"):
            stats["min_available"] = None
        stats["bucket"] = self.bucket.status()
        stats["enforce_throttle"] = self.bucket.enforce
        return stats

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.id, "domain": self.domain, "plan": self.plan,
                "locations": [{"id": k, "name": v} for k, v in self.locations.items()],
                "inventory": self.inventory_snapshot(),
                "customers": self.customers_snapshot(),
                "themes": self.themes_snapshot(),
                "stats": self.stats_snapshot(),
                "faults": vars(self.faults),
                "mutations": list(self.mutations),
                "seeded": self.seeded,
            }
