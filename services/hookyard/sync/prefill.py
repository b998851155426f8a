"""Background prefill: sync workers load mapping snapshots before traffic needs them.

A batch that misses many mappings loads its shop's snapshot itself (``hookyard.sync.catalog``), and
then waits for the export (a few seconds on a small shop, more on a large one) before it can
write anything. So every customer-sync and inventory-sync worker also runs one daemon thread
that, when the worker starts and whenever a snapshot of its kind comes due, calls
``catalog.ensure_snapshot`` for each configured shop without a fresh one:

- One replica per shop and kind exports: the thread takes the catalogue lease without waiting
  (``wait_for_lease=False``); a replica that finds it held moves on to the next shop. A batch
  that needs the snapshot meanwhile waits for the holder, as it would for another batch.
- The export spends the shop's shared rate budget like any call (10 points, 1 per poll).
- It never blocks the worker's consumers and never stops the worker: every outcome is logged and
  counted (``hookyard_catalog_prefills_total``); anything but ``completed`` leaves the reactive
  path (and per-key lookups) exactly as it was.

A shop comes due when its snapshot turns stale (``HOOKYARD_CATALOG_REFRESH_SECONDS`` after it
completed), when a failure's cool-down ends (``HOOKYARD_CATALOG_RETRY_SECONDS``), or, while
another worker holds the lease or the export is still running in Shopify, after
``HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS`` (by then a dead holder's lease has lapsed). The shops are
visited one after another: with several replicas the leases spread them.
``HOOKYARD_CATALOG_PREFILL_ON_START=false`` turns the thread off.
"""

from __future__ import annotations

import logging
import threading
import time

from hookyard.base import metrics
from hookyard.base.queues import CUSTOMER_SYNC, INVENTORY_SYNC
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.sync import catalog
from hookyard.sync.customers import CUSTOMER_EXPORT
from hookyard.sync.inventory import INVENTORY_EXPORT

log = logging.getLogger(__name__)

EXPORTS = {CUSTOMER_SYNC: CUSTOMER_EXPORT, INVENTORY_SYNC: INVENTORY_EXPORT}
"""The snapshot each sync queue's worker keeps loaded."""
MIN_PAUSE_SECONDS = 1.0
"""Shortest pause between two passes, so a clock step or an odd record cannot make it spin."""
STOP_JOIN_SECONDS = 1.0
"""How long ``stop`` waits for the thread: an export under way is abandoned, not awaited (its
lease lapses and the next holder continues the operation by id)."""


def prefiller_for(runtime: Runtime, queue: str) -> SnapshotPrefiller | None:
    """The background prefill of ``queue``'s worker, or None: not a sync queue, turned off
    (``HOOKYARD_CATALOG_PREFILL_ON_START``), or no shop that uses the queue's snapshot."""
    export = EXPORTS.get(queue)
    if export is None or not runtime.settings.catalog_prefill_on_start:
        return None
    prefiller = SnapshotPrefiller(runtime, export)
    return prefiller if prefiller.shops else None


def uses_snapshot(shop: ShopConfig, export: catalog.Export) -> bool:
    """Whether ``shop``'s syncs can use ``export``: an inventory item is written only at a
    location its depot maps to, so a shop without depots never resolves a SKU."""
    return bool(shop.depots) if export is INVENTORY_EXPORT else True


class SnapshotPrefiller:
    """Keeps one kind's snapshot fresh for every configured shop, on a daemon thread."""

    def __init__(self, runtime: Runtime, export: catalog.Export) -> None:
        self.runtime = runtime
        self.export = export
        self.shops = [s for s in runtime.settings.shops if uses_snapshot(s, export)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"hookyard-prefill-{export.kind}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = STOP_JOIN_SECONDS) -> None:
        """Stop after the shop under way (waiting for it at most ``timeout``)."""
        self._stop.set()
        self._thread.join(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> dict[str, str]:
        """One pass: ``ensure_snapshot`` for every shop without a fresh snapshot; returns the
        outcome by shop id. Never raises: a failure is the outcome ``error``."""
        outcomes = {}
        for shop in self.shops:
            if self._stop.is_set():
                break
            outcomes[shop.id] = self._prefill(shop)
        return outcomes

    def seconds_until_due(self) -> float:
        """Until the first shop comes due again (at least ``MIN_PAUSE_SECONDS``)."""
        settings, state = self.runtime.settings, self.runtime.state
        now = catalog.now_ms()
        due = []
        for shop in self.shops:
            snapshot = catalog.read_snapshot(state, shop.id, self.export.kind)
            if snapshot.completed_at_ms and snapshot.fresh(now, settings.catalog_refresh_seconds,
                                                           self.export.version):
                due.append(snapshot.completed_at_ms + settings.catalog_refresh_seconds * 1000)
            elif snapshot.failed_at_ms and snapshot.cooling_down(now,
                                                                 settings.catalog_retry_seconds):
                due.append(snapshot.failed_at_ms + settings.catalog_retry_seconds * 1000)
            else:  # held elsewhere or still running in Shopify: look again after a heartbeat
                due.append(now + settings.heartbeat_timeout_seconds * 1000)
        return max(MIN_PAUSE_SECONDS, (min(due) - now) / 1000)

    def _prefill(self, shop: ShopConfig) -> str:
        kind = self.export.kind
        started = time.monotonic()
        try:
            outcome = catalog.ensure_snapshot(self.runtime, shop, self.export,
                                              wait_for_lease=False)
        except Exception:
            # Redis, most likely: the worker's jobs cannot run either, and the next pass retries.
            log.warning("snapshot prefill failed; the reactive path remains",
                        extra={"shop": shop.id, "kind": kind}, exc_info=True)
            outcome = "error"
        metrics.catalog_prefills_total.labels(kind, outcome).inc()
        if outcome not in ("fresh", "held"):
            log.info("snapshot prefill %s in %.1fs", outcome, time.monotonic() - started,
                     extra={"shop": shop.id, "kind": kind})
        return outcome

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            try:
                pause = self.seconds_until_due()
            except Exception:
                log.warning("snapshot prefill could not read the snapshots; trying again",
                            exc_info=True)
                pause = float(self.runtime.settings.heartbeat_timeout_seconds)
            self._stop.wait(pause)
