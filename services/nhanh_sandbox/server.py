"""The sandbox's HTTP server: Nhanh's Open API v3 list endpoints (``nhanh_sandbox.api``) plus
control endpoints that seed businesses, make things happen in them (orders, stock moves) and
show what the API and the webhooks did.

Control endpoints (JSON in, JSON out; a bad body answers 400 ``{"error", "message"}``):

===================================================  ==========================================
``GET  /_sandbox/healthz``                           ``{"ok": true}``
``POST /_sandbox/reset``                             forget every business and delivery
``GET  /_sandbox/businesses``                        business ids
``POST /_sandbox/businesses``                        create or replace a business from a seed
                                                     (``nhanh_sandbox.state``)
``GET  /_sandbox/businesses/{bid}``                  customers, products, orders, webhook target
``GET  /_sandbox/businesses/{bid}/requests``         API requests per path: ``admitted``,
                                                     ``refused`` (ERR_429), ``errors`` by code,
                                                     and the ``limit``
``POST /_sandbox/businesses/{bid}/faults``           any of ``page_cap``, ``fail_next``,
                                                     ``fail_status``, ``latency_ms``
``POST /_sandbox/businesses/{bid}/orders``           ``{customerId, amount, orderId?, status?,
                                                     depotId?, products?}``: adds ``amount`` to
                                                     the customer's ``totalAmount``, sends
                                                     ``orderAdd``
``POST /_sandbox/businesses/{bid}/orders/{oid}/status``  ``{status}``: sends ``orderUpdate``
``POST /_sandbox/businesses/{bid}/orders/{oid}/delete``  takes the amount off, sends
                                                     ``orderDelete``
``POST /_sandbox/businesses/{bid}/inventory``        ``{products: [{id, depots: [{id, remain?,
                                                     ...}]}]}``: sets quantities, sends
                                                     ``inventoryChange`` (up to 100 products a
                                                     delivery)
``POST /_sandbox/businesses/{bid}/webhooks/enable``  sends ``webhooksEnabled``
``GET  /_sandbox/webhooks[?businessId=]``            every delivery: body, attempts with their
                                                     HTTP status, delivered, gaveUp
===================================================  ==========================================

Actions that send a webhook answer ``{"deliveries": [ids], ...}`` at once; the sending happens
in the background (``nhanh_sandbox.webhooks``). A business without a webhook target (none in
its seed and no ``--webhook-url``) sends nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from nhanh_sandbox import api
from nhanh_sandbox.state import Business, Faults, RateLimit, WebhookTarget, whole
from nhanh_sandbox.webhooks import WebhookSender, inventory_data, order_data

log = logging.getLogger(__name__)

BUSINESS_PATH = re.compile(r"^/_sandbox/businesses/(\d+)(?:/(.+))?$")
ORDER_ACTION = re.compile(r"^orders/(\d+)/(delete|status)$")
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_WEBHOOK_PRODUCTS = 100
"""Products per ``inventoryChange`` delivery (https://apidocs.nhanh.vn/v2/webhooks/inventory)."""
DEFAULT_LIMIT = RateLimit(requests=150, window_seconds=30.0)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Sandbox:
    """The businesses (by business id), the API, the control endpoints; thread-safe."""

    def __init__(self, *, limit: RateLimit = DEFAULT_LIMIT,
                 webhook: WebhookTarget | None = None,
                 sender: WebhookSender | None = None) -> None:
        self.limit = limit
        self.webhook = webhook
        self.sender = sender or WebhookSender()
        self._lock = threading.Lock()
        self._businesses: dict[int, Business] = {}

    def add_business(self, seed: Any) -> Business:
        business = Business(seed, default_webhook=self.webhook, default_limit=self.limit)
        with self._lock:
            self._businesses[business.business_id] = business
        return business

    def business(self, business_id: int | None) -> Business | None:
        with self._lock:
            return None if business_id is None else self._businesses.get(business_id)

    def reset(self) -> None:
        with self._lock:
            self._businesses.clear()
        self.sender.reset()

    # --- routing --------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one HTTP request (never raises)."""
        path, _, query = target.partition("?")
        try:
            if path.startswith("/v3.0/"):
                return self._api(method, path, query, headers, body)
            return self._control(method, path, query, body)
        except LookupError as exc:
            return Answer(404, {"error": "not_found", "message": str(exc).strip("'\"")})
        except ValueError as exc:
            return Answer(400, {"error": "bad_request", "message": str(exc)})
        except Exception as exc:
            log.exception("sandbox request failed")
            return Answer(500, {"error": "internal_error", "message": type(exc).__name__})

    # --- the API --------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str, headers: dict[str, str],
             body: bytes) -> Answer:
        if path not in api.API_PATHS:
            return Answer(404, {"error": "not_found", "message": f"the sandbox has no {path}"})
        if method != "POST":
            return Answer(405, {"error": "method_not_allowed", "message": "POST only"},
                          {"Allow": "POST"})
        ids = api.query_ints(query)
        app_id, business = ids["appId"], self.business(ids["businessId"])
        with self._lock:
            apps = {b.app_id for b in self._businesses.values()}
        if app_id is None or app_id not in apps:
            return Answer(200, api.failure(api.ERR_INVALID_APP_ID, "appId is not a known app"))
        if business is None or business.app_id != app_id:
            return Answer(200, api.failure(api.ERR_INVALID_BUSINESS_ID,
                                           "businessId is not a business of this app"))
        if headers.get("authorization") != business.access_token:
            return self._error(business, api.ERR_INVALID_ACCESS_TOKEN,
                               "the access token is missing, wrong or expired")
        refusal = business.admit(path, time.monotonic())
        if refusal is not None:
            return Answer(200, api.failure(
                api.ERR_429,
                f"too many requests: at most {business.limit.requests} per "
                f"{business.limit.window_seconds:g} seconds per app, business and API",
                {"lockedSeconds": refusal.locked_seconds, "unlockedAt": refusal.unlocked_at}))
        with business.lock:
            latency = business.faults.latency_ms
            failing = business.faults.fail_next > 0
            if failing:
                business.faults.fail_next -= 1
            fail_status = business.faults.fail_status
        if latency:
            time.sleep(latency / 1000)
        if failing:
            return Answer(fail_status, {"error": "sandbox_fault",
                                        "message": "a failure the test asked for"})
        try:
            return Answer(200, api.list_page(business, path, body))
        except api.InvalidData as exc:
            return self._error(business, api.ERR_INVALID_DATA, str(exc))

    @staticmethod
    def _error(business: Business, code: str, message: str) -> Answer:
        with business.lock:
            business.errors[code] += 1
        return Answer(200, api.failure(code, message))

    # --- control --------------------------------------------------------------------------------

    def _control(self, method: str, path: str, query: str, body: bytes) -> Answer:
        if path == "/_sandbox/healthz":
            return Answer(200, {"ok": True})
        if path == "/_sandbox/reset" and method == "POST":
            self.reset()
            return Answer(200, {"reset": True})
        if path == "/_sandbox/businesses":
            if method == "POST":
                business = self.add_business(_json(body))
                return Answer(201, {"businessId": business.business_id,
                                    "customers": len(business.customers),
                                    "products": len(business.products)})
            with self._lock:
                return Answer(200, {"businesses": sorted(self._businesses)})
        if path == "/_sandbox/webhooks" and method == "GET":
            raw = (parse_qs(query).get("businessId") or [""])[0]
            business_id = whole(raw, "businessId") if raw else None
            return Answer(200, {"deliveries": self.sender.deliveries(business_id)})
        match = BUSINESS_PATH.match(path)
        if match:
            found = self.business(int(match.group(1)))
            if found is None:
                raise LookupError(f"no business {match.group(1)}")
            return self._business_route(method, found, match.group(2) or "", body)
        return Answer(404, {"error": "not_found", "message": f"no route {path}"})

    def _business_route(self, method: str, business: Business, rest: str,
                        body: bytes) -> Answer:
        if method == "GET" and rest == "":
            return Answer(200, business.snapshot())
        if method == "GET" and rest == "requests":
            return Answer(200, business.requests_snapshot())
        if method != "POST":
            return Answer(404, {"error": "not_found", "message": f"no route {method} {rest}"})
        if rest == "faults":
            return Answer(200, {"faults": _set_faults(business, _json(body))})
        if rest == "orders":
            order, customer = business.add_order(_json(body))
            sent = self._send(business, "orderAdd",
                              lambda v: order_data(order, customer, v))
            return Answer(201, {"order": order.snapshot(), "customer": customer.as_api(),
                                "deliveries": sent})
        if rest == "inventory":
            products = business.set_inventory(_json(body))
            deliveries: list[int] = []
            for start in range(0, len(products), MAX_WEBHOOK_PRODUCTS):
                chunk = products[start:start + MAX_WEBHOOK_PRODUCTS]
                deliveries += self._send(business, "inventoryChange",
                                         functools.partial(inventory_data, chunk))
            return Answer(200, {"products": [p.as_api() for p in products],
                                "deliveries": deliveries})
        if rest == "webhooks/enable":
            return Answer(200, {"deliveries": self._send(business, "webhooksEnabled",
                                                         lambda v: {})})
        action = ORDER_ACTION.match(rest)
        if action and action.group(2) == "delete":
            order = business.delete_order(int(action.group(1)))
            sent = self._send(business, "orderDelete", lambda v: [order.id])
            return Answer(200, {"order": order.snapshot(), "deliveries": sent})
        if action:
            status = _json(body).get("status")
            if not isinstance(status, str) or not status:
                raise ValueError('body must be {"status": "<order status>"}')
            updated, owner = business.update_order(int(action.group(1)), status)
            sent = self._send(business, "orderUpdate",
                              lambda v: order_data(updated, owner, v))
            return Answer(200, {"order": updated.snapshot(), "deliveries": sent})
        return Answer(404, {"error": "not_found", "message": f"no route POST {rest}"})

    def _send(self, business: Business, event: str, data: Callable[[int], Any]) -> list[int]:
        """Send ``event`` with ``data(version)`` to the business's webhook target, if any."""
        target = business.webhook
        if target is None:
            return []
        with business.lock:
            payload = data(target.version)
        return [self.sender.send(target, business.business_id, event, payload)]


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise ValueError("body must be JSON") from None
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def _set_faults(business: Business, changes: dict[str, Any]) -> dict[str, Any]:
    known = vars(Faults())
    with business.lock:
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; one of {sorted(known)}")
            number = whole(value, name, minimum=0)
            if name == "fail_status" and not 400 <= number <= 599:
                raise ValueError("fail_status must be a 4xx or 5xx status")
            setattr(business.faults, name, number)
        return dict(vars(business.faults))


class SandboxHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive) handler delegating to ``server.sandbox``."""

    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            answer = Answer(413, {"error": "payload_too_large", "message": "body too large"})
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = self.server.sandbox.handle(self.command, self.path, headers, body)
        payload = json.dumps(answer.body, ensure_ascii=False).encode()
        self.send_response(answer.status, HTTPStatus(answer.status).phrase)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
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
