"""``inventoryChange``: a product's stock, in total and per depot, in Nhanh's v2 or v3 shape.

v2 (https://apidocs.nhanh.vn/v2/webhooks/inventory): ``data`` is an object keyed by product id
(Hookyard also takes a list, ../shared/README.md), ``depots`` an object keyed by depot id, the
damaged stock is ``damage``. v3 (https://apidocs.nhanh.vn/v3/webhooks/inventory): ``data`` is an
array of products, ``depots`` an array of ``{id, ...}``, with ``damaged`` and ``transfering``.
Both become one item shape: the product as sent, its ``id`` a string and its ``depots`` an object
of depot id -> quantities (what ``hookyard.sync.inventory`` reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookyard.nhanh.webhooks.problems import Problems, bounded_entries, is_id, is_whole

MAX_PRODUCTS = 100
"""Nhanh groups at most 100 products into one delivery (both versions' inventory pages)."""
MAX_QUANTITY = 1_000_000_000
"""Shopify's bound on an inventory quantity, either sign (``inventorySetQuantities`` answers
``INVALID_QUANTITY_TOO_HIGH`` / ``_TOO_LOW`` past it; GraphQL's ``Int`` is 32-bit anyway)."""
QUANTITIES = {
    2: ("remain", "shipping", "holding", "damage", "available"),
    3: ("remain", "shipping", "damaged", "holding", "transfering", "available"),
}
"""The quantity fields each version documents."""


def check_quantities(entry: Mapping[str, Any], path: str, problems: Problems, *,
                     version: int) -> None:
    """Each quantity present (null counts as absent) is a whole number Shopify can store."""
    for name in QUANTITIES[version]:
        value = entry.get(name)
        if value is None:
            continue
        if not is_whole(value):
            problems.add(f"{path}.{name}", "must be a whole number (a JSON integer, no decimal "
                         "point)")
        elif not -MAX_QUANTITY <= value <= MAX_QUANTITY:
            problems.add(f"{path}.{name}", f"must be from {-MAX_QUANTITY} to {MAX_QUANTITY} "
                         "(Shopify's limit on an inventory quantity)")


def inventory_items(data: Any, problems: Problems, *, version: int) -> list[dict[str, Any]]:
    """The products of an ``inventoryChange``, each as the one item shape (module docstring)."""
    if version == 3 and isinstance(data, dict):
        problems.add("data", "must be an array of products in Nhanh's v3 shape (an object keyed "
                     "by product id is v2's, whose token comes in the body as "
                     "webhooksVerifyToken)")
        return []
    members = bounded_entries(data, problems, most=MAX_PRODUCTS, noun="product",
                              keyed=version == 2)
    items = []
    for path, product in members:
        if not isinstance(product, dict):
            problems.add(path, "must be an object")
            continue
        key = path.rsplit(".", 1)[-1] if version == 2 and isinstance(data, dict) else None
        product_id = product.get("id", key)
        if not is_id(product_id):
            problems.add(f"{path}.id", "is required (string or integer)")
            continue
        for name in ("code", "shopProductId"):
            if product.get(name) is not None and not is_id(product[name]):
                problems.add(f"{path}.{name}", "must be a string or integer")
        check_quantities(product, path, problems, version=version)
        depots = _depots_v3(product.get("depots"), f"{path}.depots", problems) if version == 3 \
            else _depots_v2(product.get("depots"), f"{path}.depots", problems)
        if depots is not None:
            items.append({**product, "id": str(product_id), "depots": depots})
    return items


def _depots_v2(depots: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    if depots is None:
        return {}
    if not isinstance(depots, dict):
        problems.add(path, "must be an object keyed by depot id in Nhanh's v2 shape (an array "
                     "of depots is v3's, whose token comes in the Authorization header)")
        return None
    for depot_id, quantities in depots.items():
        if not isinstance(quantities, dict):
            problems.add(f"{path}.{depot_id}", "must be an object of quantities")
            continue
        check_quantities(quantities, f"{path}.{depot_id}", problems, version=2)
    return {str(k): v for k, v in depots.items()}


def _depots_v3(depots: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    if depots is None:
        return {}
    if not isinstance(depots, list):
        problems.add(path, "must be an array of depots in Nhanh's v3 shape (an object keyed by "
                     "depot id is v2's, whose token comes in the body as webhooksVerifyToken)")
        return None
    keyed: dict[str, Any] = {}
    for index, depot in enumerate(depots):
        where = f"{path}[{index}]"
        if not isinstance(depot, dict):
            problems.add(where, "must be an object with the depot's id and quantities")
            continue
        if not is_id(depot.get("id")):
            problems.add(f"{where}.id", "is required (string or integer)")
            continue
        depot_id = str(depot["id"])
        if depot_id in keyed:
            problems.add(f"{where}.id", f"depot {depot_id} is listed twice")
            continue
        check_quantities(depot, where, problems, version=3)
        keyed[depot_id] = {k: v for k, v in depot.items() if k != "id"}
    return keyed
