"""Inventory sync: Nhanh.vn absolute quantities per depot, set in Shopify in batches.

A job is one product of one ``inventoryChange`` delivery; its fields are ``<product>@<depot>``.
Mapping: an explicit ``inventory_items`` entry of the shop (by Nhanh product id or code) wins;
else the product's ``code`` (else its id) is the Shopify SKU, resolved to an inventory item
through the API (many SKUs per lookup) and cached per shop; depots map to locations through the
shop's settings. Writes use ``inventorySetQuantities`` (name ``available``, up to 250 quantities
a call, an ``@idempotent`` key derived from what is written, so a retry of the same write is
applied once). Coalescing rules are in ``hookyard.batching``. An item with no mapping ends
``succeeded`` with result ``skipped: no mapping`` and is counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from hookyard import batching, keys, metrics
from hookyard.runtime import Runtime
from hookyard.settings import ShopConfig
from hookyard.shopify.operations import (
    MAX_INVENTORY_QUANTITIES,
    InventoryQuantity,
    find_inventory_items_by_sku,
    set_inventory_quantities,
)
from hookyard.shopify_access import client_for

KIND = "inventory"
MAX_JOBS_PER_BATCH = 250


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


def _resolve(runtime: Runtime, shop: ShopConfig, client: Any, skus: list[str]) -> dict[str, str]:
    cache = keys.shopify_cache(shop.id, "inventory-item")
    wanted = sorted(set(skus))
    cached = dict(zip(wanted, runtime.state.hmget(cache, wanted), strict=True)) if wanted else {}
    found = {sku: value.decode() for sku, value in cached.items() if value is not None}
    missing = [sku for sku in wanted if sku not in found]
    if missing:
        looked_up = find_inventory_items_by_sku(client, missing)
        if looked_up:
            runtime.state.hset(cache, mapping=looked_up)
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
