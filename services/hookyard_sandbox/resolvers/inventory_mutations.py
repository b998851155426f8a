"""``inventorySetQuantities``: quantity names, reasons, compare quantities and limits as
Shopify checks them, all or nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from graphql import GraphQLResolveInfo

from hookyard_sandbox.resolvers.connections import MAX_INPUT_ARRAY
from hookyard_sandbox.resolvers.context import request_context
from hookyard_sandbox.resolvers.recorded_mutations import (
    IDEMPOTENCY_REQUIRED_FROM,
    RecordedMutations,
    max_input_size_error,
    user_error,
)
from hookyard_sandbox.state import now_iso

MAX_QUANTITY = 1_000_000_000
INVENTORY_REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
    "movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock",
    "safety_stock", "shrinkage",
})


class InventoryMutations(RecordedMutations):
    """``inventorySetQuantities`` (``@idempotent``, required from API version 2026-04)."""

    def inventorySetQuantities(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
        quantities = input["quantities"]
        if len(quantities) > MAX_INPUT_ARRAY:
            raise max_input_size_error(["inventorySetQuantities", "input", "quantities"],
                                       len(quantities), MAX_INPUT_ARRAY)
        return self._run(info, {"input": input}, idempotent=True,
                         apply=lambda: self._set_quantities(info, input))

    def _set_quantities(self, info: GraphQLResolveInfo, data: dict[str, Any]) -> dict[str, Any]:
        shop, errors = self.shop, []
        name, reason = data["name"], data["reason"]
        if name not in ("available", "on_hand"):
            errors.append(user_error("INVALID_NAME", ["input", "name"],
                                     "The quantity name must be either 'available' or "
                                     "'on_hand'."))
        if reason not in INVENTORY_REASONS:
            errors.append(user_error("INVALID_REASON", ["input", "reason"],
                                     "The specified reason is invalid."))
        uri = data.get("referenceDocumentUri")
        if uri is not None and not (urlparse(uri).scheme and ":" in uri):
            errors.append(user_error("INVALID_REFERENCE_DOCUMENT",
                                     ["input", "referenceDocumentUri"],
                                     "The specified reference document is invalid."))
        strict = request_context(info).api_version >= IDEMPOTENCY_REQUIRED_FROM
        seen: set[tuple[str, str]] = set()
        for i, q in enumerate(data["quantities"]):
            path = ["input", "quantities", str(i)]
            item, location, qty = q["inventoryItemId"], q["locationId"], q["quantity"]
            if strict and "changeFromQuantity" not in q:
                errors.append(user_error(
                    "COMPARE_QUANTITY_REQUIRED", [*path, "changeFromQuantity"],
                    "changeFromQuantity must be given for each quantity (null skips the "
                    "compare)."))
            if item not in shop.item_to_variant:
                errors.append(user_error("INVALID_INVENTORY_ITEM", [*path, "inventoryItemId"],
                                         "The specified inventory item could not be found."))
                continue
            if location not in shop.locations:
                errors.append(user_error("INVALID_LOCATION", [*path, "locationId"],
                                         "The specified location could not be found."))
                continue
            if (item, location) in seen:
                errors.append(user_error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path,
                    "The combination of inventoryItemId and locationId must be unique."))
            seen.add((item, location))
            level = shop.levels.get((item, location))
            if level is None:
                errors.append(user_error(
                    "ITEM_NOT_STOCKED_AT_LOCATION", path,
                    "The specified inventory item is not stocked at the location."))
                continue
            if qty > MAX_QUANTITY:
                errors.append(user_error("INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"],
                                         "The total quantity can't be higher than "
                                         "1,000,000,000."))
            if qty < -MAX_QUANTITY:
                errors.append(user_error("INVALID_QUANTITY_TOO_LOW", [*path, "quantity"],
                                         "The total quantity can't be lower than "
                                         "-1,000,000,000."))
            if name == "on_hand" and qty < 0:
                errors.append(user_error("INVALID_QUANTITY_NEGATIVE", [*path, "quantity"],
                                         "The quantity can't be negative."))
            expected = q.get("changeFromQuantity")
            if expected is not None and name in level and level[name] != expected:
                errors.append(user_error(
                    "CHANGE_FROM_QUANTITY_STALE", [*path, "changeFromQuantity"],
                    "The changeFromQuantity value does not match persisted value."))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = []
        for q in data["quantities"]:
            item, location = q["inventoryItemId"], q["locationId"]
            level = shop.levels[(item, location)]
            delta = q["quantity"] - level[name]
            if delta == 0:
                continue
            level[name] = q["quantity"]
            touched = [name]
            if name == "available":
                level["on_hand"] += delta
                touched.append("on_hand")
            else:
                level["available"] += delta
            for changed in touched:
                changes.append({"name": changed, "delta": delta,
                                "quantityAfterChange": level[changed],
                                "item": self.views.inventory_item(item),
                                "location": self.views.location(location)})
        group = None
        if changes:
            group = {"id": shop.new_id("InventoryAdjustmentGroup"), "createdAt": now_iso(),
                     "reason": reason, "referenceDocumentUri": uri, "changes": changes}
        return {"inventoryAdjustmentGroup": group, "userErrors": []}
