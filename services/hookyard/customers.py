"""Customer sync: a Nhanh.vn customer's total spent, in a Shopify customer metafield.

A job is one customer of one ``customerUpdate`` delivery; its field is the Nhanh customer id.
The Shopify customer is found by mobile, then email, and cached per shop under the Nhanh id:
first in the shop's contact index (phone and email -> customer), which a bulk export of every
customer fills when a batch misses many (``hookyard.catalog``), else through lookups (many per
call); a customer Shopify does not know is not looked up again for a while. Writes use
``metafieldsSet`` (up to 25 a call; namespace and key are settings).
Coalescing rules are in ``hookyard.batching``. A customer Shopify does not know ends
``succeeded`` with result ``skipped: no mapping``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hookyard import batching, catalog, keys, metrics
from hookyard.negative_cache import NegativeCache
from hookyard.runtime import Runtime
from hookyard.settings import ShopConfig
from hookyard.shopify.operations import (
    MAX_METAFIELDS,
    MetafieldInput,
    find_customers,
    set_metafields,
)
from hookyard.shopify_access import client_for

KIND = "customer"
MAX_JOBS_PER_BATCH = 100
LOOKUP_CHUNK = 10
PHONE_INDEX = "customer-phone"
"""``keys.shopify_cache`` kind: ``phone_key`` of a Shopify customer's phone -> its GID."""
EMAIL_INDEX = "customer-email"
"""``keys.shopify_cache`` kind: lowercased email -> Shopify customer GID."""


@dataclass
class Entry:
    job_id: str
    seq: int
    nhanh_id: str
    mobile: str | None
    email: str | None
    total_spent: str
    customer: str | None = None
    outcome: str = "pending"
    before: str | None = None


TOTAL_SPENT_DECIMALS = Decimal("1e-9")
"""``number_decimal`` keeps at most 9 digits after the point."""


def decimal_text(value: int | float) -> str:
    """``totalSpent`` as ``number_decimal`` text: an integer as is; a float in plain digits
    (never an exponent, as Python writes ``1e-05``), rounded to 9 decimals when its shortest
    form has more (``0.30000000000000004`` -> ``0.3``)."""
    text = repr(value)
    if isinstance(value, int) or ("e" not in text and len(text.partition(".")[2]) <= 9):
        return text
    plain = format(Decimal(text).quantize(TOTAL_SPENT_DECIMALS), "f").rstrip("0").rstrip(".")
    return "0" if plain == "-0" else plain


def phone_key(phone: str | None) -> str | None:
    """Last 9 digits: Nhanh sends 0912..., Shopify stores +84912..."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-9:] if len(digits) >= 9 else None


def phone_forms(phone: str) -> list[str]:
    """The number as sent and in E.164 (Vietnamese 0xxxxxxxxx -> +84xxxxxxxxx), for lookups."""
    forms = [phone]
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0") and len(digits) == 10:
        forms.append("+84" + digits[1:])
    elif digits.startswith("84") and not phone.startswith("+"):
        forms.append("+" + digits)
    return forms


def _index_customer(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A ``customers`` export row as contact index entries, normalised like the lookups."""
    entries = []
    phone, email = phone_key(row.get("phone")), (row.get("email") or "").lower()
    if phone:
        entries.append((PHONE_INDEX, phone, str(row["id"])))
    if email:
        entries.append((EMAIL_INDEX, email, str(row["id"])))
    return entries


CUSTOMER_EXPORT = catalog.Export(
    kind=KIND, query="{ customers { edges { node { id email phone } } } }",
    targets=(PHONE_INDEX, EMAIL_INDEX), index=_index_customer)


def sync_customer(runtime: Runtime, record: dict[str, Any]) -> Any:
    return batching.run_batched(runtime, record, kind=KIND, max_jobs=MAX_JOBS_PER_BATCH,
                                apply=apply_customers)


def _resolve(runtime: Runtime, shop: ShopConfig, client: Any, entries: list[Entry]) -> None:
    cache = keys.shopify_cache(shop.id, KIND)
    ids = sorted({e.nhanh_id for e in entries})
    cached = dict(zip(ids, runtime.state.hmget(cache, ids), strict=True)) if ids else {}
    for entry in entries:
        value = cached.get(entry.nhanh_id)
        entry.customer = value.decode() if value is not None else None
    unresolved = [e for e in entries if e.customer is None and (e.mobile or e.email)]
    misses = NegativeCache(runtime.state, keys.mapping_misses(shop.id, KIND),
                           ttl_seconds=runtime.settings.mapping_negative_ttl_seconds)
    unknown = misses.known_missing(_miss_key(e) for e in unresolved)
    unresolved = [e for e in unresolved if _miss_key(e) not in unknown]
    if not unresolved:
        return
    if catalog.needs_prefill(runtime, shop, KIND, len({e.nhanh_id for e in unresolved})):
        catalog.ensure_snapshot(runtime, shop, CUSTOMER_EXPORT)
    learned = _from_index(runtime, shop, unresolved)
    unresolved = [e for e in unresolved if e.customer is None]
    not_found: list[str] = []
    for start in range(0, len(unresolved), LOOKUP_CHUNK):
        chunk = unresolved[start : start + LOOKUP_CHUNK]
        phones = [form for e in chunk if e.mobile for form in phone_forms(e.mobile)]
        matches = find_customers(client, phones=phones,
                                 emails=[e.email for e in chunk if e.email],
                                 first=min(250, 2 * len(chunk)))
        by_phone = {phone_key(m.get("phone")): m["id"] for m in matches if m.get("phone")}
        by_email = {(m.get("email") or "").lower(): m["id"] for m in matches if m.get("email")}
        for entry in chunk:
            found = by_phone.get(phone_key(entry.mobile)) if entry.mobile else None
            found = found or (by_email.get(entry.email.lower()) if entry.email else None)
            if found:
                entry.customer = str(found)
                learned[entry.nhanh_id] = entry.customer
            elif entry.nhanh_id not in learned:
                not_found.append(_miss_key(entry))
    if learned:
        runtime.state.hset(cache, mapping=learned)
    misses.add(not_found)
    for entry in entries:
        entry.customer = entry.customer or learned.get(entry.nhanh_id)


def _miss_key(entry: Entry) -> str:
    """A customer not found is remembered with the contact it was looked up by, so new
    contact details are looked up again at once."""
    return f"{entry.nhanh_id}|{entry.mobile or ''}|{(entry.email or '').lower()}"


def _from_index(runtime: Runtime, shop: ShopConfig, entries: list[Entry]) -> dict[str, str]:
    """Resolve ``entries`` from the contact index (phone first, then email, as the lookups);
    sets ``entry.customer`` and returns Nhanh id -> customer GID for those found."""
    phones = [phone_key(e.mobile) or "" for e in entries]
    emails = [(e.email or "").lower() for e in entries]
    pipe = runtime.state.pipeline(transaction=False)
    pipe.hmget(keys.shopify_cache(shop.id, PHONE_INDEX), phones)
    pipe.hmget(keys.shopify_cache(shop.id, EMAIL_INDEX), emails)
    by_phone, by_email = pipe.execute()
    learned: dict[str, str] = {}
    for entry, phone, phone_hit, email, email_hit in zip(entries, phones, by_phone, emails,
                                                          by_email, strict=True):
        hit = (phone_hit if phone else None) or (email_hit if email else None)
        if hit is not None:
            entry.customer = hit.decode()
            learned[entry.nhanh_id] = entry.customer
    return learned


def apply_customers(runtime: Runtime, shop: ShopConfig,
                    records: list[dict[str, Any]]) -> dict[str, batching.ItemOutcome]:
    entries = []
    for record in records:
        customer = record["payload"]["item"]
        entries.append(Entry(job_id=record["id"], seq=int(record.get("seq") or 0),
                             nhanh_id=str(customer["id"]), mobile=customer.get("mobile"),
                             email=customer.get("email"),
                             total_spent=decimal_text(customer["totalSpent"])))
    client = client_for(runtime, shop)
    _resolve(runtime, shop, client, entries)
    versions = batching.field_versions(runtime, shop, KIND, sorted({e.nhanh_id for e in entries}))
    newest: dict[str, Entry] = {}
    for entry in entries:
        accepted, applied, value = versions[entry.nhanh_id]
        entry.before = value
        if entry.customer is None:
            entry.outcome = "skipped_no_mapping"
        else:
            batching.coalesce(entry, entry.nhanh_id, accepted, applied, newest)
    to_write = [e for e in newest.values() if e.outcome == "applied"]
    settings = runtime.settings
    for start in range(0, len(to_write), MAX_METAFIELDS):
        chunk = to_write[start : start + MAX_METAFIELDS]
        set_metafields(client, [
            MetafieldInput(owner_id=str(e.customer),
                           namespace=settings.customer_metafield_namespace,
                           key=settings.customer_metafield_key, value=e.total_spent,
                           type="number_decimal")
            for e in chunk])
        batching.record_applied(runtime, shop, KIND,
                                {e.nhanh_id: (e.seq, e.total_spent) for e in chunk})
    for entry in entries:
        metrics.sync_items_total.labels(KIND, entry.outcome).inc()
    outcomes = {}
    for entry in entries:
        log = {"nhanh_id": entry.nhanh_id, "customer": entry.customer, "before": entry.before,
               "after": entry.total_spent, "outcome": entry.outcome}
        if entry.outcome == "applied":
            outcomes[entry.job_id] = batching.ItemOutcome("succeeded", {"items": [log]})
        elif entry.outcome == "superseded":
            outcomes[entry.job_id] = batching.ItemOutcome("superseded", {"items": [log]})
        else:
            outcomes[entry.job_id] = batching.ItemOutcome(
                "succeeded", {"skipped": "no mapping", "items": [log]})
    return outcomes
