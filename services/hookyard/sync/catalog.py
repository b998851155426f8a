"""Mapping snapshots: fill a shop's mapping caches from one Shopify bulk query.

Resolving Nhanh products and customers to Shopify ids one lookup at a time costs ~2 points per
SKU and ~1.2 per customer, so on a Standard shop (100 points/s) a cold cache caps sync at about
50 SKUs/s. A bulk query exports the whole catalogue for one 10-point mutation and a few 1-point
polls, and its result file is downloaded outside the rate limit. So when a sync batch misses
many mappings (``HOOKYARD_CATALOG_PREFILL_MIN_MISSES``) and the shop has no fresh snapshot
(``HOOKYARD_CATALOG_REFRESH_SECONDS``), the kind's ``apply`` step calls ``ensure_snapshot``:

1. Under a per-shop, per-kind lease (``keys.catalog_lease``) one worker runs the export; the
   others wait for it (bounded) and then read the caches it filled.
2. The holder starts the bulk query (or picks up the one an earlier holder left running, or
   joins one Shopify already runs with the same text), polls it, and streams its JSONL into new
   hashes that replace the caches in one transaction (``RENAME``): readers never see half a load.
3. It records the outcome in ``keys.catalog_snapshot``: when the load completed and how many
   rows, or when and why it failed.

Every wait is bounded by ``HOOKYARD_CATALOG_WAIT_SECONDS`` (once for the operation, once for
its download). Failure, timeout or Shopify being busy return an outcome instead of raising, and
the caller looks the keys up one by one as before: a bulk query can make a batch cheaper, never
fail it. After a failure no bulk query is tried for ``HOOKYARD_CATALOG_RETRY_SECONDS``. An
operation that outlives its holder's wait keeps running in Shopify; later holders pick it up by
id, but nobody waits for it past the first holder's bound, so a long export never stalls batch
after batch (each later batch polls it once).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis

from hookyard.base import keys, metrics
from hookyard.base.errors import ShopifyBulkBusy, ShopifyError, ShopifyRejected
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.shopify.access import client_for
from hookyard.shopify.bulk import (
    BulkOperation,
    get_bulk_operation,
    iter_bulk_rows,
    start_bulk_query,
    wait_for_bulk_operation,
)
from hookyard.shopify.operations.calls import Executor
from hookyard.storage.leases import Lease

log = logging.getLogger(__name__)

LEASE_POLL_SECONDS = 0.1
BUSY_RETRY_SECONDS = 2.0
"""Pause before asking Shopify again to start a bulk query while other queries hold the slots."""
WRITE_CHUNK = 1000
"""Cache writes sent to Redis per round trip while a result file streams in."""
LOADING_TTL_SECONDS = 3600
"""A half-filled cache left by a loader that died expires after this long."""

IndexRow = Callable[[dict[str, Any]], Iterable[tuple[str, str, str]]]


@dataclass(frozen=True)
class Export:
    """One kind's snapshot: its bulk query, the caches (``keys.shopify_cache`` kinds) it
    replaces, and how a JSONL row becomes ``(cache, field, value)`` entries."""

    kind: str
    query: str
    targets: tuple[str, ...]
    index: IndexRow
    ambiguous: str | None = None
    """None: when rows give one field different values, the first row's wins (a SKU on several
    variants). Else the field holds this marker instead: a key two rows share identifies
    neither (a phone two customers have)."""
    drops: tuple[str, ...] = ()
    """Caches derived from earlier snapshots, emptied when this one is swapped in."""
    version: int = 1
    """Changes when ``index`` writes different fields; a snapshot loaded by another version is
    not fresh, so the first worker to see it loads it again."""


@dataclass(frozen=True)
class Snapshot:
    """What ``keys.catalog_snapshot`` says about a shop's export of one kind."""

    completed_at_ms: int | None = None
    rows: int = 0
    load_ms: int | None = None
    operation_id: str | None = None
    """A bulk query started and not yet loaded (running, or finished since)."""
    operation_started_ms: int | None = None
    failed_at_ms: int | None = None
    error: str | None = None
    version: int = 1
    """``Export.version`` of the loaded snapshot (1 before versions were recorded)."""

    def fresh(self, now_ms: int, refresh_seconds: int, version: int = 1) -> bool:
        return (self.completed_at_ms is not None and self.version == version
                and now_ms - self.completed_at_ms < refresh_seconds * 1000)

    def cooling_down(self, now_ms: int, retry_seconds: int) -> bool:
        return self.failed_at_ms is not None and now_ms - self.failed_at_ms < retry_seconds * 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def read_snapshot(client: redis.Redis, shop_id: str, kind: str) -> Snapshot:
    raw = {k.decode(): v.decode()
           for k, v in client.hgetall(keys.catalog_snapshot(shop_id, kind)).items()}

    def number(name: str) -> int | None:
        value = raw.get(name)
        return int(value) if value else None

    return Snapshot(completed_at_ms=number("completed_at_ms"), rows=number("rows") or 0,
                    load_ms=number("load_ms"), operation_id=raw.get("operation_id") or None,
                    operation_started_ms=number("operation_started_ms"),
                    failed_at_ms=number("failed_at_ms"), error=raw.get("error"),
                    version=number("version") or 1)


def needs_prefill(runtime: Runtime, shop: ShopConfig, kind: str, misses: int, *,
                  version: int = 1) -> bool:
    """Whether a batch missing ``misses`` mappings of ``kind`` should load a snapshot: enough
    misses for a bulk round trip to pay off, and no fresh snapshot (of ``version``) to trust."""
    minimum = runtime.settings.catalog_prefill_min_misses
    if not minimum or misses < minimum:
        return False
    snapshot = read_snapshot(runtime.state, shop.id, kind)
    return not snapshot.fresh(now_ms(), runtime.settings.catalog_refresh_seconds, version)


def ensure_snapshot(runtime: Runtime, shop: ShopConfig, export: Export, *,
                    wait_for_lease: bool = True) -> str:
    """Make ``shop``'s snapshot of ``export`` fresh if that can be done within the wait.

    Returns the outcome: ``fresh`` (already fresh, or loaded by another worker meanwhile),
    ``completed`` (loaded now), ``cooldown`` (a recent failure: not tried), ``waited`` (another
    worker held the lease for the whole wait), ``held`` (another worker held the lease and
    ``wait_for_lease`` is false: the background prefill moves on), ``timeout`` (still running
    in Shopify),
    ``failed`` (Shopify ended it without a result), ``busy`` (other bulk queries held the
    shop's slots) or ``error`` (a call or the download failed). Only a Redis failure raises.
    """
    settings, state = runtime.settings, runtime.state
    wait = settings.catalog_wait_seconds
    deadline = time.monotonic() + wait
    lease = Lease(state, keys.catalog_lease(shop.id, export.kind),
                  ttl_seconds=settings.heartbeat_timeout_seconds, wait_seconds=wait)
    while True:
        snapshot = read_snapshot(state, shop.id, export.kind)
        if snapshot.fresh(now_ms(), settings.catalog_refresh_seconds, export.version):
            return "fresh"
        if snapshot.cooling_down(now_ms(), settings.catalog_retry_seconds):
            return "cooldown"
        if lease.try_acquire():
            break
        if not wait_for_lease:
            return "held"
        if time.monotonic() > deadline:
            return "waited"
        time.sleep(LEASE_POLL_SECONDS)
    try:
        snapshot = read_snapshot(state, shop.id, export.kind)  # it may have changed meanwhile
        if snapshot.fresh(now_ms(), settings.catalog_refresh_seconds, export.version):
            return "fresh"
        if snapshot.cooling_down(now_ms(), settings.catalog_retry_seconds):
            return "cooldown"
        outcome = _load(runtime, shop, export, snapshot, deadline)
    finally:
        lease.release()
    metrics.shopify_bulk_operations_total.labels(export.kind, outcome).inc()
    return outcome


def _load(runtime: Runtime, shop: ShopConfig, export: Export, snapshot: Snapshot,
          deadline: float) -> str:
    """Run (or continue) the export and load it, holding the lease; returns the outcome."""
    settings, state = runtime.settings, runtime.state
    record = keys.catalog_snapshot(shop.id, export.kind)
    wait = settings.catalog_wait_seconds
    # A poll waits for budget at most as long as the whole load may wait.
    client = client_for(runtime, shop, max_throttle_wait_seconds=wait)
    try:
        operation = (get_bulk_operation(client, snapshot.operation_id)
                     if snapshot.operation_id else None)
        if operation is not None:
            # Left running by an earlier holder: wait only what is left of its first bound.
            started = snapshot.operation_started_ms or now_ms()
            deadline = min(deadline, time.monotonic() + (started + wait * 1000 - now_ms()) / 1000)
            started_ms = started
        else:
            operation = _start(client, export, deadline)
            started_ms = now_ms()
            state.hset(record, mapping={"operation_id": operation.id,
                                        "operation_started_ms": started_ms})
        operation = wait_for_bulk_operation(client, operation, deadline=deadline)
        if not operation.done:
            log.info("bulk export still %s after the wait; per-item lookups meanwhile",
                     operation.status, extra={"shop": shop.id, "kind": export.kind})
            return "timeout"
        if operation.status != "COMPLETED":
            code = f" ({operation.error_code})" if operation.error_code else ""
            _record_failure(state, record, f"bulk query {operation.status}{code}",
                            forget_operation=True)
            log.warning("bulk export ended %s%s; per-item lookups for %ss", operation.status,
                        code, settings.catalog_retry_seconds,
                        extra={"shop": shop.id, "kind": export.kind})
            return "failed"
        rows = _replace_caches(runtime, shop, export, operation, started_ms,
                               deadline=time.monotonic() + wait)
    except ShopifyBulkBusy as exc:
        _record_failure(state, record, str(exc))
        log.warning("bulk export: %s", exc, extra={"shop": shop.id, "kind": export.kind})
        return "busy"
    except redis.RedisError:
        raise
    except Exception as exc:
        # Per-item lookups are always a correct fallback, so no failure here may fail the batch.
        _record_failure(state, record, f"{type(exc).__name__}: {exc}"[:300])
        log.warning("bulk export failed: %s", exc, extra={"shop": shop.id, "kind": export.kind},
                    exc_info=not isinstance(exc, ShopifyError | ShopifyRejected))
        return "error"
    metrics.shopify_bulk_rows_total.labels(export.kind).inc(rows)
    log.info("bulk export loaded %d rows in %.1fs", rows, (now_ms() - started_ms) / 1000,
             extra={"shop": shop.id, "kind": export.kind})
    return "completed"


def _start(client: Executor, export: Export, deadline: float) -> BulkOperation:
    """Start (or join) the export's bulk query, asking again while other queries hold the
    shop's slots, until ``deadline`` (then ``ShopifyBulkBusy``)."""
    while True:
        try:
            operation, _joined = start_bulk_query(client, export.query)
            return operation
        except ShopifyBulkBusy:
            if time.monotonic() + BUSY_RETRY_SECONDS > deadline:
                raise
            time.sleep(BUSY_RETRY_SECONDS)


def _replace_caches(runtime: Runtime, shop: ShopConfig, export: Export,
                    operation: BulkOperation, started_ms: int, *, deadline: float) -> int:
    """Stream the result into new hashes and swap them in for the caches, with the snapshot's
    record, in one transaction; returns the rows read."""
    settings, state = runtime.settings, runtime.state
    owner = uuid.uuid4().hex
    loading = {target: keys.shopify_cache_loading(shop.id, target, owner)
               for target in export.targets}
    rows = 0
    try:
        pipe = state.pipeline(transaction=False)
        written: list[tuple[str, str, str]] = []
        for row in iter_bulk_rows(operation.url,
                                  connect_timeout_seconds=settings.shopify_timeout_seconds,
                                  read_timeout_seconds=settings.shopify_timeout_seconds,
                                  deadline=deadline):
            rows += 1
            for target, field, value in export.index(row):
                pipe.hsetnx(loading[target], field, value)  # the first row's value stays
                written.append((loading[target], field, value))
            if len(pipe) >= WRITE_CHUNK:
                _flush(state, pipe, loading.values(), written, export.ambiguous)
        _flush(state, pipe, loading.values(), written, export.ambiguous)
        filled = {target for target, key in loading.items() if state.exists(key)}
        completed = now_ms()
        swap = state.pipeline(transaction=True)
        for target, key in loading.items():
            cache = keys.shopify_cache(shop.id, target)
            if target in filled:
                swap.rename(key, cache)
                swap.persist(cache)
            else:
                swap.unlink(cache)
        for derived in export.drops:
            swap.unlink(keys.shopify_cache(shop.id, derived))
        record = keys.catalog_snapshot(shop.id, export.kind)
        swap.hset(record, mapping={"completed_at_ms": completed, "rows": rows,
                                   "load_ms": completed - started_ms,
                                   "loaded_operation_id": operation.id,
                                   "version": export.version})
        swap.hdel(record, "operation_id", "operation_started_ms", "failed_at_ms", "error")
        swap.execute()
    except BaseException:
        try:
            state.unlink(*loading.values())
        except redis.RedisError:
            pass  # the half-filled hashes expire on their own (LOADING_TTL_SECONDS)
        raise
    return rows


def _flush(state: redis.Redis, pipe: Any, loading: Iterable[str],
           written: list[tuple[str, str, str]], ambiguous: str | None) -> None:
    """Send the queued cache writes (``written``: the ``HSETNX``es among them, in order), then,
    with an ``ambiguous`` marker, put it in every field a row of another value had set first.
    Empties ``written``."""
    for key in loading:
        pipe.expire(key, LOADING_TTL_SECONDS)
    results = pipe.execute()
    if ambiguous is not None:
        kept = [entry for entry, result in zip(written, results, strict=False) if not result]
        if kept:  # a field set before: by another row (rare), so one more round trip
            check = state.pipeline(transaction=False)
            for key, field, _value in kept:
                check.hget(key, field)
            mark = state.pipeline(transaction=False)
            for (key, field, value), current in zip(kept, check.execute(), strict=True):
                if current is not None and current.decode() != value:
                    mark.hset(key, field, ambiguous)
            if len(mark):
                mark.execute()
    written.clear()


def _record_failure(state: redis.Redis, record: str, error: str, *,
                    forget_operation: bool = False) -> None:
    """Note the failure (starting the retry cool-down); ``forget_operation`` when the
    operation itself ended badly, so the next try starts a new one."""
    pipe = state.pipeline(transaction=True)
    pipe.hset(record, mapping={"failed_at_ms": now_ms(), "error": error})
    if forget_operation:
        pipe.hdel(record, "operation_id", "operation_started_ms")
    pipe.execute()
