"""Shopify sync benchmark: Hookyard's batched writes against the seed design, on a Standard shop.

    python -m bench.sync [--items 5000] [--customers 2000] [--reference-seconds 15]

In one run, with a private redis-server, the Shopify sandbox, gunicorn ingest and real worker
processes (2 ``workers.inventory_sync`` + 2 ``workers.customer_sync``, default 8 threads each),
all on loopback (``bench/sync_stack.py``):

1. **Hookyard, cold (reactive) then warm SKU/customer cache.** ``--items`` distinct inventory
   items are POSTed to ``/webhooks/nhanh`` as ``inventoryChange`` webhooks of 10-100 products,
   and timed from the first POST to the ``finished_at`` of the last job to end (succeeded,
   superseded or failed). The workers run with ``HOOKYARD_CATALOG_PREFILL_ON_START=false``, so
   the *cold, reactive* pass starts with an empty mapping cache: the first batch misses more
   than ``HOOKYARD_CATALOG_PREFILL_MIN_MISSES`` SKUs and loads the shop's catalogue with one
   bulk query (``hookyard.sync.catalog``; ``--prefill-min-misses 0`` looks every SKU up instead);
   the *warm* pass sends the same SKUs again with new quantities (mapping cached by the cold
   pass). The same for ``--customers`` ``customerUpdate`` items (customers pre-seeded in the
   sandbox with phone and email; written with ``metafieldsSet``).
2. **Hookyard, cold with the start-up prefill.** The workers are stopped, every mapping of the
   shop (caches, snapshot records, negative entries) is deleted, and the workers are started
   again with the start-up prefill on (the default, ``hookyard.sync.prefill``). The bench waits
   (at most ``--prefill-ready-timeout``) until every shop's snapshots are loaded, reports when
   each was ready after its workers were started and what the exports cost, then runs a cold
   inventory pass, a warm one right after it (same machine load: the yardstick for the cold
   one), and a cold customer pass, timed from the first POST as above.
3. **Seed design** (``bench/sync_reference.py``): one call per item, a fixed 10 jobs/s limiter
   shared by 16 threads, the same ``ShopifyClient``; run for ``--reference-seconds`` worth of
   items per kind against a second sandbox shop on the same plan.

Every phase starts from the bucket's steady state: the sandbox bucket *and* Hookyard's shared
budget are set to 0 available (as if the last answer had reported an empty bucket), so the
initial 2000-point burst of a Standard bucket does not flatter anyone. The sandbox runs with
``enforce_throttle=False`` (``--enforce-throttle`` to change): an over-spending client is then
served and counted in ``budget_exceeded`` instead of being corrected by ``THROTTLED``. The
sandbox's bulk queries run at its defaults (1 s queued, then 5000 rows/s) unless
``--bulk-start-seconds`` / ``--bulk-rows-per-second`` say otherwise.

At the end the sandbox's levels and metafields must equal the last value sent per SKU and
customer, or the run says so and exits 1. Results go to stdout and
``bench/.results/sync-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis
import requests

from bench.sync_reference import (
    SEED_JOBS_PER_SECOND,
    customer_call,
    inventory_call,
    run_items,
)
from bench.sync_stack import SyncStack
from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard.shopify import RateBudget, ShopifyClient, ThrottleStatus
from hookyard_sandbox.client import SandboxClient
from tests.support.nhanh_payloads import product_id

BENCH_DIR = Path(__file__).resolve().parent

NHANH_TOKEN = "bench-nhanh-token"
ADMIN_TOKEN = "bench-admin-token"
BUSINESS_ID = "1001"
REFERENCE_BUSINESS_ID = "9009"
DEPOT = "D1"
LOCATION = "gid://shopify/Location/1"
SHOP = "bench"
REFERENCE_SHOP = "seed-design"
PLAN = "standard"
INVENTORY_WORKERS = 2
CUSTOMER_WORKERS = 2
REFERENCE_THREADS = 16
"""As many threads as Hookyard's two worker processes (2 x 8)."""
TARGET_ITEMS_PER_SECOND = 1000.0
TARGET_CUSTOMERS_PER_SECOND = 200.0
TERMINAL_STATES = ("succeeded", "superseded", "failed", "cancelled")
POLL_SECONDS = 0.2
KINDS = ("inventory", "customer")
BULK_FIELDS = ("bulkOperationRunQuery", "bulkOperation", "bulkOperations")
COLD_REACTIVE = "cold, reactive"
COLD_PREFILLED = "cold, start-up prefill"
WARM_AGAIN = "warm, right after"
"""A warm inventory pass right after the start-up one: the machine is shared and inventory
passes are bound by CPU, so this is the fair yardstick for the start-up pass."""


@dataclass(frozen=True)
class Catalog:
    skus: list[str]
    customers: list[dict[str, Any]]
    """Nhanh view: id, mobile, email."""


def build_catalog(items: int, customers: int) -> Catalog:
    """``items`` SKUs with distinct Nhanh product ids (crc32-based ids can collide: skipped)."""
    skus: list[str] = []
    seen: set[int] = set()
    n = 0
    while len(skus) < items:
        sku = f"BY-{n:06d}"
        n += 1
        pid = product_id(sku)
        if pid not in seen:
            seen.add(pid)
            skus.append(sku)
    people = [{"id": 500_000 + i, "mobile": f"09{i:08d}", "email": f"khach{i}@bench.example"}
              for i in range(customers)]
    return Catalog(skus, people)


def sandbox_seed(shop: str, token: str, catalog: Catalog) -> dict[str, Any]:
    products = [{"title": f"Bench {start // 100}",
                 "variants": [{"sku": sku, "inventory": {"Main": 0}}
                              for sku in catalog.skus[start:start + 100]]}
                for start in range(0, len(catalog.skus), 100)]
    customers = [{"email": c["email"], "phone": "+84" + c["mobile"][1:], "firstName": "Khách"}
                 for c in catalog.customers]
    return {"id": shop, "token": token, "domain": f"{shop}.myshopify.com", "plan": PLAN,
            "locations": [{"id": LOCATION, "name": "Main"}], "products": products,
            "customers": customers, "themes": []}


def hookyard_shops() -> list[dict[str, Any]]:
    return [
        {"id": SHOP, "nhanh_business_id": BUSINESS_ID, "shopify_domain": f"{SHOP}.myshopify.com",
         "access_token": f"shpat_{SHOP}", "plan": PLAN, "depots": {DEPOT: LOCATION}},
        {"id": REFERENCE_SHOP, "nhanh_business_id": REFERENCE_BUSINESS_ID,
         "shopify_domain": f"{REFERENCE_SHOP}.myshopify.com",
         "access_token": f"shpat_{REFERENCE_SHOP}", "plan": PLAN, "depots": {DEPOT: LOCATION}},
    ]


def split_sizes(total: int, rng: random.Random, low: int = 10, high: int = 100) -> list[int]:
    """Webhook sizes of ``low``..``high`` items summing to ``total``."""
    sizes = []
    left = total
    while left > 0:
        size = min(left, rng.randint(low, high))
        sizes.append(size)
        left -= size
    return sizes


def inventory_bodies(skus: list[str], values: dict[str, int], rng: random.Random) -> list[bytes]:
    bodies = []
    start = 0
    for size in split_sizes(len(skus), rng):
        data = {}
        for sku in skus[start:start + size]:
            q = values[sku]
            data[str(product_id(sku))] = {"id": product_id(sku), "code": sku, "available": q,
                                          "remain": q,
                                          "depots": {DEPOT: {"available": q, "remain": q}}}
        start += size
        bodies.append(json.dumps({"event": "inventoryChange", "businessId": BUSINESS_ID,
                                  "data": data}).encode())
    return bodies


def customer_bodies(people: list[dict[str, Any]], values: dict[int, int],
                    rng: random.Random) -> list[bytes]:
    bodies = []
    start = 0
    for size in split_sizes(len(people), rng):
        data = [{**c, "totalSpent": values[c["id"]]} for c in people[start:start + size]]
        start += size
        bodies.append(json.dumps({"event": "customerUpdate", "businessId": BUSINESS_ID,
                                  "data": data}).encode())
    return bodies


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.catalog = build_catalog(args.items, args.customers)
        overrides = {}
        if args.prefill_min_misses is not None:
            overrides["HOOKYARD_CATALOG_PREFILL_MIN_MISSES"] = str(args.prefill_min_misses)
        self.stack = SyncStack(hookyard_shops(), nhanh_token=NHANH_TOKEN, admin_token=ADMIN_TOKEN,
                               overrides=overrides)
        self.sent_inventory: dict[str, int] = {}
        self.sent_customers: dict[int, int] = {}
        self.reference_sent_inventory: dict[str, int] = {}
        self.reference_sent_customers: dict[str, str] = {}

    # --- set-up ---------------------------------------------------------------------------------

    def start(self) -> None:
        stack = self.stack
        stack.start_base()
        self.settings = Settings.from_env(stack.env)
        self.state = redis.Redis(port=stack.redis.port, db=1)
        self.jobs = JobStore(self.settings, state=self.state,
                             broker=redis.Redis(port=stack.redis.port, db=0))
        self.sandbox = SandboxClient(stack.sandbox_url, timeout_seconds=60)
        started = time.monotonic()
        self.sandbox.create_shop(sandbox_seed(SHOP, f"shpat_{SHOP}", self.catalog))
        reference = sandbox_seed(REFERENCE_SHOP, f"shpat_{REFERENCE_SHOP}", self.catalog)
        self.reference_ids = self.sandbox.create_shop(reference)
        self.seed_seconds = time.monotonic() - started
        bulk = {name: value for name, value in (
            ("bulk_start_seconds", self.args.bulk_start_seconds),
            ("bulk_rows_per_second", self.args.bulk_rows_per_second)) if value is not None}
        for shop in (SHOP, REFERENCE_SHOP):
            self.sandbox.set_faults(shop, enforce_throttle=self.args.enforce_throttle, **bulk)
        stack.start_ingest()
        self.start_workers(prefill_on_start=False)
        self.http = requests.Session()

    def start_workers(self, *, prefill_on_start: bool) -> dict[str, float]:
        """Start the sync workers; returns when each kind's first one was spawned (epoch s)."""
        env = {"HOOKYARD_CATALOG_PREFILL_ON_START": "true" if prefill_on_start else "false"}
        spawned = {}
        for kind, module, count in (("inventory", "workers.inventory_sync", INVENTORY_WORKERS),
                                    ("customer", "workers.customer_sync", CUSTOMER_WORKERS)):
            spawned[kind] = time.time()
            for i in range(count):
                self.stack.start_worker(module, i, env=env)
        return spawned

    def snapshot(self, shop: str, kind: str) -> dict[str, str]:
        return {k.decode(): v.decode()
                for k, v in self.state.hgetall(keys.catalog_snapshot(shop, kind)).items()}

    def restart_with_startup_prefill(self) -> dict[str, Any]:
        """Stop the workers, forget every mapping of the shop, start the workers again with the
        start-up prefill on, and wait (bounded) until every shop's snapshots are loaded.
        Returns when each of the shop's snapshots was ready and what the exports cost."""
        self.stack.stop_workers()
        forget = [keys.shopify_cache(SHOP, cache) for cache in
                  ("inventory-item", "customer", "customer-phone", "customer-email")]
        forget += [key for kind in KINDS for key in (keys.catalog_snapshot(SHOP, kind),
                                                     keys.mapping_misses(SHOP, kind),
                                                     keys.mapping_ambiguities(SHOP, kind))]
        self.state.delete(*forget)
        self.sandbox.reset_stats(SHOP)
        load_before = os.getloadavg()[0]
        spawned = self.start_workers(prefill_on_start=True)
        deadline = time.monotonic() + self.args.prefill_ready_timeout
        while not all(self.snapshot(shop, kind).get("completed_at_ms")
                      for shop in (SHOP, REFERENCE_SHOP) for kind in KINDS):
            if time.monotonic() > deadline:
                break
            self.stack.check_alive()
            time.sleep(0.05)
        waited = time.time() - spawned["inventory"]
        stats = self.sandbox.stats(SHOP)
        calls, points = stats["calls_by_field"], stats["points_by_field"]
        ready = {}
        for kind in KINDS:
            snapshot = self.snapshot(SHOP, kind)
            done = snapshot.get("completed_at_ms")
            ready[kind] = {
                "ready": bool(done), "error": snapshot.get("error"),
                "ready_after_worker_start_seconds":
                    round(int(done) / 1000 - spawned[kind], 3) if done else None,
                "rows": int(snapshot.get("rows") or 0),
                "load_seconds": int(snapshot["load_ms"]) / 1000 if done else None,
            }
        return {
            "kinds": ready, "waited_seconds": round(waited, 3),
            "bulk_queries": calls.get("bulkOperationRunQuery", 0),
            "polls": calls.get("bulkOperation", 0) + calls.get("bulkOperations", 0),
            "points": sum(points.get(f, 0) for f in BULK_FIELDS),
            "lookups": calls.get("productVariants", 0) + calls.get("customers", 0),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }

    def steady_bucket(self, shop: str) -> None:
        """Sandbox bucket and Hookyard's shared budget both at 0 available, refilling at the
        plan's rate: the steady state of a shop that is kept busy."""
        self.sandbox.set_bucket(shop, 0)
        budget = RateBudget(self.state, shop=shop, plan=PLAN)
        reservation = budget.reserve(1)
        status = self.sandbox.stats(shop)["bucket"]
        budget.settle(reservation, actual=0, status=ThrottleStatus(
            maximum_available=status["maximumAvailable"],
            currently_available=status["currentlyAvailable"],
            restore_rate=status["restoreRate"]))
        self.sandbox.reset_stats(shop)

    # --- Hookyard phases ------------------------------------------------------------------------

    def hookyard_phase(self, name: str, queue: str, bodies: list[bytes], items: int,
                       timeout: float) -> dict[str, Any]:
        self.steady_bucket(SHOP)
        kind = "inventory" if queue == "inventory-sync" else "customer"
        snapshot_before = self.state.hgetall(keys.catalog_snapshot(SHOP, kind))
        baseline = self._terminal(queue)
        load_before = os.getloadavg()[0]
        job_ids: list[str] = []
        t0 = time.time()
        for body in bodies:
            answer = self.http.post(f"{self.stack.ingest_url}/webhooks/nhanh", data=body,
                                    timeout=30, headers={"Content-Type": "application/json",
                                                         "verifyToken": NHANH_TOKEN})
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: ingest answered {answer.status_code}: "
                                   f"{answer.text[:300]}")
            job_ids += answer.json()["jobs"]
        posted = time.time() - t0
        if len(job_ids) != items:
            raise RuntimeError(f"{name}: {items} items sent, {len(job_ids)} jobs accepted")
        deadline = time.monotonic() + timeout
        timed_out = False
        seen_retrying: dict[str, Any] = {}
        while self._terminal(queue) - baseline < items:
            if time.monotonic() > deadline:
                timed_out = True
                break
            self.stack.check_alive()
            self._note_retrying(queue, seen_retrying)
            time.sleep(POLL_SECONDS)
        records = [r for start in range(0, len(job_ids), 500)
                   for r in self.jobs.get_many(job_ids[start:start + 500]) if r is not None]
        ended = [r for r in records if r["state"] in TERMINAL_STATES]
        last = max((int(r["finished_at"]) for r in ended if r.get("finished_at")),
                   default=int(time.time() * 1000))
        seconds = last / 1000 - t0
        stats = self.sandbox.stats(SHOP)
        calls, points = stats["calls_by_field"], stats["points_by_field"]
        snapshot = {k.decode(): v.decode() for k, v in
                    self.state.hgetall(keys.catalog_snapshot(SHOP, kind)).items()}
        loaded = snapshot if snapshot.get("completed_at_ms") and snapshot != {
            k.decode(): v.decode() for k, v in snapshot_before.items()} else {}
        bulk = {
            "queries": calls.get("bulkOperationRunQuery", 0),
            "polls": calls.get("bulkOperation", 0) + calls.get("bulkOperations", 0),
            "points": sum(points.get(f, 0) for f in BULK_FIELDS),
            "downloads": stats["bulk_downloads"],
            "rows": int(loaded["rows"]) if loaded else 0,
            "load_seconds": int(loaded["load_ms"]) / 1000 if loaded else None,
            "loaded_after_seconds": round(int(loaded["completed_at_ms"]) / 1000 - t0, 3)
            if loaded else None,
            "outcome_error": snapshot.get("error"),
        }
        writes = calls.get("inventorySetQuantities", 0) + calls.get("metafieldsSet", 0)
        lookups = calls.get("productVariants", 0) + calls.get("customers", 0)
        states: dict[str, int] = {}
        for record in records:
            states[record["state"]] = states.get(record["state"], 0) + 1
        batch_sizes: dict[str, int] = {}
        for record in records:
            batch = (record.get("result") or {}).get("batch") \
                if isinstance(record.get("result"), dict) else None
            if batch:
                batch_sizes[batch["led_by"]] = int(batch["size"])
        leaders = set(batch_sizes)
        retried = [r for r in records if int(r.get("attempts") or 0) > 1]
        # A succeeded job's record no longer holds the error of its failed attempt: the errors
        # were sampled from jobs seen in "retrying" while the phase ran.
        retry_errors: dict[str, int] = {}
        for error in seen_retrying.values():
            code = str((error or {}).get("code") or (error or {}).get("type") or "unknown")
            retry_errors[code] = retry_errors.get(code, 0) + 1
        return {
            "phase": name, "items": items, "webhooks": len(bodies),
            "seconds": round(seconds, 3), "per_second": round(items / seconds, 1),
            "enqueue_seconds": round(posted, 3), "timed_out": timed_out,
            "states": states, "attempts_over_1": len(retried), "retry_errors": retry_errors,
            "retry_error_sample": next(iter(seen_retrying.values()), None),
            "batches": len(leaders),
            "mean_batch": round(items / len(leaders), 1) if leaders else None,
            "batch_sizes": sorted(batch_sizes.values(), reverse=True),
            "batches_of_5_or_fewer": sum(1 for size in batch_sizes.values() if size <= 5),
            "shopify_calls": stats["calls"], "mutations": writes, "lookups": lookups,
            "lookup_points": points.get("productVariants", 0) + points.get("customers", 0),
            "bulk": bulk, "bulk_queries": bulk["queries"], "bulk_points": bulk["points"],
            "bulk_seconds": bulk["load_seconds"],
            "throttled": stats["throttled"], "http_429": stats["http_429"],
            "budget_exceeded": stats["budget_exceeded"],
            "points_requested": stats["points_requested"], "points_spent": stats["points_spent"],
            "points_per_second": round(stats["points_spent"] / seconds, 1),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }

    def _note_retrying(self, queue: str, seen: dict[str, Any]) -> None:
        """Remember the error of every job seen waiting for a retry."""
        ids = [m.decode() for m in self.state.zrange(keys.jobs_in_state(queue, "retrying"), 0,
                                                     -1) if m.decode() not in seen]
        for record in self.jobs.get_many(ids) if ids else []:
            if record is not None:
                seen[record["id"]] = record.get("error")

    def _terminal(self, queue: str) -> int:
        pipe = self.state.pipeline(transaction=False)
        for state in TERMINAL_STATES:
            pipe.zcard(keys.jobs_in_state(queue, state))
        return sum(pipe.execute())

    def inventory_pass(self, name: str) -> dict[str, Any]:
        values = {sku: self.rng.randrange(1, 100_000) for sku in self.catalog.skus}
        self.sent_inventory.update(values)
        bodies = inventory_bodies(self.catalog.skus, values, self.rng)
        return self.hookyard_phase(name, "inventory-sync", bodies, len(self.catalog.skus),
                                   timeout=self.args.phase_timeout)

    def customer_pass(self, name: str) -> dict[str, Any]:
        values = {c["id"]: self.rng.randrange(1, 100_000_000) for c in self.catalog.customers}
        self.sent_customers.update(values)
        bodies = customer_bodies(self.catalog.customers, values, self.rng)
        return self.hookyard_phase(name, "customer-sync", bodies, len(self.catalog.customers),
                                   timeout=self.args.phase_timeout)

    # --- seed design ----------------------------------------------------------------------------

    def _reference_client(self) -> ShopifyClient:
        shop = self.settings.shop_by_id(REFERENCE_SHOP)
        assert shop is not None
        return ShopifyClient.from_settings(self.settings, shop,
                                           RateBudget(self.state, shop=REFERENCE_SHOP, plan=PLAN))

    def reference_phase(self, name: str, kind: str) -> dict[str, Any]:
        count = max(1, int(self.args.reference_seconds * SEED_JOBS_PER_SECOND))
        self.steady_bucket(REFERENCE_SHOP)
        load_before = os.getloadavg()[0]
        if kind == "inventory":
            skus = self.catalog.skus[:count]
            ids = self.reference_ids["skus"]
            values = {sku: self.rng.randrange(1, 100_000) for sku in skus}
            self.reference_sent_inventory.update(values)
            work: list[Any] = [(ids[sku]["inventoryItem"], values[sku]) for sku in skus]
            call = inventory_call(self._reference_client, LOCATION)
        else:
            people = self.catalog.customers[:count]
            ids = self.reference_ids["customers"]
            work = []
            for c in people:
                value = str(self.rng.randrange(1, 100_000_000))
                gid = ids[c["email"]]
                self.reference_sent_customers[gid] = value
                work.append((gid, value))
            call = customer_call(self._reference_client,
                                 self.settings.customer_metafield_namespace,
                                 self.settings.customer_metafield_key)
        result = run_items(work, call, threads=REFERENCE_THREADS)
        stats = self.sandbox.stats(REFERENCE_SHOP)
        return {
            "phase": name, "items": result.items, "seconds": round(result.seconds, 3),
            "per_second": round(result.per_second, 1), "errors": result.errors[:5],
            "error_count": len(result.errors), "attempts_over_1": 0,
            "shopify_calls": stats["calls"], "mutations": stats["calls"], "lookups": 0,
            "throttled": stats["throttled"], "http_429": stats["http_429"],
            "budget_exceeded": stats["budget_exceeded"],
            "points_requested": stats["points_requested"], "points_spent": stats["points_spent"],
            "points_per_second": round(stats["points_spent"] / result.seconds, 1)
            if result.seconds else None,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }

    # --- correctness ----------------------------------------------------------------------------

    def verify(self) -> dict[str, Any]:
        problems: list[str] = []
        levels = {row["sku"]: row["available"] for row in self.sandbox.inventory(SHOP)
                  if row["locationId"] == LOCATION}
        wrong = [sku for sku, value in self.sent_inventory.items() if levels.get(sku) != value]
        if wrong:
            first = wrong[0]
            problems.append(f"{len(wrong)} SKUs differ from the last value sent, e.g. "
                            f"{first}: {levels.get(first)} != {self.sent_inventory[first]}")
        namespace = self.settings.customer_metafield_namespace
        key = self.settings.customer_metafield_key
        by_email: dict[str, str | None] = {}
        for customer in self.sandbox.customers(SHOP):
            value = next((m["value"] for m in customer["metafields"]
                          if m["namespace"] == namespace and m["key"] == key), None)
            by_email[customer["email"]] = value
        wrong_c = [c for c in self.catalog.customers if c["id"] in self.sent_customers
                   and Decimal(by_email.get(c["email"]) or "NaN") != self.sent_customers[c["id"]]]
        if wrong_c:
            c = wrong_c[0]
            problems.append(f"{len(wrong_c)} customers differ from the last value sent, e.g. "
                            f"{c['email']}: {by_email.get(c['email'])} != "
                            f"{self.sent_customers[c['id']]}")
        ref_levels = {row["sku"]: row["available"] for row in self.sandbox.inventory(REFERENCE_SHOP)
                      if row["locationId"] == LOCATION}
        wrong_r = [s for s, v in self.reference_sent_inventory.items() if ref_levels.get(s) != v]
        ref_values = {}
        for customer in self.sandbox.customers(REFERENCE_SHOP):
            ref_values[customer["id"]] = next((m["value"] for m in customer["metafields"]
                                               if m["key"] == key), None)
        wrong_r += [g for g, v in self.reference_sent_customers.items() if ref_values.get(g) != v]
        if wrong_r:
            problems.append(f"seed design: {len(wrong_r)} items differ from the value sent")
        return {"ok": not problems, "problems": problems,
                "checked": {"skus": len(self.sent_inventory),
                            "customers": len(self.sent_customers),
                            "seed_design_items": len(self.reference_sent_inventory)
                            + len(self.reference_sent_customers)}}


def print_table(phases: list[dict[str, Any]]) -> None:
    columns = [("phase", 41), ("items", 6), ("seconds", 8), ("per_second", 8),
               ("shopify_calls", 6), ("mutations", 6), ("lookups", 6), ("bulk_queries", 5),
               ("bulk_seconds", 6), ("bulk_points", 5), ("points_spent", 7),
               ("throttled", 5), ("http_429", 5), ("attempts_over_1", 6),
               ("budget_exceeded", 6)]
    heads = ["phase", "items", "seconds", "items/s", "calls", "writes", "lookups", "bulk",
             "bulk s", "b.pts", "points", "thr", "429", "att>1", "over"]
    print("  ".join(h.rjust(w) if i else h.ljust(w)
                    for i, (h, (_, w)) in enumerate(zip(heads, columns, strict=True))))
    for phase in phases:
        cells = []
        for i, (key, width) in enumerate(columns):
            value = phase.get(key, "")
            value = "-" if value is None else value
            cells.append(str(value).ljust(width) if i == 0 else str(value).rjust(width))
        print("  ".join(cells))


def describe_prefill(prefill: dict[str, Any]) -> str:
    if not prefill:
        return "not run"
    kinds = "; ".join(
        f"{kind} snapshot " + (f"ready {row['ready_after_worker_start_seconds']}s after its "
                               f"workers were started ({row['rows']} rows, bulk query to swap "
                               f"{row['load_seconds']}s)" if row["ready"]
                               else f"NOT ready ({row['error'] or 'still loading'})")
        for kind, row in prefill["kinds"].items())
    return (f"{kinds}; {prefill['bulk_queries']} bulk queries, {prefill['polls']} polls, "
            f"{prefill['points']} points, {prefill['lookups']} lookups (before the cold passes, "
            f"not in their figures)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000, help="inventory items per pass")
    parser.add_argument("--customers", type=int, default=2000, help="customers per pass")
    parser.add_argument("--reference-seconds", type=float, default=15.0,
                        help="seed design: this many seconds' worth of items (at 10/s) per kind")
    parser.add_argument("--phase-timeout", type=float, default=240.0,
                        help="longest wait for one Hookyard pass to end")
    parser.add_argument("--enforce-throttle", action="store_true",
                        help="sandbox answers THROTTLED (as Shopify) instead of counting overruns")
    parser.add_argument("--seed", type=int, default=3, help="random seed (values, webhook sizes)")
    parser.add_argument("--prefill-min-misses", type=int, default=None,
                        help="HOOKYARD_CATALOG_PREFILL_MIN_MISSES (default: the setting's; 0 "
                             "looks every cold mapping up one by one)")
    parser.add_argument("--prefill-ready-timeout", type=float, default=60.0,
                        help="longest wait for the start-up prefill before the cold passes "
                             "(they run regardless)")
    parser.add_argument("--bulk-start-seconds", type=float, default=None,
                        help="sandbox: seconds a bulk query is queued before it runs")
    parser.add_argument("--bulk-rows-per-second", type=float, default=None,
                        help="sandbox: rows a running bulk query produces per second")
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl-C, so the finally below stops every child process.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    bench = Bench(args)
    started = time.monotonic()
    phases: list[dict[str, Any]] = []
    prefill: dict[str, Any] = {}
    failed = True
    try:
        bench.start()
        print(f"stack up: sandbox seeded with {args.items} SKUs and {args.customers} customers "
              f"x 2 shops in {bench.seed_seconds:.1f}s", flush=True)
        def restart() -> None:
            prefill.update(bench.restart_with_startup_prefill())
            print(f"  workers restarted with the start-up prefill: {describe_prefill(prefill)}",
                  flush=True)

        for run in (lambda: bench.inventory_pass(f"hookyard inventory {COLD_REACTIVE}"),
                    lambda: bench.inventory_pass("hookyard inventory warm"),
                    lambda: bench.customer_pass(f"hookyard customers {COLD_REACTIVE}"),
                    lambda: bench.customer_pass("hookyard customers warm"),
                    restart,
                    lambda: bench.inventory_pass(f"hookyard inventory {COLD_PREFILLED}"),
                    lambda: bench.inventory_pass(f"hookyard inventory {WARM_AGAIN}"),
                    lambda: bench.customer_pass(f"hookyard customers {COLD_PREFILLED}"),
                    lambda: bench.reference_phase("seed design inventory", "inventory"),
                    lambda: bench.reference_phase("seed design customers", "customers")):
            phase = run()
            if phase is None:
                continue
            phases.append(phase)
            print(f"  {phase['phase']}: {phase['items']} in {phase['seconds']}s = "
                  f"{phase['per_second']}/s", flush=True)
        verification = bench.verify()
        failed = False
    finally:
        bench.stack.stop(keep_logs=failed)

    by_name = {p["phase"]: p for p in phases}
    seed_inv = by_name["seed design inventory"]["per_second"]
    seed_cust = by_name["seed design customers"]["per_second"]
    summary = {}
    for cache in ("warm", COLD_PREFILLED, COLD_REACTIVE):
        inv = by_name[f"hookyard inventory {cache}"]["per_second"]
        cust = by_name[f"hookyard customers {cache}"]["per_second"]
        summary[cache] = {
            "items_per_second": inv, "customers_per_second": cust,
            "items_ratio_to_seed": round(inv / seed_inv, 1) if seed_inv else None,
            "customers_ratio_to_seed": round(cust / seed_cust, 1) if seed_cust else None,
            "items_target": "PASS" if inv >= TARGET_ITEMS_PER_SECOND else "MISS",
            "customers_target": "PASS" if cust >= TARGET_CUSTOMERS_PER_SECOND else "MISS",
        }
    hookyard_phases = [p for p in phases if p["phase"].startswith("hookyard")]
    guards = {
        "attempts_over_1": sum(p["attempts_over_1"] for p in hookyard_phases),
        "budget_exceeded": sum(p["budget_exceeded"] for p in phases),
        "throttled": sum(p["throttled"] + p["http_429"] for p in phases),
        "failed_jobs": sum(p["states"].get("failed", 0) for p in hookyard_phases),
        "timed_out": [p["phase"] for p in hookyard_phases if p["timed_out"]],
    }

    print()
    print_table(phases)
    print()
    for cache, row in summary.items():
        print(f"{cache}: {row['items_per_second']} items/s "
              f"(x{row['items_ratio_to_seed']} seed design; target >= "
              f"{TARGET_ITEMS_PER_SECOND:.0f}: {row['items_target']}), "
              f"{row['customers_per_second']} customers/s (x{row['customers_ratio_to_seed']}; "
              f"target >= {TARGET_CUSTOMERS_PER_SECOND:.0f}: {row['customers_target']})")
    for phase in hookyard_phases:
        bulk = phase["bulk"]
        if bulk["queries"] or bulk["polls"]:
            error = f"; error: {bulk['outcome_error']}" if bulk["outcome_error"] else ""
            print(f"bulk prefill, {phase['phase']}: {bulk['queries']} bulk query, "
                  f"{bulk['polls']} polls, {bulk['points']} points, {bulk['rows']} rows loaded "
                  f"in {bulk['load_seconds']}s (ready {bulk['loaded_after_seconds']}s after the "
                  f"first POST){error}")
    print(f"start-up prefill: {describe_prefill(prefill)}")
    cold_retried = sum(p["attempts_over_1"] for p in hookyard_phases if "cold" in p["phase"])
    print(f"cold passes: jobs with attempts > 1: {cold_retried}")
    print(f"jobs with attempts > 1: {guards['attempts_over_1']}; failed jobs: "
          f"{guards['failed_jobs']}; budget_exceeded: {guards['budget_exceeded']}; "
          f"throttled + 429: {guards['throttled']}"
          f"{' (throttling not enforced)' if not args.enforce_throttle else ''}")
    print(f"correctness: {'OK' if verification['ok'] else 'FAILED'} {verification['checked']}"
          + "".join(f"\n  {p}" for p in verification["problems"]))
    elapsed = time.monotonic() - started
    print(f"run took {elapsed:.0f}s")

    result = {
        "benchmark": "sync", "at": datetime.now(UTC).isoformat(),
        "args": vars(args), "elapsed_seconds": round(elapsed, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "setup": {"plan": PLAN, "inventory_workers": INVENTORY_WORKERS,
                  "customer_workers": CUSTOMER_WORKERS,
                  "worker_threads": bench.settings.worker_threads,
                  "seed_design": {"jobs_per_second": SEED_JOBS_PER_SECOND,
                                  "threads": REFERENCE_THREADS},
                  "enforce_throttle": args.enforce_throttle},
        "phases": phases, "startup_prefill": prefill, "summary": summary, "guards": guards,
        "verification": verification,
    }
    out_dir = BENCH_DIR / ".results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"sync-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out.relative_to(BENCH_DIR.parent)}")
    ok = verification["ok"] and not guards["timed_out"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
