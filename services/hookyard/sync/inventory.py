"""Inventory sync: Nhanh.vn absolute quantities per depot, set in Shopify in batches.

A job is one product of one ``inventoryChange`` delivery; its fields are ``<product>@<depot>``.
Mapping: an explicit ``inventory_items`` entry of the shop (by Nhanh product id or code) wins;
else the product's ``code`` (else its id) is the Shopify SKU, resolved to an inventory item
from the shop's cache, which a bulk export of every variant fills when a batch misses many
(``hookyard.sync.catalog``), else through per-SKU lookups (many SKUs per call); a SKU Shopify
does not know is not looked up again for a while. Depots map to locations through the shop's
settings.
Writes use ``inventorySetQuantities`` (name ``available``, up to 250 quantities
a call, an ``@idempotent`` key derived from what is written, so a retry of the same write is
applied once). Coalescing rules are in ``hookyard.sync.batching``. An item with no mapping ends
``succeeded`` with result ``skipped: no mapping`` and is counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from hookyard.base import keys, metrics
from hookyard.base.queues import INVENTORY_KIND
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.shopify.access import client_for
from hookyard.shopify.operations.inventory import (
    MAX_INVENTORY_QUANTITIES,
    InventoryQuantity,
    find_inventory_items_by_sku,
    set_inventory_quantities,
)
from hookyard.sync import batching, catalog
from hookyard.sync.negative_cache import NegativeCache

KIND = INVENTORY_KIND
MAX_JOBS_PER_BATCH = 250
ITEM_CACHE = "inventory-item"


@dataclass
class Entry:
    job_id: str
    product_id: str
    seq: int
    field: str
    sku: str
    depot: str
    location: str | None
    quantity: int
    inventory_item: str | None = None
    outcome: str = "pending"
    before: str | None = None


def sync_inventory_item(runtime: Runtime, record: dict[str, Any]) -> Any:
    return batching.run_batched(runtime, record, kind=KIND, max_jobs=MAX_JOBS_PER_BATCH,
                                apply=apply_inventory)


def _entries(shop: ShopConfig, records: list[dict[str, Any]]) -> list[Entry]:
    entries = []
    for record in records:
        item = record["payload"]["item"]
        sku = str(item.get("code") or item["id"])
        for depot, quantities in sorted((item.get("depots") or {}).items()):
            available = quantities.get("available") if isinstance(quantities, dict) else None
            entries.append(Entry(job_id=record["id"], product_id=str(item["id"]),
                                 seq=int(record.get("seq") or 0),
                                 field=f"{item['id']}@{depot}", sku=sku, depot=depot,
                                 location=shop.depots.get(depot),
                                 quantity=int(available or 0)))
    return entries


def _index_variant(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A ``productVariants`` export row as a cache entry: SKU -> inventory item GID."""
    sku, item = row.get("sku"), (row.get("inventoryItem") or {}).get("id")
    return [(ITEM_CACHE, str(sku), str(item))] if sku and item else []


INVENTORY_EXPORT = catalog.Export(
    kind=KIND, query="{ productVariants { edges { node { id sku inventoryItem { id } } } } }",
    targets=(ITEM_CACHE,), index=_index_variant)


def _cached(runtime: Runtime, cache: str, skus: list[str]) -> dict[str, str]:
    values = runtime.state.hmget(cache, skus) if skus else []
    return {sku: value.decode() for sku, value in zip(skus, values, strict=True)
            if value is not None}


def _resolve(runtime: Runtime, shop: ShopConfig, client: Any, skus: list[str]) -> dict[str, str]:
    """SKU -> inventory item GID for the SKUs Shopify knows.

    From the cache; when many are missing and the shop has no fresh snapshot, after loading one
    (``catalog.ensure_snapshot``); the rest through per-SKU lookups, whose misses are
    remembered for ``HOOKYARD_MAPPING_NEGATIVE_TTL_SECONDS``.
    """
    cache = keys.shopify_cache(shop.id, ITEM_CACHE)
    wanted = sorted(set(skus))
    found = _cached(runtime, cache, wanted)
    misses = NegativeCache(runtime.state, keys.mapping_misses(shop.id, KIND),
                           ttl_seconds=runtime.settings.mapping_negative_ttl_seconds)
    unknown = misses.known_missing(sku for sku in wanted if sku not in found)
    missing = [sku for sku in wanted if sku not in found and sku not in unknown]
    if catalog.needs_prefill(runtime, shop, KIND, len(missing)):
        catalog.ensure_snapshot(runtime, shop, INVENTORY_EXPORT)
        found.update(_cached(runtime, cache, missing))
        missing = [sku for sku in missing if sku not in found]
    if missing:
        looked_up = find_inventory_items_by_sku(client, missing)
        if looked_up:
            runtime.state.hset(cache, mapping=looked_up)
        misses.add(sku for sku in missing if sku not in looked_up)
        found.update(looked_up)
    return found


def apply_inventory(runtime: Runtime, shop: ShopConfig,
                    records: list[dict[str, Any]]) -> dict[str, batching.ItemOutcome]:
    entries = _entries(shop, records)
    client = client_for(runtime, shop)
    mapped = [e for e in entries if e.location and e.product_id not in shop.inventory_items
              and e.sku not in shop.inventory_items]
    items = _resolve(runtime, shop, client, [e.sku for e in mapped]) if mapped else {}
    versions = batching.field_versions(runtime, shop, KIND, sorted({e.field for e in entries}))
    newest: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        accepted, applied, value = versions[entry.field]
        entry.before = value
        entry.inventory_item = (shop.inventory_items.get(entry.product_id)
                                or shop.inventory_items.get(entry.sku) or items.get(entry.sku))
        if entry.location is None or entry.inventory_item is None:
            entry.outcome = "skipped_no_mapping"
        else:
            batching.coalesce(entry, (entry.inventory_item, entry.location), accepted, applied,
                              newest)
    to_write = [e for e in newest.values() if e.outcome == "applied"]
    for start in range(0, len(to_write), MAX_INVENTORY_QUANTITIES):
        chunk = to_write[start : start + MAX_INVENTORY_QUANTITIES]
        quantities = [InventoryQuantity(inventory_item_id=str(e.inventory_item),
                                        location_id=str(e.location), quantity=e.quantity)
                      for e in chunk]
        set_inventory_quantities(client, quantities, idempotency_key=_idempotency_key(chunk),
                                 reference_document_uri=f"hookyard://jobs/{chunk[0].job_id}")
        batching.record_applied(runtime, shop, KIND,
                                {e.field: (e.seq, str(e.quantity)) for e in chunk})
    for entry in entries:
        metrics.sync_items_total.labels(KIND, entry.outcome).inc()
    return {record["id"]: _outcome([e for e in entries if e.job_id == record["id"]])
            for record in records}


def _idempotency_key(chunk: list[Entry]) -> str:
    """Same writes, same key: a retry of this chunk is applied once by Shopify."""
    digest = hashlib.sha256()
    for entry in sorted(chunk, key=lambda e: (e.inventory_item or "", e.location or "")):
        digest.update(f"{entry.inventory_item}|{entry.location}|{entry.quantity}|{entry.seq}\n"
                      .encode())
    return f"hookyard-inv-{digest.hexdigest()[:48]}"


def _outcome(entries: list[Entry]) -> batching.ItemOutcome:
    log = [{"sku": e.sku, "depot": e.depot, "inventory_item": e.inventory_item,
            "location": e.location, "before": e.before, "after": e.quantity,
            "outcome": e.outcome} for e in entries]
    outcomes = {e.outcome for e in entries}
    if "applied" in outcomes:
        return batching.ItemOutcome("succeeded", {"items": log})
    if outcomes == {"superseded"}:
        return batching.ItemOutcome("superseded", {"items": log})
    if not entries or outcomes <= {"skipped_no_mapping", "superseded"}:
        return batching.ItemOutcome("succeeded", {"skipped": "no mapping", "items": log})
    return batching.ItemOutcome("succeeded", {"items": log})
