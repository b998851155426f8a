"""One Nhanh.vn business as the sandbox keeps it: credentials, customers, products with their
depot quantities, orders, and what the API served it.

Seeds (``POST /_sandbox/businesses``, or a list in ``--businesses-file``) are JSON objects::

    {"appId": 7, "businessId": 1001, "accessToken": "tok",
     "customers": [{"id": 1, "name": "Lan", "mobile": "0900000001", "totalAmount": 0}, ...],
     "products": [{"id": 10, "code": "SKU-1", "name": "Áo", "depots": [{"id": 1, "remain": 5}]}],
     "webhook": {"url": "http://...", "token": "verify", "version": 3},      (optional)
     "rateLimit": {"requests": 150, "windowSeconds": 30}}                     (optional)

A customer's missing fields take defaults (``type`` 1, ``code`` ``KH<id>``, ``points`` 0,
``totalAmount`` 0, ``updatedAt`` now); a product's missing quantities are 0, except ``available``,
which defaults to ``remain``. Field names are Nhanh's
(https://apidocs.nhanh.vn/v3/customer/list, https://apidocs.nhanh.vn/v3/product/list).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

QUANTITY_FIELDS = ("remain", "shipping", "damaged", "holding", "transfering", "available")
"""A product's quantities per depot, as the v3 product API and v3 webhooks name them."""
WEBHOOK_VERSIONS = (2, 3)


def whole(value: Any, what: str, *, minimum: int | None = None) -> int:
    """``value`` as an int: a JSON integer or a string of digits (Nhanh's own examples send ids
    both ways); else ``ValueError`` naming ``what``."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"{what} must be a whole number")
    if minimum is not None and number < minimum:
        raise ValueError(f"{what} must be at least {minimum}")
    return number


def amount(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"{what} must be a number")
    return value


@dataclass
class Customer:
    id: int
    name: str
    mobile: str
    code: str
    type: int = 1
    points: int = 0
    total_amount: int | float = 0
    updated_at: int = 0
    email: str = ""

    @classmethod
    def from_seed(cls, seed: Any, now: int) -> Customer:
        if not isinstance(seed, dict):
            raise ValueError("a customer must be an object")
        customer_id = whole(seed.get("id"), "customer id", minimum=1)
        return cls(
            id=customer_id,
            name=str(seed.get("name", f"Customer {customer_id}")),
            mobile=str(seed.get("mobile", "")),
            code=str(seed.get("code", f"KH{customer_id}")),
            type=whole(seed.get("type", 1), "customer type"),
            points=whole(seed.get("points", 0), "customer points"),
            total_amount=amount(seed.get("totalAmount", 0), "customer totalAmount"),
            updated_at=whole(seed.get("updatedAt", now), "customer updatedAt"),
            email=str(seed.get("email", "")),
        )

    def as_api(self) -> dict[str, Any]:
        """The customer as ``/v3.0/customer/list`` answers it."""
        return {"id": self.id, "type": self.type, "name": self.name, "mobile": self.mobile,
                "code": self.code, "points": self.points, "totalAmount": self.total_amount,
                "updatedAt": self.updated_at}


@dataclass
class Product:
    id: int
    code: str
    barcode: str
    name: str
    depots: dict[int, dict[str, int]] = field(default_factory=dict)
    """Depot id -> quantity field -> quantity (``QUANTITY_FIELDS``)."""

    @classmethod
    def from_seed(cls, seed: Any) -> Product:
        if not isinstance(seed, dict):
            raise ValueError("a product must be an object")
        product_id = whole(seed.get("id"), "product id", minimum=1)
        product = cls(id=product_id, code=str(seed.get("code", f"P{product_id}")),
                      barcode=str(seed.get("barcode", "")),
                      name=str(seed.get("name", f"Product {product_id}")))
        product.set_depots(seed.get("depots") or [])
        return product

    def set_depots(self, depots: Any) -> None:
        """Set the quantities given per depot (``[{"id", "remain"?, ...}]``); fields not given
        keep their value (0 for a new depot; ``available`` follows ``remain`` when it is new)."""
        if not isinstance(depots, list):
            raise ValueError("depots must be a list of {id, remain, ...}")
        for entry in depots:
            if not isinstance(entry, dict):
                raise ValueError("a depot must be an object")
            depot_id = whole(entry.get("id"), "depot id", minimum=1)
            unknown = set(entry) - {"id", *QUANTITY_FIELDS}
            if unknown:
                raise ValueError(f"unknown depot fields {sorted(unknown)}; "
                                 f"known: {list(QUANTITY_FIELDS)}")
            new = depot_id not in self.depots
            quantities = self.depots.setdefault(depot_id, dict.fromkeys(QUANTITY_FIELDS, 0))
            for name in QUANTITY_FIELDS:
                if name in entry:
                    quantities[name] = whole(entry[name], f"depot {depot_id} {name}")
            if new and "available" not in entry:
                quantities["available"] = quantities["remain"]

    def totals(self) -> dict[str, int]:
        return {name: sum(q[name] for q in self.depots.values()) for name in QUANTITY_FIELDS}

    def as_api(self) -> dict[str, Any]:
        """The product as ``/v3.0/product/list`` answers it (inventory summed over depots)."""
        depots = [{"id": depot_id, **quantities}
                  for depot_id, quantities in sorted(self.depots.items())]
        return {"id": self.id, "code": self.code, "barcode": self.barcode, "name": self.name,
                "inventory": {**self.totals(), "depots": depots}}


@dataclass
class Order:
    id: int
    customer_id: int
    amount: int | float
    status: str
    depot_id: int | None
    products: list[dict[str, Any]]
    created_at: int
    deleted: bool = False

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "customerId": self.customer_id, "amount": self.amount,
                "status": self.status, "depotId": self.depot_id, "products": self.products,
                "createdAt": self.created_at, "deleted": self.deleted}


@dataclass(frozen=True)
class WebhookTarget:
    """Where a business's webhooks go: the app's URL, its verify token, Nhanh's version."""

    url: str
    token: str
    version: int

    @classmethod
    def from_seed(cls, seed: Any, default: WebhookTarget | None) -> WebhookTarget | None:
        if seed is None:
            return default
        if not isinstance(seed, dict):
            raise ValueError("webhook must be an object {url, token, version}")
        url = seed.get("url", default.url if default else "")
        token = seed.get("token", default.token if default else "")
        version = whole(seed.get("version", default.version if default else 3),
                        "webhook version")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must be an http(s) URL")
        if version not in WEBHOOK_VERSIONS:
            raise ValueError("webhook version must be 2 or 3")
        return cls(url=url, token=str(token), version=version)


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``window_seconds`` per app + business + API path (Nhanh: 150 per
    30 s, https://apidocs.nhanh.vn/v3)."""

    requests: int
    window_seconds: float

    @classmethod
    def from_seed(cls, seed: Any, default: RateLimit) -> RateLimit:
        if seed is None:
            return default
        if not isinstance(seed, dict):
            raise ValueError("rateLimit must be an object {requests, windowSeconds}")
        requests = whole(seed.get("requests", default.requests), "rateLimit requests",
                         minimum=1)
        window = seed.get("windowSeconds", default.window_seconds)
        if isinstance(window, bool) or not isinstance(window, int | float) or not window > 0:
            raise ValueError("rateLimit windowSeconds must be a positive number")
        return cls(requests=requests, window_seconds=float(window))


@dataclass(frozen=True)
class Refusal:
    """Why the limit refused a request: how long the key stays locked, and until when."""

    locked_seconds: int
    unlocked_at: int


@dataclass
class Faults:
    """Switches a test sets with ``POST /_sandbox/businesses/{id}/faults``."""

    page_cap: int = 0
    """When > 0, a page holds at most this many items whatever its ``size`` (it still has a
    ``next`` when more follow): Nhanh documents that a page may be short."""
    fail_next: int = 0
    """The next n API requests answer HTTP ``fail_status`` (after they were counted)."""
    fail_status: int = 502
    latency_ms: int = 0
    """Every API request waits this long before it answers."""


class Business:
    """One business's data and counters; every method takes ``self.lock`` itself where needed."""

    def __init__(self, seed: Any, *, default_webhook: WebhookTarget | None,
                 default_limit: RateLimit) -> None:
        if not isinstance(seed, dict):
            raise ValueError("a business seed must be an object")
        self.app_id = whole(seed.get("appId"), "appId", minimum=1)
        self.business_id = whole(seed.get("businessId"), "businessId", minimum=1)
        token = seed.get("accessToken")
        if not isinstance(token, str) or not token:
            raise ValueError("accessToken must be a non-empty string")
        self.access_token = token
        now = int(time.time())
        customers = [Customer.from_seed(c, now) for c in seed.get("customers") or []]
        products = [Product.from_seed(p) for p in seed.get("products") or []]
        self.customers = {c.id: c for c in customers}
        self.products = {p.id: p for p in products}
        if len(self.customers) != len(customers) or len(self.products) != len(products):
            raise ValueError("customer and product ids must be unique")
        self.webhook = WebhookTarget.from_seed(seed.get("webhook"), default_webhook)
        self.limit = RateLimit.from_seed(seed.get("rateLimit"), default_limit)
        self.orders: dict[int, Order] = {}
        self.next_order_id = 1
        self.faults = Faults()
        self.lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self.admitted: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    # --- the limit ----------------------------------------------------------------------------

    def admit(self, path: str, now: float) -> Refusal | None:
        """Count a request to ``path`` at monotonic time ``now``, or refuse it (not counted).

        Exactly ``limit.requests`` per any ``limit.window_seconds``: requests older than the
        window are forgotten, and a request is refused while the window still holds the limit.
        """
        with self.lock:
            window = self._windows.setdefault(path, deque())
            while window and window[0] <= now - self.limit.window_seconds:
                window.popleft()
            if len(window) >= self.limit.requests:
                locked = window[0] + self.limit.window_seconds - now
                self.refused[path] += 1
                return Refusal(locked_seconds=max(1, math.ceil(locked)),
                               unlocked_at=math.ceil(time.time() + locked))
            window.append(now)
            self.admitted[path] += 1
            return None

    def requests_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"admitted": dict(self.admitted), "refused": dict(self.refused),
                    "errors": dict(self.errors),
                    "limit": {"requests": self.limit.requests,
                              "windowSeconds": self.limit.window_seconds}}

    # --- control ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "appId": self.app_id, "businessId": self.business_id,
                "customers": [c.as_api() for _, c in sorted(self.customers.items())],
                "products": [p.as_api() for _, p in sorted(self.products.items())],
                "orders": [o.snapshot() for _, o in sorted(self.orders.items())],
                "webhook": None if self.webhook is None else {
                    "url": self.webhook.url, "version": self.webhook.version},
            }

    def add_order(self, body: dict[str, Any]) -> tuple[Order, Customer]:
        """A new order of ``body["customerId"]``: its ``amount`` is added to the customer's
        ``totalAmount`` and ``updatedAt`` moves to now."""
        customer_id = whole(body.get("customerId"), "customerId")
        value = amount(body.get("amount"), "amount")
        products = body.get("products") or []
        if not isinstance(products, list) or not all(isinstance(p, dict) for p in products):
            raise ValueError("products must be a list of objects")
        with self.lock:
            customer = self.customers.get(customer_id)
            if customer is None:
                raise LookupError(f"no customer {customer_id}")
            order_id = whole(body.get("orderId", self.next_order_id), "orderId", minimum=1)
            if order_id in self.orders:
                raise ValueError(f"order {order_id} exists")
            self.next_order_id = max(self.next_order_id, order_id + 1)
            depot = body.get("depotId")
            order = Order(id=order_id, customer_id=customer_id, amount=value,
                          status=str(body.get("status", "New")),
                          depot_id=None if depot is None else whole(depot, "depotId"),
                          products=products, created_at=int(time.time()))
            self.orders[order_id] = order
            customer.total_amount = _money(customer.total_amount + value)
            customer.updated_at = max(int(time.time()), customer.updated_at + 1)
            return order, customer

    def delete_order(self, order_id: int) -> Order:
        """Delete an order: its amount is taken off its customer's ``totalAmount``."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order.deleted:
                raise LookupError(f"no order {order_id}")
            order.deleted = True
            customer = self.customers.get(order.customer_id)
            if customer is not None:
                customer.total_amount = _money(customer.total_amount - order.amount)
                customer.updated_at = max(int(time.time()), customer.updated_at + 1)
            return order

    def update_order(self, order_id: int, status: str) -> tuple[Order, Customer | None]:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order.deleted:
                raise LookupError(f"no order {order_id}")
            order.status = status
            return order, self.customers.get(order.customer_id)

    def set_inventory(self, body: dict[str, Any]) -> list[Product]:
        """Set depot quantities of products (``{"products": [{"id", "depots": [...]}]}``)."""
        entries = body.get("products")
        if not isinstance(entries, list) or not entries:
            raise ValueError('body must be {"products": [{"id", "depots": [{"id", ...}]}]}')
        with self.lock:
            changed: list[Product] = []
            for entry in entries:
                if not isinstance(entry, dict):
                    raise ValueError("a product must be an object")
                product = self.products.get(whole(entry.get("id"), "product id"))
                if product is None:
                    raise LookupError(f"no product {entry.get('id')!r}")
                product.set_depots(entry.get("depots") or [])
                changed.append(product)
            return changed


def _money(value: int | float) -> int | float:
    """Sums of whole amounts stay whole; others are rounded to cents so that adding and taking
    off the same order gives back the same JSON number."""
    if isinstance(value, int):
        return value
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded
