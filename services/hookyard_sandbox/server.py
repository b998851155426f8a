"""The sandbox's HTTP server: Shopify's GraphQL endpoint plus control endpoints.

``POST /admin/api/{version}/graphql.json``
    The shop is the one whose token is in ``X-Shopify-Access-Token``; an unknown or missing token
    answers 401 ``{"errors": "[API] Invalid API key or access token ..."}`` like Shopify.

Control endpoints (JSON in, JSON out):

==========================================  ====================================================
``GET  /_sandbox/healthz``                  ``{"ok": true}``
``GET  /_sandbox/shops``                    shop ids
``POST /_sandbox/shops``                    create (or replace) a shop from a seed (see
                                            ``state``); answers the ids it assigned
``POST /_sandbox/reset``                    forget every shop
``GET  /_sandbox/shops/{id}``               everything: inventory, customers, themes, stats,
                                            faults, mutations
``DELETE /_sandbox/shops/{id}``             forget one shop
``GET  /_sandbox/shops/{id}/stats``         calls, throttled, http_429, http_5xx,
                                            outage_calls, points_spent, budget_exceeded, bucket, ...
``POST /_sandbox/shops/{id}/stats/reset``   zero the counters
``GET  /_sandbox/shops/{id}/inventory``     levels per (inventory item, location)
``GET  /_sandbox/shops/{id}/customers``     customers with their metafields
``GET  /_sandbox/shops/{id}/themes``        themes with their files
``GET  /_sandbox/shops/{id}/mutations``     every mutation in order, with idempotency keys
``POST /_sandbox/shops/{id}/faults``        any of ``latency_ms``, ``outage``,
                                            ``fail_next``, ``fail_status``,
                                            ``throttle_next``, ``retry_after_seconds``,
                                            ``enforce_throttle``
``POST /_sandbox/shops/{id}/bucket``        ``{"available": n}``: set the bucket level
``GET  /_sandbox/shops/{id}/bulk-operations`` every bulk query: status, rows, timing
``GET  /_sandbox/bulk/{token}.jsonl``       the JSONL result of a bulk query (the ``url`` it
                                            answered; no token needed, like Shopify's signed
                                            storage URLs, and outside the rate limit)
==========================================  ====================================================

Fault switches for bulk queries (same endpoint): ``bulk_rows_per_second`` (default 5000),
``bulk_start_seconds`` (1), ``bulk_max_running`` (0 = Shopify's limit for the API version),
``bulk_fail_next`` + ``bulk_error_code``, ``bulk_cancel_next``, ``bulk_download_fail_next``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hookyard_sandbox.graphql_api import Answer, answer_graphql
from hookyard_sandbox.state import Faults, ShopState, Stats

log = logging.getLogger(__name__)

GRAPHQL_PATH = re.compile(r"^/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json$")
BULK_RESULT_PATH = re.compile(r"^/_sandbox/bulk/([A-Za-z0-9_-]+)\.jsonl$")
BULK_ERROR_CODES = frozenset({"ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT"})
SHOP_PATH = re.compile(r"^/_sandbox/shops/([^/]+)(?:/(.+))?$")
UNAUTHORIZED_MESSAGE = (  # Shopify's wording, not a secret
    "[API] Invalid API key or access token (unrecognized login or wrong password)"
)
MAX_BODY_BYTES = 16 * 1024 * 1024


class Sandbox:
    """Registry of shops (by id and by token); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shops: dict[str, ShopState] = {}

    def add_shop(self, seed: dict[str, Any]) -> ShopState:
        shop = ShopState(seed)
        with self._lock:
            for other in list(self._shops.values()):
                if other.token == shop.token and other.id != shop.id:
                    raise ValueError(f"token already used by shop {other.id!r}")
            self._shops[shop.id] = shop
        return shop

    def reset(self) -> None:
        with self._lock:
            self._shops.clear()

    def remove(self, shop_id: str) -> bool:
        with self._lock:
            return self._shops.pop(shop_id, None) is not None

    def shop(self, shop_id: str) -> ShopState | None:
        with self._lock:
            return self._shops.get(shop_id)

    def shop_by_token(self, token: str | None) -> ShopState | None:
        if not token:
            return None
        with self._lock:
            for shop in self._shops.values():
                if shop.token == token:
                    return shop
        return None

    def shop_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._shops)

    # --- routing --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one HTTP request (never raises)."""
        try:
            return self._route(method, path.split("?", 1)[0], headers, body)
        except ValueError as exc:
            return Answer(400, {"error": "bad_request", "message": str(exc)})
        except Exception as exc:
            log.exception("sandbox request failed")
            return Answer(500, {"error": "internal_error", "message": type(exc).__name__})

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        match = GRAPHQL_PATH.match(path)
        if match:
            if method != "POST":
                return Answer(405, {"errors": "Method not allowed"}, {"Allow": "POST"})
            shop = self.shop_by_token(headers.get("x-shopify-access-token"))
            if shop is None:
                return Answer(401, {"errors": UNAUTHORIZED_MESSAGE})
            base_url = f"http://{headers.get('host') or '127.0.0.1'}"
            return answer_graphql(shop, match.group(1), body, base_url=base_url)
        match = BULK_RESULT_PATH.match(path)
        if match and method == "GET":
            return self._bulk_result(match.group(1))
        if path == "/_sandbox/healthz":
            return Answer(200, {"ok": True})
        if path == "/_sandbox/shops":
            if method == "GET":
                return Answer(200, {"shops": self.shop_ids()})
            if method == "POST":
                shop = self.add_shop(_json(body))
                return Answer(201, shop.seeded)
        if path == "/_sandbox/reset" and method == "POST":
            self.reset()
            return Answer(200, {"reset": True})
        match = SHOP_PATH.match(path)
        if match:
            return self._shop_route(method, match.group(1), match.group(2) or "", body)
        return Answer(404, {"errors": "Not Found"})

    def _bulk_result(self, token: str) -> Answer:
        with self._lock:
            shops = list(self._shops.values())
        for shop in shops:
            with shop.lock:
                for op in shop.bulk_operations.values():
                    content = op.body(token)
                    if content is None:
                        continue
                    if shop.faults.bulk_download_fail_next > 0:
                        shop.faults.bulk_download_fail_next -= 1
                        return Answer(503, {"errors": "Service Unavailable (sandbox fault "
                                                      "switch)"})
                    shop.stats.bulk_downloads += 1
                    return Answer(200, content, {"Content-Type": "application/jsonl"})
        return Answer(404, {"errors": "Not Found"})

    def _shop_route(self, method: str, shop_id: str, rest: str, body: bytes) -> Answer:
        shop = self.shop(shop_id)
        if shop is None:
            return Answer(404, {"error": "unknown_shop", "message": f"no shop {shop_id!r}"})
        reads: dict[str, Callable[[], Any]] = {
            "": shop.snapshot,
            "stats": shop.stats_snapshot,
            "inventory": shop.inventory_snapshot,
            "customers": shop.customers_snapshot,
            "themes": shop.themes_snapshot,
            "mutations": lambda: list(shop.mutations),
            "bulk-operations": shop.bulk_snapshot,
        }
        if method == "GET" and rest in reads:
            with shop.lock:
                return Answer(200, {"shop": shop.id, "result": reads[rest]()})
        if method == "DELETE" and rest == "":
            self.remove(shop_id)
            return Answer(200, {"deleted": shop_id})
        if method == "POST" and rest == "faults":
            return Answer(200, {"faults": _set_faults(shop, _json(body))})
        if method == "POST" and rest == "bucket":
            shop.bucket.set_available(float(_json(body)["available"]))
            return Answer(200, {"bucket": shop.bucket.status()})
        if method == "POST" and rest == "stats/reset":
            with shop.lock:
                shop.stats = Stats()
            return Answer(200, {"stats": shop.stats_snapshot()})
        return Answer(404, {"errors": "Not Found"})


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise ValueError("body must be JSON") from None
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def _set_faults(shop: ShopState, changes: dict[str, Any]) -> dict[str, Any]:
    known = set(vars(Faults()))
    with shop.lock:
        for name, value in changes.items():
            if name == "enforce_throttle":
                shop.bucket.enforce = bool(value)
            elif name == "outage" and not isinstance(value, bool):
                raise ValueError("outage must be true or false")
            elif name == "bulk_rows_per_second" and not float(value) > 0:
                raise ValueError("bulk_rows_per_second must be a positive number")
            elif name == "bulk_error_code" and value not in BULK_ERROR_CODES:
                raise ValueError(f"bulk_error_code must be one of {sorted(BULK_ERROR_CODES)}")
            elif name in known:
                setattr(shop.faults, name, type(getattr(shop.faults, name))(value))
            else:
                raise ValueError(f"unknown fault {name!r}; one of {sorted(known)}, "
                                 "enforce_throttle")
        return {**vars(shop.faults), "enforce_throttle": shop.bucket.enforce}


class SandboxHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive) handler delegating to ``server.sandbox``."""

    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            answer = Answer(413, {"errors": "Request entity too large"})
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = self.server.sandbox.handle(self.command, self.path, headers, body)
        extra = dict(answer.headers)
        if isinstance(answer.body, bytes):  # a bulk result file, sent as is
            payload = answer.body
            content_type = extra.pop("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps(answer.body).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(answer.status, HTTPStatus(answer.status).phrase)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class SandboxServer(ThreadingHTTPServer):
    """A threaded HTTP server owning one ``Sandbox``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox | None = None) -> None:
        super().__init__(address, SandboxHandler)
        self.sandbox = sandbox or Sandbox()
