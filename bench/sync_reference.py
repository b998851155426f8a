"""The seed design, as the yardstick of ``bench/sync.py``: one Shopify call per item, paced by a
fixed limiter of 10 jobs/s shared by every worker thread.

Implemented as a plain thread pool (no broker, no job records, no ingest), so the reference is
*cheaper* per item than any real job system: it measures only what its Shopify pattern allows.
Each item is one ``inventorySetQuantities`` with 1 quantity or one ``metafieldsSet`` with 1
metafield, sent through the same ``ShopifyClient`` (and its shared ``RateBudget``) Hookyard
uses. The mapping (SKU -> inventory item, Nhanh customer -> Shopify customer) is handed to it for
free: its lookups are not counted, which again favours the reference.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookyard.shopify.operations.inventory import InventoryQuantity, set_inventory_quantities
from hookyard.shopify.operations.metafields import MetafieldInput, set_metafields

SEED_JOBS_PER_SECOND = 10.0


class FixedRateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced, shared by threads (no burst)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)


@dataclass
class ReferenceResult:
    items: int
    seconds: float
    errors: list[str]

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


def run_items(items: list[Any], call: Callable[[Any], None], *, threads: int,
              rate: float = SEED_JOBS_PER_SECOND) -> ReferenceResult:
    """Run ``call(item)`` for every item on ``threads`` threads behind one fixed limiter."""
    limiter = FixedRateLimiter(rate)
    todo: queue.Queue[Any] = queue.Queue()
    for item in items:
        todo.put(item)
    errors: list[str] = []
    done_at: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            limiter.acquire()
            try:
                call(item)
            except Exception as exc:  # counted and reported, never hidden
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
            with lock:
                done_at.append(time.monotonic())

    started = time.monotonic()
    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    finished = max(done_at) if done_at else time.monotonic()
    return ReferenceResult(items=len(items) - len(errors), seconds=finished - started,
                           errors=errors)


def inventory_call(make_client: Callable[[], Any], location: str) -> Callable[[Any], None]:
    """``(inventory_item_id, quantity)`` -> one inventorySetQuantities of 1 quantity."""
    local = threading.local()

    def call(item: tuple[str, int]) -> None:
        if not hasattr(local, "client"):
            local.client = make_client()
        inventory_item, quantity = item
        key = hashlib.sha256(f"{inventory_item}|{location}|{quantity}".encode()).hexdigest()
        set_inventory_quantities(
            local.client,
            [InventoryQuantity(inventory_item_id=inventory_item, location_id=location,
                               quantity=quantity)],
            idempotency_key=f"seed-{key[:48]}", reference_document_uri="bench://seed-design")

    return call


def customer_call(make_client: Callable[[], Any], namespace: str,
                  key: str) -> Callable[[Any], None]:
    """``(customer_gid, total_spent)`` -> one metafieldsSet of 1 metafield."""
    local = threading.local()

    def call(item: tuple[str, str]) -> None:
        if not hasattr(local, "client"):
            local.client = make_client()
        customer, total_spent = item
        set_metafields(local.client, [MetafieldInput(owner_id=customer, namespace=namespace,
                                                     key=key, value=total_spent,
                                                     type="number_decimal")])

    return call
