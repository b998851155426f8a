"""The sync benchmark's run: ``Bench`` starts the stack and seeds the sandbox, runs each
Hookyard pass (webhooks in, every job ended, what Shopify was asked) and each seed-design
phase from the bucket's steady state, restarts the workers with the start-up prefill, and
checks the sandbox against the values sent."""

from __future__ import annotations

import argparse
import os
import random
import time
from decimal import Decimal
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
from bench.sync_workload import (
    ADMIN_TOKEN,
    LOCATION,
    NHANH_TOKEN,
    PLAN,
    REFERENCE_SHOP,
    SHOP,
    build_catalog,
    customer_bodies,
    hookyard_shops,
    inventory_bodies,
    sandbox_seed,
)
from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard.shopify import CircuitBreaker, RateBudget, ShopifyClient, ThrottleStatus
from hookyard_sandbox.client import SandboxClient

INVENTORY_WORKERS = 2
CUSTOMER_WORKERS = 2
REFERENCE_THREADS = 16
"""As many threads as Hookyard's two worker processes (2 x 8)."""
TERMINAL_STATES = ("succeeded", "superseded", "failed", "cancelled")
POLL_SECONDS = 0.2
KINDS = ("inventory", "customer")
BULK_FIELDS = ("bulkOperationRunQuery", "bulkOperation", "bulkOperations")


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
        return ShopifyClient.from_settings(
            self.settings, shop, RateBudget(self.state, shop=REFERENCE_SHOP, plan=PLAN),
            CircuitBreaker.from_settings(self.state, self.settings, REFERENCE_SHOP))

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
