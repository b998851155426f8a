"""Webhooks as Nhanh.vn sends them, in its version 2 and version 3 shapes, and their delivery
with Nhanh's re-sends.

Version 3 (https://apidocs.nhanh.vn/v3/webhooks/webhooks, https://apidocs.nhanh.vn/v3/webhooks/inventory,
https://apidocs.nhanh.vn/v3/webhooks/order): the app's verify token is the ``Authorization``
header; the body is ``{"event", "businessId", "data"}``.

* ``inventoryChange``: ``data`` is an array of products ``{"id", "code", "remain", "shipping",
  "damaged", "holding", "transfering", "available", "depots": [{"id", <same quantities>}]}``.
* ``orderAdd`` / ``orderUpdate``: ``data`` is the order as the order API gives it,
  ``{"info": {"id", "type", "status", "createdAt"}, "customer": {"id", "name", "mobile"},
  "depot": {"id"}, "products": [...]}``.
* ``orderDelete``: ``data`` is the array of deleted order ids. ``webhooksEnabled``: ``{}``.

Version 2 (https://apidocs.nhanh.vn/v2/webhooks/inventory, https://apidocs.nhanh.vn/webhooks/order):
the token is in the body as ``webhooksVerifyToken``.

* ``inventoryChange``: ``data`` is an object keyed by product id, each ``{"id", "code",
  "remain", "shipping", "holding", "damage", "available", "depots": {"<depotId>": {"remain",
  "shipping", "holding", "damage", "available"}}}``.
* ``orderAdd`` / ``orderUpdate``: ``{"orderId", "customerId", "customerName", "customerMobile",
  "customerEmail", "status", "depotId", "calcTotalMoney", "products"}``.
* ``orderDelete``: the array of deleted order ids. ``webhooksEnabled``: ``{}``.

Delivery (https://apidocs.nhanh.vn/webhooks/webhooks): a POST with ``Content-Type:
application/json``; anything but HTTP 200 (or no answer) is a failure, re-sent at most 3 times,
5, 10 and 30 minutes apart, times the sandbox's ``--retry-scale``. Every attempt is recorded
with the status it got.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nhanh_sandbox.state import Customer, Order, Product, WebhookTarget

log = logging.getLogger(__name__)

RESEND_DELAYS_SECONDS = (300.0, 600.0, 1800.0)
"""Nhanh's re-sends of a failed delivery: 3 at most, 5, 10 and 30 minutes apart."""
V2_QUANTITIES = {"remain": "remain", "shipping": "shipping", "holding": "holding",
                 "damage": "damaged", "available": "available"}
"""Version 2's quantity names -> the sandbox's (v3) names."""


# --- bodies -----------------------------------------------------------------------------------


def inventory_data(products: list[Product], version: int) -> Any:
    if version == 3:
        return [{"id": p.id, "code": p.code, **p.totals(),
                 "depots": [{"id": depot_id, **q} for depot_id, q in sorted(p.depots.items())]}
                for p in products]
    data: dict[str, Any] = {}
    for p in products:
        totals = p.totals()
        data[str(p.id)] = {
            "id": p.id, "code": p.code,
            **{v2: totals[v3] for v2, v3 in V2_QUANTITIES.items()},
            "depots": {str(depot_id): {v2: q[v3] for v2, v3 in V2_QUANTITIES.items()}
                       for depot_id, q in sorted(p.depots.items())},
        }
    return data


def order_data(order: Order, customer: Customer | None, version: int) -> dict[str, Any]:
    name = customer.name if customer else ""
    mobile = customer.mobile if customer else ""
    if version == 3:
        return {"info": {"id": order.id, "type": 1, "status": order.status,
                         "createdAt": order.created_at},
                "customer": {"id": order.customer_id, "name": name, "mobile": mobile},
                "depot": {"id": order.depot_id},
                "products": order.products}
    return {"orderId": order.id, "customerId": order.customer_id, "customerName": name,
            "customerMobile": mobile, "customerEmail": customer.email if customer else "",
            "status": order.status, "depotId": order.depot_id,
            "calcTotalMoney": order.amount, "products": order.products}


def envelope(target: WebhookTarget, event: str, business_id: int,
             data: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The headers and body of one delivery to ``target`` in its version's shape."""
    headers = {"Content-Type": "application/json"}
    body: dict[str, Any] = {"event": event, "businessId": business_id}
    if target.version == 3:
        headers["Authorization"] = target.token
    else:
        body["webhooksVerifyToken"] = target.token
    body["data"] = data
    return headers, body


# --- delivery ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    id: int
    business_id: int
    event: str
    version: int
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    next_attempt_at: float | None = None
    """Unix time of the next (re-)send; None once delivered or given up."""

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "businessId": self.business_id, "event": self.event,
                "version": self.version, "url": self.url,
                "headers": {k: v for k, v in self.headers.items() if k != "Authorization"},
                "body": self.body, "attempts": list(self.attempts),
                "delivered": self.delivered, "nextAttemptAt": self.next_attempt_at,
                "gaveUp": not self.delivered and self.next_attempt_at is None
                and bool(self.attempts)}


class WebhookSender:
    """Sends deliveries from its own threads, re-sends failed ones on Nhanh's schedule scaled
    by ``retry_scale``, and records every attempt. ``timeout_seconds`` bounds one attempt."""

    def __init__(self, *, retry_scale: float = 1.0, timeout_seconds: float = 5.0,
                 senders: int = 4) -> None:
        self._scale = retry_scale
        self._timeout = timeout_seconds
        self._lock = threading.Condition()
        self._deliveries: dict[int, Delivery] = {}
        self._due: list[tuple[float, int]] = []  # (monotonic due time, delivery id)
        self._ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="webhook")
        self._closed = False
        self._scheduler = threading.Thread(target=self._run, name="webhook-scheduler",
                                           daemon=True)
        self._scheduler.start()

    def send(self, target: WebhookTarget, business_id: int, event: str, data: Any) -> int:
        """Queue one delivery now; returns its id."""
        headers, body = envelope(target, event, business_id, data)
        with self._lock:
            delivery = Delivery(id=next(self._ids), business_id=business_id, event=event,
                                version=target.version, url=target.url, headers=headers,
                                body=body, next_attempt_at=time.time())
            self._deliveries[delivery.id] = delivery
            heapq.heappush(self._due, (time.monotonic(), delivery.id))
            self._lock.notify()
        return delivery.id

    def deliveries(self, business_id: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [d.snapshot() for d in self._deliveries.values()
                    if business_id is None or d.business_id == business_id]

    def reset(self) -> None:
        """Forget every delivery; attempts under way finish unrecorded."""
        with self._lock:
            self._deliveries.clear()
            self._due.clear()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and (not self._due
                                            or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._lock.wait(wait)
                if self._closed:
                    return
                _, delivery_id = heapq.heappop(self._due)
                delivery = self._deliveries.get(delivery_id)
                if delivery is None:
                    continue
            self._pool.submit(self._attempt, delivery)

    def _attempt(self, delivery: Delivery) -> None:
        started = time.time()
        status, error = self._post(delivery)
        with self._lock:
            if self._deliveries.get(delivery.id) is not delivery:
                return  # reset meanwhile
            delivery.attempts.append({"at": started, "status": status, "error": error})
            delivery.delivered = status == 200
            resends = len(delivery.attempts) - 1
            if delivery.delivered or resends >= len(RESEND_DELAYS_SECONDS):
                delivery.next_attempt_at = None
                return
            delay = RESEND_DELAYS_SECONDS[resends] * self._scale
            delivery.next_attempt_at = time.time() + delay
            heapq.heappush(self._due, (time.monotonic() + delay, delivery.id))
            self._lock.notify()

    def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        payload = json.dumps(delivery.body, ensure_ascii=False).encode()
        request = urllib.request.Request(delivery.url, data=payload, method="POST",  # noqa: S310
                                         headers=delivery.headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                answer.read()
                return int(answer.status), None
        except urllib.error.HTTPError as exc:
            exc.read()
            return int(exc.code), None
        except (OSError, ValueError) as exc:
            log.info("webhook %s to %s failed: %s", delivery.id, delivery.url, exc)
            return None, type(exc).__name__
