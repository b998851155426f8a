"""Nhanh products with their stock, from ``/v3.0/product/list``
(https://apidocs.nhanh.vn/v3/product/list): the catalogue a reconciliation walks (issue #18).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookyard.base.errors import NhanhError
from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.nhanh.access import resolve_client
from hookyard.nhanh.client import MAX_PAGE_SIZE, NhanhClient
from hookyard.nhanh.filters import id_chunks

PRODUCT_LIST = "/v3.0/product/list"
QUANTITIES = ("remain", "shipping", "damaged", "holding", "transfering", "available")


@dataclass(frozen=True)
class NhanhStock:
    """Quantities of one product, in all or at one depot (Nhanh's v3 names)."""

    remain: int | float = 0
    shipping: int | float = 0
    damaged: int | float = 0
    holding: int | float = 0
    transfering: int | float = 0
    available: int | float = 0
    """What can be sold: the number Nhanh says to show as stock."""


@dataclass(frozen=True)
class NhanhProduct:
    id: str
    code: str
    barcode: str
    name: str
    stock: NhanhStock
    depots: Mapping[str, NhanhStock] = field(default_factory=dict)
    """Depot id -> that depot's quantities."""


def iter_products(source: Runtime | NhanhClient, shop: ShopConfig, *,
                  ids: Iterable[str | int] | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Iterator[NhanhProduct]:
    """Every product of ``shop``'s Nhanh business (or those of ``ids``, 100 per request), in
    Nhanh's order, one page request at a time as the caller iterates. Raises what
    ``NhanhClient.call`` raises, ``PermanentJobError`` for an id that is not a whole number,
    and ``NhanhError`` for an item that is not a product."""
    client = resolve_client(source, shop)
    chunks: Iterable[list[int] | None] = [None] if ids is None else id_chunks(ids, "product")
    for chunk in chunks:
        filters = None if chunk is None else {"ids": chunk}
        for page in client.pages(PRODUCT_LIST, filters=filters, size=page_size):
            for item in page.items:
                yield _product(item)


def _stock(raw: Any) -> NhanhStock:
    values = raw if isinstance(raw, dict) else {}
    return NhanhStock(**{
        name: value for name in QUANTITIES
        if isinstance(value := values.get(name), int | float) and not isinstance(value, bool)
    })


def _product(item: Any) -> NhanhProduct:
    if not isinstance(item, dict) or item.get("id") in (None, ""):
        raise NhanhError("Nhanh's product list held an item that is not a product with an id.")
    inventory = item.get("inventory")
    inventory = inventory if isinstance(inventory, dict) else {}
    depots = inventory.get("depots") or []
    if isinstance(depots, dict):  # keyed by depot id, as v2 answered
        depots = [{"id": k, **v} for k, v in depots.items() if isinstance(v, dict)]
    return NhanhProduct(
        id=str(item["id"]),
        code=str(item.get("code") or ""),
        barcode=str(item.get("barcode") or ""),
        name=str(item.get("name") or ""),
        stock=_stock(inventory),
        depots={str(d["id"]): _stock(d) for d in depots
                if isinstance(d, dict) and d.get("id") is not None},
    )
