"""Customer sync: a Nhanh.vn customer's total spent, in a Shopify customer metafield.

A job is one customer of one delivery; its field is the Nhanh customer id. A ``customerUpdate``
job carries the total; an order event's job reads it from Nhanh's customer API when its batch
runs (``_entries``). Either way the value goes through the same newest-wins batch.
Writes use ``metafieldsSet`` (up to 25 a call; namespace and key are settings). Coalescing rules
are in ``hookyard.sync.batching``.

**Matching never guesses.** The customer's contacts (its mobile in E.164 and its email,
lowercased: ``hookyard.sync.contacts``) are each resolved to the Shopify customers that have exactly
that phone or email: from the shop's contact index (filled by a bulk export of every customer,
``hookyard.sync.catalog``, which marks a phone or email two customers share as ambiguous), else from
the negative caches (recently not found, or found on several customers), else by lookups
(Shopify's search, many contacts per call, every page read, only exact matches kept). The
customer is written only when its contacts point to exactly one Shopify customer between them.
Otherwise the job ends ``succeeded`` with ``skipped`` and a ``reason``: ``no mapping`` (nobody
has them, or the mobile cannot be normalised) or ``ambiguous match`` (a contact several
customers have, or a phone and an email of different customers). A match is cached under the
Nhanh id *and* the contacts it was made by, so new contact details are matched afresh; a new
snapshot empties that cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hookyard.base import keys, metrics
from hookyard.base.queues import CUSTOMER_KIND
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.nhanh.customers import read_customers
from hookyard.nhanh.webhooks.jobs import READ_TOTAL
from hookyard.shopify.access import client_for
from hookyard.shopify.operations.calls import MAX_PAGE_SIZE, Executor
from hookyard.shopify.operations.customers import search_customers
from hookyard.shopify.operations.metafields import MAX_METAFIELDS, MetafieldInput, set_metafields
from hookyard.sync import batching, catalog
from hookyard.sync.contacts import e164, email_key
from hookyard.sync.negative_cache import NegativeCache

KIND = CUSTOMER_KIND
MAX_JOBS_PER_BATCH = 100
LOOKUP_CHUNK = 20
"""Contacts (phones and emails) looked up per Shopify search."""
PHONE_INDEX = "customer-phone"
"""``keys.shopify_cache`` kind: a Shopify customer's phone in E.164 -> its GID (or
``AMBIGUOUS``)."""
EMAIL_INDEX = "customer-email"
"""``keys.shopify_cache`` kind: lowercased email -> Shopify customer GID (or ``AMBIGUOUS``)."""
AMBIGUOUS = "ambiguous"
"""What a contact several Shopify customers have resolves to (never a GID)."""
NO_MATCH = ""
"""What a contact no Shopify customer has resolves to."""
UNREAD = "unread"
"""A contact whose search answered more customers than one lookup reads: not matched."""
SKIPPED = {"skipped_no_mapping": "no mapping", "skipped_ambiguous_match": "ambiguous match",
           "skipped_not_in_nhanh": "not in nhanh"}
"""Outcome of an entry that writes nothing -> the job result's ``skipped``."""


@dataclass
class Entry:
    job_id: str
    seq: int
    nhanh_id: str
    mobile: str | None
    """As sent."""
    email: str | None
    """As sent."""
    total_spent: str
    customer: str | None = None
    outcome: str = "pending"
    reason: str | None = None
    before: str | None = None
    read_from_nhanh: bool = False
    """The total was read from Nhanh's customer API (an order event), not sent."""

    @property
    def phone(self) -> str | None:
        return e164(self.mobile)

    @property
    def contacts(self) -> list[str]:
        """The contacts matched by: ``phone:<E.164>`` and ``email:<lowercased>``."""
        phone, email = self.phone, email_key(self.email)
        return ([f"phone:{phone}"] if phone else []) + ([f"email:{email}"] if email else [])

    @property
    def match_key(self) -> str:
        """The Nhanh id with the contacts a match was made by (the match cache's field)."""
        return f"{self.nhanh_id}|{self.phone or ''}|{email_key(self.email) or ''}"


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


def _index_customer(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A ``customers`` export row as contact index entries. Shopify stores phones in E.164, so a
    stored phone is never read as a national number."""
    entries = []
    phone, email = e164(row.get("phone"), national=False), email_key(row.get("email"))
    if phone:
        entries.append((PHONE_INDEX, phone, str(row["id"])))
    if email:
        entries.append((EMAIL_INDEX, email, str(row["id"])))
    return entries


CUSTOMER_EXPORT = catalog.Export(
    kind=KIND, query="{ customers { edges { node { id email phone } } } }",
    targets=(PHONE_INDEX, EMAIL_INDEX), index=_index_customer, ambiguous=AMBIGUOUS,
    drops=(KIND,), version=2)
"""Version 2: phones in E.164 and shared contacts marked (version 1 keyed phones by their last 9
digits, so ``0912...`` of one country met ``+44912...`` of another)."""


def sync_customer(runtime: Runtime, record: dict[str, Any]) -> Any:
    return batching.run_batched(runtime, record, kind=KIND, max_jobs=MAX_JOBS_PER_BATCH,
                                apply=apply_customers)


def _resolve(runtime: Runtime, shop: ShopConfig, client: Executor, entries: list[Entry]) -> None:
    """Set each entry's ``customer``, or its skip ``outcome`` and ``reason``."""
    usable = []
    for entry in entries:
        if entry.contacts:
            usable.append(entry)
        else:
            _skip(entry, "skipped_no_mapping", _no_contact_reason(entry))
    cache = keys.shopify_cache(shop.id, KIND)
    match_keys = sorted({e.match_key for e in usable})
    cached = dict(zip(match_keys, runtime.state.hmget(cache, match_keys), strict=True)) \
        if match_keys else {}
    pending = []
    for entry in usable:
        hit = cached.get(entry.match_key)
        if hit is not None:
            entry.customer = hit.decode()
        else:
            pending.append(entry)
    if not pending:
        return
    known = _from_index(runtime, shop, {c for e in pending for c in e.contacts})
    ttl = runtime.settings.mapping_negative_ttl_seconds
    misses = NegativeCache(runtime.state, keys.mapping_misses(shop.id, KIND), ttl_seconds=ttl)
    shared = NegativeCache(runtime.state, keys.mapping_ambiguities(shop.id, KIND),
                           ttl_seconds=ttl)
    unknown = _still_unknown(pending, known)
    known.update(dict.fromkeys(misses.known_missing(unknown), NO_MATCH))
    known.update(dict.fromkeys(shared.known_missing(unknown), AMBIGUOUS))
    unknown = _still_unknown(pending, known)
    if catalog.needs_prefill(runtime, shop, KIND, len(unknown),
                             version=CUSTOMER_EXPORT.version):
        catalog.ensure_snapshot(runtime, shop, CUSTOMER_EXPORT)
        known.update(_from_index(runtime, shop, set(unknown)))
        unknown = _still_unknown(pending, known)
    if unknown:
        found = look_up_contacts(client, unknown)
        known.update(found)
        misses.add(c for c, match in found.items() if match == NO_MATCH)
        shared.add(c for c, match in found.items() if match == AMBIGUOUS)
    learned = {}
    for entry in pending:
        _decide(entry, known)
        if entry.customer is not None:
            learned[entry.match_key] = entry.customer
    if learned:
        runtime.state.hset(cache, mapping=learned)


def _still_unknown(entries: list[Entry], known: Mapping[str, str]) -> list[str]:
    """Contacts not resolved yet, of entries not already ambiguous through another contact."""
    wanted: dict[str, None] = {}
    for entry in entries:
        if any(known.get(c) in (AMBIGUOUS, UNREAD) for c in entry.contacts):
            continue
        wanted.update((c, None) for c in entry.contacts if c not in known)
    return sorted(wanted)


def _from_index(runtime: Runtime, shop: ShopConfig, contacts: Iterable[str]) -> dict[str, str]:
    """The contacts the contact index knows: contact -> customer GID or ``AMBIGUOUS``."""
    phones = sorted(c for c in contacts if c.startswith("phone:"))
    emails = sorted(c for c in contacts if c.startswith("email:"))
    if not phones and not emails:
        return {}
    pipe = runtime.state.pipeline(transaction=False)
    pipe.hmget(keys.shopify_cache(shop.id, PHONE_INDEX), [c[6:] for c in phones] or [""])
    pipe.hmget(keys.shopify_cache(shop.id, EMAIL_INDEX), [c[6:] for c in emails] or [""])
    by_phone, by_email = pipe.execute()
    return {contact: hit.decode()
            for contact, hit in [*zip(phones, by_phone, strict=False),
                                 *zip(emails, by_email, strict=False)]
            if hit is not None}


def look_up_contacts(client: Executor, contacts: list[str]) -> dict[str, str]:
    """Each contact -> the one Shopify customer with exactly that phone or email, ``NO_MATCH``,
    ``AMBIGUOUS`` or ``UNREAD``. Shopify's search may answer more than exact matches, so every
    page is read and only exact ones count."""
    resolved: dict[str, str] = {}
    for start in range(0, len(contacts), LOOKUP_CHUNK):
        chunk = contacts[start:start + LOOKUP_CHUNK]
        search = search_customers(
            client, phones=[c[6:] for c in chunk if c.startswith("phone:")],
            emails=[c[6:] for c in chunk if c.startswith("email:")],
            first=min(MAX_PAGE_SIZE, 2 * len(chunk)))
        holders: dict[str, set[str]] = {c: set() for c in chunk}
        for customer in search.customers:
            for contact in _contacts_of(customer):
                if contact in holders:
                    holders[contact].add(str(customer["id"]))
        for contact, ids in holders.items():
            if len(ids) > 1:
                resolved[contact] = AMBIGUOUS
            elif not search.complete:
                resolved[contact] = UNREAD
            else:
                resolved[contact] = ids.pop() if ids else NO_MATCH
    return resolved


def _contacts_of(customer: Mapping[str, Any]) -> list[str]:
    """A Shopify customer's contacts, normalised as ``Entry.contacts``."""
    phone = e164(customer.get("phone"), national=False)
    email = email_key(customer.get("email"))
    return ([f"phone:{phone}"] if phone else []) + ([f"email:{email}"] if email else [])


def _decide(entry: Entry, known: Mapping[str, str]) -> None:
    """Match ``entry`` if its contacts resolve to one customer between them, else skip it."""
    matches = {c: known.get(c, NO_MATCH) for c in entry.contacts}
    for contact, match in matches.items():
        if match == AMBIGUOUS:
            return _skip(entry, "skipped_ambiguous_match",
                         f"{_describe(contact)} belongs to more than one Shopify customer; "
                         "Hookyard does not guess which (give each a distinct one in Shopify)")
        if match == UNREAD:
            return _skip(entry, "skipped_ambiguous_match",
                         f"Shopify's search for {_describe(contact)} answered more customers "
                         "than one lookup reads; not matched")
    ids = {match for match in matches.values() if match != NO_MATCH}
    if len(ids) > 1:
        return _skip(entry, "skipped_ambiguous_match",
                     " and ".join(_describe(c) for c in matches) + " belong to different "
                     "Shopify customers; Hookyard does not guess which")
    if ids:
        entry.customer = ids.pop()
        return None
    reason = "no Shopify customer has " + " or ".join(_describe(c) for c in matches)
    if entry.mobile and entry.phone is None:
        reason += "; " + _no_contact_reason(entry)
    return _skip(entry, "skipped_no_mapping", reason)


def _skip(entry: Entry, outcome: str, reason: str) -> None:
    entry.customer, entry.outcome, entry.reason = None, outcome, reason


def _describe(contact: str) -> str:
    kind, _, value = contact.partition(":")
    return f"{kind} {value}"


def _no_contact_reason(entry: Entry) -> str:
    if entry.mobile and entry.phone is None:
        return (f"mobile {entry.mobile!r} cannot be read as one phone number (E.164 '+<country>"
                "...' or Vietnamese '0...', docs/sync.md), so it matches nobody")
    return "no mobile or email to match by"


def _entries(runtime: Runtime, shop: ShopConfig,
             records: list[dict[str, Any]]) -> tuple[list[Entry], list[Entry]]:
    """The batch's entries, and those of customers Nhanh did not answer for (skipped).

    A job from an order event carries no total (``READ_TOTAL``): the batch reads the current
    total and mobile of each such customer from Nhanh's customer API, once per customer however
    many of its jobs the batch holds. The read starts after every claimed job was accepted, so
    it reflects each of their orders."""
    to_read = sorted({str(r["payload"]["item"]["id"]) for r in records
                      if r["payload"].get(READ_TOTAL)})
    read = read_customers(runtime, shop, to_read) if to_read else {}
    entries, unknown = [], []
    for record in records:
        item, seq = record["payload"]["item"], int(record.get("seq") or 0)
        nhanh_id = str(item["id"])
        if not record["payload"].get(READ_TOTAL):
            entries.append(Entry(job_id=record["id"], seq=seq, nhanh_id=nhanh_id,
                                 mobile=item.get("mobile"), email=item.get("email"),
                                 total_spent=decimal_text(item["totalSpent"])))
        elif (customer := read.get(nhanh_id)) is not None:
            entries.append(Entry(job_id=record["id"], seq=seq, nhanh_id=nhanh_id,
                                 mobile=customer.mobile, email=None,
                                 total_spent=decimal_text(customer.total_amount),
                                 read_from_nhanh=True))
        else:
            entry = Entry(job_id=record["id"], seq=seq, nhanh_id=nhanh_id, mobile=None,
                          email=None, total_spent="", read_from_nhanh=True)
            _skip(entry, "skipped_not_in_nhanh", f"Nhanh's customer API does not know customer "
                  f"{nhanh_id} of business {shop.nhanh_business_id} (deleted, or merged)")
            unknown.append(entry)
    return entries, unknown


def apply_customers(runtime: Runtime, shop: ShopConfig,
                    records: list[dict[str, Any]]) -> dict[str, batching.ItemOutcome]:
    entries, unknown = _entries(runtime, shop, records)
    client = client_for(runtime, shop)
    _resolve(runtime, shop, client, entries)
    versions = batching.field_versions(runtime, shop, KIND, sorted({e.nhanh_id for e in entries}))
    newest: dict[str, Entry] = {}
    for entry in entries:
        accepted, applied, value = versions[entry.nhanh_id]
        entry.before = value
        if entry.customer is not None:  # else _resolve set why it is skipped
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
    entries += unknown
    for entry in entries:
        metrics.sync_items_total.labels(KIND, entry.outcome).inc()
    outcomes = {}
    for entry in entries:
        log: dict[str, Any] = {"nhanh_id": entry.nhanh_id, "customer": entry.customer,
                               "before": entry.before, "after": entry.total_spent or None,
                               "outcome": entry.outcome}
        if entry.read_from_nhanh:
            log["read_from_nhanh"] = True
        if entry.outcome == "applied":
            outcomes[entry.job_id] = batching.ItemOutcome("succeeded", {"items": [log]})
        elif entry.outcome == "superseded":
            outcomes[entry.job_id] = batching.ItemOutcome("superseded", {"items": [log]})
        else:
            log["reason"] = entry.reason
            outcomes[entry.job_id] = batching.ItemOutcome(
                "succeeded", {"skipped": SKIPPED[entry.outcome], "reason": entry.reason,
                              "items": [log]})
    return outcomes
