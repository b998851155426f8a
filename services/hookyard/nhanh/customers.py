"""Nhanh customers by id, from ``/v3.0/customer/list`` (https://apidocs.nhanh.vn/v3/customer/list).

What Hookyard reads of a customer is what it syncs: the total Nhanh says the customer has spent
(``totalAmount``), with the contacts that identify them and when Nhanh last changed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hookyard.base.errors import NhanhError
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.nhanh.access import resolve_client
from hookyard.nhanh.client import MAX_PAGE_SIZE, NhanhClient
from hookyard.nhanh.filters import id_chunks

CUSTOMER_LIST = "/v3.0/customer/list"


@dataclass(frozen=True)
class NhanhCustomer:
    """One Nhanh customer as the customer API gives it."""

    id: str
    name: str
    mobile: str
    total_amount: int | float
    """``totalAmount``: what the customer has spent in all, the JSON number as Nhanh sent it."""
    updated_at: int | None
    """``updatedAt``: when Nhanh last changed the customer (unix seconds), if it said."""


def read_customers(source: Runtime | NhanhClient, shop: ShopConfig,
                   ids: Iterable[str | int]) -> dict[str, NhanhCustomer]:
    """The customers of ``shop``'s Nhanh business with these ids, by id (as text).

    One request per 100 ids (``filters.ids``), following ``next`` if Nhanh pages shorter. Ids
    Nhanh does not return (unknown, deleted) are absent from the result. ``source`` is the job's
    runtime (a client is built for ``shop``) or a client of ``shop``. Raises what
    ``NhanhClient.call`` raises, ``PermanentJobError`` for an id that is not a whole number,
    and ``NhanhError`` for an answer that is not a list of customers.
    """
    chunks = list(id_chunks(ids, "customer"))
    if not chunks:
        return {}
    client = resolve_client(source, shop)
    found: dict[str, NhanhCustomer] = {}
    for chunk in chunks:
        asked = set(chunk)
        for page in client.pages(CUSTOMER_LIST, filters={"ids": chunk}, size=MAX_PAGE_SIZE):
            for item in page.items:
                customer = _customer(item)
                if int(customer.id) in asked:  # Nhanh answering more is not ours to return
                    found[customer.id] = customer
    return found


def _customer(item: Any) -> NhanhCustomer:
    if not isinstance(item, dict):
        raise NhanhError("Nhanh's customer list held an item that is not an object.")
    raw_id, total = item.get("id"), item.get("totalAmount")
    if isinstance(raw_id, bool) or not str(raw_id).isdigit():
        raise NhanhError(f"Nhanh's customer list held a customer without an id: {raw_id!r}.")
    if isinstance(total, bool) or not isinstance(total, int | float):
        raise NhanhError(f"Nhanh customer {raw_id} came without a numeric totalAmount.")
    updated = item.get("updatedAt")
    return NhanhCustomer(
        id=str(raw_id),
        name=str(item.get("name") or ""),
        mobile=str(item.get("mobile") or ""),
        total_amount=total,
        updated_at=updated if isinstance(updated, int) and not isinstance(updated, bool)
        else None,
    )
