"""The fairness benchmark's runs: ``DesignStack`` is one design's stack (a private Redis, the
sandbox with the slow plan, gunicorn ingest and ONE ``workers.inventory_sync`` process with
production defaults); ``two_shops`` and ``many_shops`` are the two scenarios run on a fresh one.

A shop's latency is the time from its webhook's acceptance (the ``created_at`` ingest gives its
jobs) to the ``finished_at`` of the last of its jobs, all of which must have ended; after that
the sandbox must hold every level sent. Both times are this machine's clock.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis
import requests

from bench.fairness_sandbox import SLOW_RESTORE_RATE, fairness_sandbox_command
from bench.fairness_workload import (
    HOOKYARD_PLAN,
    Shop,
    hookyard_shop,
    new_levels,
    sandbox_seed_of,
    webhooks,
)
from bench.sync_stack import SyncStack
from bench.sync_workload import ADMIN_TOKEN, LOCATION, NHANH_TOKEN
from hookyard.base import keys
from hookyard.base.queues import INVENTORY_SYNC
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard.shopify import RateBudget, ThrottleStatus
from hookyard.sync.inventory import KIND, MAX_JOBS_PER_BATCH
from hookyard_sandbox.client import SandboxClient

DESIGNS = {"turns": "true", "per-job": "false"}
"""Design -> ``HOOKYARD_SHOP_TURNS``: a shop's pending jobs stand in the queue as one turn, or
every job has its own message (the design before turns)."""
BUCKET_CAPACITY = 200.0
WRITE_POINTS = 10
"""Requested cost of one ``inventorySetQuantities`` (up to ``MAX_JOBS_PER_BATCH`` quantities)."""
BUDGET_ITEMS_PER_SECOND = SLOW_RESTORE_RATE / WRITE_POINTS * MAX_JOBS_PER_BATCH
"""What a shop with a spent bucket can drain on the slow plan: one write of 250 a second."""
ENDED = frozenset({"succeeded", "superseded", "failed", "cancelled"})
WRITTEN = frozenset({"succeeded", "superseded"})
POLL_SECONDS = 0.05
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")
BULK_ROWS_PER_SECOND = 200_000.0
"""The sandbox's export speed during set-up (its default, 5000 rows/s, would make the start-up
prefill of a 100,000-SKU shop take 20 s; the exports are not what is measured)."""


@dataclass
class Delivery:
    """One accepted webhook: its shop, its jobs and when it was sent and answered (epoch s)."""

    shop: str
    job_ids: list[str]
    sent_at: float
    answered_at: float


class DesignStack:
    """One design's processes and the clients the scenarios drive them with."""

    def __init__(self, design: str, shops: list[Shop]) -> None:
        self.design = design
        self.shops = shops
        self.stack = SyncStack([hookyard_shop(s) for s in shops], nhanh_token=NHANH_TOKEN,
                               admin_token=ADMIN_TOKEN,
                               overrides={"HOOKYARD_SHOP_TURNS": DESIGNS[design]},
                               sandbox=fairness_sandbox_command, name="fairness")
        self._local = threading.local()

    def start(self, *, prefill_timeout: float) -> dict[str, float]:
        """Start everything, seed the sandbox, and wait until the worker's start-up prefill has
        loaded every shop's SKU snapshot; returns how long the set-up steps took."""
        started = time.monotonic()
        stack = self.stack
        stack.start_base()
        self.settings = Settings.from_env(stack.env)
        self.state = redis.Redis(port=stack.redis.port, db=self.settings.state_redis_db)
        self.broker = redis.Redis(port=stack.redis.port, db=0)
        self.jobs = JobStore(self.settings, state=self.state, broker=self.broker)
        self.sandbox = SandboxClient(stack.sandbox_url, timeout_seconds=120)
        for shop in self.shops:
            self.sandbox.create_shop(sandbox_seed_of(shop))
            self.sandbox.set_faults(shop.id, bulk_start_seconds=0,
                                    bulk_rows_per_second=BULK_ROWS_PER_SECOND)
        seeded = time.monotonic()
        stack.start_ingest()
        stack.start_worker("workers.inventory_sync", 0)
        spawned = time.monotonic()
        deadline = spawned + prefill_timeout
        waiting = [s.id for s in self.shops]
        while waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.design}: the start-up prefill had not loaded "
                                   f"{len(waiting)} shops' snapshots after {prefill_timeout:.0f}s "
                                   f"(e.g. {waiting[0]}); see the worker's log")
            stack.check_alive()
            pipe = self.state.pipeline(transaction=False)
            for shop_id in waiting:
                pipe.hget(keys.catalog_snapshot(shop_id, KIND), "completed_at_ms")
            waiting = [s for s, done in zip(waiting, pipe.execute(), strict=True) if not done]
            time.sleep(0.2)
        return {"seed_seconds": round(seeded - started, 1),
                "prefill_seconds": round(time.monotonic() - spawned, 1)}

    def stop(self, *, keep_logs: bool = False) -> None:
        self.stack.stop(keep_logs=keep_logs)

    def worker_log(self) -> dict[str, Any]:
        """What the worker logged at WARNING or above (it logs nothing else): a count per
        message, ids masked (the sweeper passing on a lost turn, say), and the first of each."""
        counts: dict[str, int] = {}
        first: dict[str, str] = {}
        for process in self.stack.processes:
            if not process.name.startswith("workers."):
                continue
            for line in process.output().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = {"level": "text", "message": line[:200]}
                if not isinstance(entry, dict):
                    continue
                message = ID.sub("<id>", str(entry.get("message")))[:120]
                key = f"{entry.get('level')}: {message}"
                counts[key] = counts.get(key, 0) + 1
                first.setdefault(key, line[:500])
        return {"counts": counts, "first": first}

    # --- buckets --------------------------------------------------------------------------------

    def set_bucket(self, shop: str, available: float) -> None:
        """The sandbox's bucket *and* Hookyard's shared budget at ``available`` points, refilling
        at the plan's rate (Hookyard adopts the sandbox's throttleStatus, as from an answer);
        the shop's sandbox counters start again from 0."""
        self.sandbox.set_bucket(shop, available)
        budget = RateBudget(self.state, shop=shop, plan=HOOKYARD_PLAN)
        reservation, _ = budget.try_reserve(1)
        status = self.sandbox.stats(shop)["bucket"]
        assert reservation is not None
        budget.settle(reservation, actual=0, status=ThrottleStatus(
            maximum_available=status["maximumAvailable"],
            currently_available=status["currentlyAvailable"],
            restore_rate=status["restoreRate"]))
        self.sandbox.reset_stats(shop)

    def set_buckets(self, shops: list[str], available: float) -> None:
        """``set_bucket`` for many shops, a few at a time (each takes a few control calls)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda shop: self.set_bucket(shop, available), shops))

    # --- webhooks in ----------------------------------------------------------------------------

    def post(self, shop: str, body: bytes) -> Delivery:
        """POST one webhook to ingest; it must be accepted (200, not a duplicate)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        sent = time.time()
        answer = session.post(f"{self.stack.ingest_url}/webhooks/nhanh", data=body, timeout=60,
                              headers={"Content-Type": "application/json",
                                       "verifyToken": NHANH_TOKEN})
        answered = time.time()
        if answer.status_code != 200 or answer.json().get("duplicate"):
            raise RuntimeError(f"{shop}: ingest answered {answer.status_code}: "
                               f"{answer.text[:300]}")
        return Delivery(shop, list(answer.json()["jobs"]), sent, answered)

    def flood(self, shop: str, bodies: list[bytes], *, senders: int) -> list[Delivery]:
        """POST every body, ``senders`` at a time, as fast as ingest takes them."""
        with ThreadPoolExecutor(max_workers=senders) as pool:
            return list(pool.map(lambda body: self.post(shop, body), bodies))

    # --- jobs out -------------------------------------------------------------------------------

    def not_ended(self, job_ids: list[str]) -> list[str]:
        """The jobs of ``job_ids`` that have not ended (one pipelined round trip)."""
        pipe = self.state.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(keys.job(job_id), "state")
        return [j for j, s in zip(job_ids, pipe.execute(), strict=True)
                if s is None or s.decode() not in ENDED]

    def records(self, job_ids: list[str]) -> list[dict[str, Any]]:
        return [r for start in range(0, len(job_ids), 1000)
                for r in self.jobs.get_many(job_ids[start:start + 1000]) if r is not None]

    def outcome(self, delivery: Delivery, levels: dict[str, int]) -> dict[str, Any]:
        """A delivery whose jobs all ended: its latency, its jobs' states and whether the
        sandbox holds its levels."""
        records = self.records(delivery.job_ids)
        accepted_ms = min(int(r["created_at"]) for r in records)
        ended_ms = max(int(r["finished_at"]) for r in records)
        states: dict[str, int] = {}
        for record in records:
            states[record["state"]] = states.get(record["state"], 0) + 1
        wrong = self.wrong_levels(delivery.shop, levels)
        return {"shop": delivery.shop, "items": len(delivery.job_ids),
                "latency_seconds": round((ended_ms - accepted_ms) / 1000, 3),
                "answered_after_seconds": round(delivery.answered_at - delivery.sent_at, 3),
                "states": states, "levels_wrong": len(wrong)}

    def wrong_levels(self, shop: str, levels: dict[str, int]) -> list[str]:
        held = {row["sku"]: row["available"] for row in self.sandbox.inventory(shop)
                if row["locationId"] == LOCATION}
        return [sku for sku, value in levels.items() if held.get(sku) != value]

    def writes(self, shop: str) -> int:
        return int(self.sandbox.stats(shop)["calls_by_field"].get("inventorySetQuantities", 0))


def load() -> float:
    return round(os.getloadavg()[0], 2)


def batch_times(records: list[dict[str, Any]]) -> list[tuple[float, int]]:
    """(when, size) of every batch the records were written in, oldest first; a batch's time is
    the first of its jobs' ``finished_at`` (its members end right after its write)."""
    batches: dict[str, list[int]] = {}
    for record in records:
        batch = (record.get("result") or {}).get("batch") \
            if isinstance(record.get("result"), dict) else None
        if batch and record.get("finished_at"):
            batches.setdefault(str(batch["led_by"]), []).append(int(record["finished_at"]))
    return sorted((min(times) / 1000, len(times)) for times in batches.values())


def drain_rate(records: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """How fast a shop's backlog drained between ``start`` and ``end`` (epoch s): items whose
    jobs ended in it per second, and the steady rate between its first and last batch in it
    (items of every batch after the first / the time between them), which no window edge cuts."""
    ended = [r for r in records if r["state"] in WRITTEN and r.get("finished_at")
             and start * 1000 <= int(r["finished_at"]) <= end * 1000]
    batches = [(t, n) for t, n in batch_times(ended) if start <= t <= end]
    steady = None
    if len(batches) > 1:
        span = batches[-1][0] - batches[0][0]
        steady = round(sum(n for _, n in batches[1:]) / span, 1) if span > 0 else None
    return {"window_seconds": round(end - start, 3), "items": len(ended),
            "items_per_second": round(len(ended) / (end - start), 1),
            "batches": len(batches), "first_batch_sizes": [n for _, n in batches[:3]],
            "mean_batch": round(len(ended) / len(batches), 1) if batches else None,
            "steady_items_per_second": steady,
            "seconds_between_batches": round((batches[-1][0] - batches[0][0])
                                             / (len(batches) - 1), 3)
            if len(batches) > 1 else None}


# --- scenario 1: two shops --------------------------------------------------------------------

def two_shops(stack: DesignStack, args: argparse.Namespace,
              rng: random.Random) -> dict[str, Any]:
    """B alone (``--b-repeats`` times, median), then A's flood and B right behind it, again
    while A still has a backlog of a batch or more (median): B's latency; and A's drain over
    ``--window`` seconds from its first POST."""
    a, b = stack.shops
    alone = []
    for _ in range(args.b_repeats):
        stack.set_bucket(b.id, BUCKET_CAPACITY)
        levels = new_levels(b.skus, rng)
        delivery = stack.post(b.id, webhooks(b, levels, per_webhook=len(b.skus))[0])
        if not wait_until_ended(stack, delivery.job_ids, delivery.answered_at + args.b_timeout):
            raise RuntimeError(f"{b.id} alone: its jobs had not ended after {args.b_timeout}s")
        alone.append(stack.outcome(delivery, levels))
        time.sleep(0.5)

    a_levels = new_levels(a.skus, rng)
    a_bodies = webhooks(a, a_levels)
    # A's bucket last, right before its flood: it refills while anything else is set up.
    stack.set_bucket(b.id, BUCKET_CAPACITY)
    load_before = load()
    stack.set_bucket(a.id, 0)
    t0 = time.time()
    a_deliveries = stack.flood(a.id, a_bodies, senders=args.senders)
    a_accepted = time.time()
    window_end = t0 + args.window
    window_writes: list[int] = []

    def sample_window() -> None:
        if not window_writes and time.time() >= window_end:
            window_writes.append(stack.writes(a.id))

    behind: list[dict[str, Any]] = []
    b_timed_out = False
    first_sent = None
    for i in range(args.b_repeats):
        a_backlog = int(stack.state.zcard(keys.pending_batch(a.id, KIND)))
        if i and a_backlog < MAX_JOBS_PER_BATCH:
            break  # A's backlog is (nearly) gone: B would be alone again
        levels = new_levels(b.skus, rng)
        delivery = stack.post(b.id, webhooks(b, levels, per_webhook=len(b.skus))[0])
        first_sent = first_sent or delivery.sent_at
        if not wait_until_ended(stack, delivery.job_ids, delivery.answered_at + args.b_timeout,
                                tick=sample_window):
            b_timed_out = True
            break
        behind.append({**stack.outcome(delivery, levels), "a_backlog_at_send": a_backlog})
        wait_until(time.time() + 0.5, tick=sample_window)
    wait_until(window_end, tick=sample_window)
    sample_window()

    a_ids = [j for d in a_deliveries for j in d.job_ids]
    a_records = stack.records(a_ids)
    a_written = [str(r["payload"]["item"]["code"]) for r in a_records if r["state"] in WRITTEN]
    a_wrong = stack.wrong_levels(a.id, {sku: a_levels[sku] for sku in a_written})
    drain = drain_rate(a_records, t0, window_end)
    drain["writes"] = window_writes[0]
    return {
        "shops": {"a": a.id, "b": b.id}, "a_items": len(a_ids), "b_items": len(b.skus),
        "b_alone": alone,
        "b_alone_median_seconds": statistics.median(o["latency_seconds"] for o in alone),
        "a_flood": {"webhooks": len(a_bodies),
                    "accepted_seconds": round(a_accepted - t0, 3),
                    "items_ended_at_end": len(a_written),
                    "levels_wrong": len(a_wrong)},
        "b_behind_a": behind,
        "b_behind_a_median_seconds":
            statistics.median(o["latency_seconds"] for o in behind) if behind else None,
        "b_timed_out": b_timed_out, "b_timeout_seconds": args.b_timeout,
        "b_first_sent_after_a_first_post_seconds":
            round(first_sent - t0, 3) if first_sent else None,
        "a_drain": drain, "budget_items_per_second": BUDGET_ITEMS_PER_SECOND,
        "load_average": [load_before, load()],
    }


# --- scenario 2: many shops, one backlog ------------------------------------------------------

def many_shops(stack: DesignStack, args: argparse.Namespace,
               rng: random.Random) -> dict[str, Any]:
    """The first ``--backlog-shops`` shops (1: shop 0) send ``--big-backlog`` items each, one
    after the other; then one webhook of ``--small-items`` from each other shop, spread over
    ``--spread`` seconds; wait until they all ended (or ``--shops-timeout`` after the last was
    sent)."""
    big, small = stack.shops[:args.backlog_shops], stack.shops[args.backlog_shops:]
    big_bodies = {shop.id: webhooks(shop, new_levels(shop.skus, rng)) for shop in big}
    stack.set_buckets([shop.id for shop in small], BUCKET_CAPACITY)
    load_before = load()
    stack.set_buckets([shop.id for shop in big], 0)
    t0 = time.time()
    big_deliveries = [d for shop in big
                      for d in stack.flood(shop.id, big_bodies[shop.id], senders=args.senders)]
    big_accepted = time.time()

    levels = {shop.id: new_levels(shop.skus, rng) for shop in small}
    bodies = {shop.id: webhooks(shop, levels[shop.id], per_webhook=len(shop.skus))[0]
              for shop in small}
    deliveries: dict[str, Delivery] = {}
    first = time.time()
    for i, shop in enumerate(small):
        time.sleep(max(0.0, first + i * args.spread / len(small) - time.time()))
        deliveries[shop.id] = stack.post(shop.id, bodies[shop.id])
    last_sent = time.time()

    left = [j for d in deliveries.values() for j in d.job_ids]
    deadline = last_sent + args.shops_timeout
    while left and time.time() < deadline:
        stack.stack.check_alive()
        time.sleep(0.1)
        left = stack.not_ended(left)
    stopped = time.time()
    big_writes = sum(stack.writes(shop.id) for shop in big)
    left_set = set(left)
    broker_listed = int(stack.broker.llen(keys.broker_queue(INVENTORY_SYNC)))

    per_shop: dict[str, dict[str, Any]] = {}
    for shop in small:
        delivery = deliveries[shop.id]
        if left_set.intersection(delivery.job_ids):
            per_shop[shop.id] = {"done": False, "items": len(delivery.job_ids),
                                 "waited_seconds": round(stopped - delivery.answered_at, 3)}
        else:
            per_shop[shop.id] = {"done": True, **stack.outcome(delivery, levels[shop.id])}

    big_ids = [j for d in big_deliveries for j in d.job_ids]
    big_drain = drain_rate(stack.records(big_ids), t0, stopped)
    big_drain["writes"] = big_writes
    big_left = len(big_ids) - big_drain["items"]
    big_rate = big_drain["items_per_second"]
    not_done = [s for s in per_shop.values() if not s["done"]]
    return {
        "big_shops": [shop.id for shop in big], "big_backlog": len(big[0].skus),
        "big_items": len(big_ids), "small_shops": len(small),
        "small_items": len(small[0].skus) if small else 0,
        "big_flood": {"webhooks": len(big_deliveries),
                      "accepted_seconds": round(big_accepted - t0, 3)},
        "big_budget_items_per_second": BUDGET_ITEMS_PER_SECOND * len(big),
        "big_drain": big_drain,
        "small_sent_over_seconds": round(last_sent - first, 3),
        "timed_out": bool(not_done), "timeout_seconds": args.shops_timeout,
        "stopped_after_last_sent_seconds": round(stopped - last_sent, 3),
        "queue_messages_listed_at_stop": broker_listed,
        # Without turns every waiting shop's message is behind the big shops' unfinished jobs'
        # messages, which leave the queue about as fast as the big shops drain.
        "estimated_more_seconds_for_the_rest": round(big_left / big_rate, 1)
        if not_done and big_rate > 0 else None,
        "per_shop": per_shop,
        "load_average": [load_before, load()],
    }


def wait_until_ended(stack: DesignStack, job_ids: list[str], deadline: float, *,
                     tick: Callable[[], None] | None = None) -> bool:
    """Whether every job of ``job_ids`` ended by ``deadline``; ``tick`` runs at every poll."""
    left = job_ids
    while left:
        if time.time() > deadline:
            return False
        stack.stack.check_alive()
        if tick:
            tick()
        time.sleep(POLL_SECONDS)
        left = stack.not_ended(left)
    return True


def wait_until(when: float, *, tick: Callable[[], None]) -> None:
    while time.time() < when:
        tick()
        time.sleep(min(POLL_SECONDS, max(0.0, when - time.time())))
