"""``metafieldsSet`` on customers: the 25-metafield limit, keys, types and values as Shopify
checks them, all or nothing."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLResolveInfo

from hookyard_sandbox.resolvers.recorded_mutations import RecordedMutations, user_error
from hookyard_sandbox.state import Metafield, now_iso

MAX_METAFIELDS = 25
METAFIELD_TYPES = frozenset({
    "single_line_text_field", "multi_line_text_field", "number_integer", "number_decimal",
    "boolean", "json", "date", "date_time", "url", "money",
})


class MetafieldMutations(RecordedMutations):
    """``metafieldsSet``."""

    def metafieldsSet(self, info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> Any:
        return self._run(info, {"metafields": metafields}, idempotent=False,
                         apply=lambda: self._set_metafields(metafields))

    def _set_metafields(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        shop = self.shop
        if len(inputs) > MAX_METAFIELDS:
            return {"metafields": None, "userErrors": [user_error(
                "LESS_THAN_OR_EQUAL_TO", ["metafields"],
                f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS}.")]}
        errors: list[dict[str, Any]] = []
        for i, m in enumerate(inputs):
            path = ["metafields", str(i)]
            namespace = m.get("namespace") or "$app"
            existing = shop.metafields.get(m["ownerId"], {}).get((namespace, m["key"]))
            mtype = m.get("type") or (existing.type if existing else None)
            if m["ownerId"] not in shop.customers:
                errors.append(user_error("INVALID", [*path, "ownerId"],
                                         "Owner does not exist.", elementIndex=i))
            if not 2 <= len(m["key"]) <= 64:
                code = "TOO_SHORT" if len(m["key"]) < 2 else "TOO_LONG"
                errors.append(user_error(code, [*path, "key"],
                                         "Key must be 2 to 64 characters.", elementIndex=i))
            if mtype is None:
                errors.append(user_error("BLANK", [*path, "type"], "Type can't be blank.",
                                         elementIndex=i))
            elif mtype not in METAFIELD_TYPES:
                errors.append(user_error("INVALID_TYPE", [*path, "type"],
                                         f"Type '{mtype}' is not supported by the sandbox.",
                                         elementIndex=i))
            elif not _valid_metafield_value(mtype, m["value"]):
                errors.append(user_error("INVALID_VALUE", [*path, "value"],
                                         f"Value is invalid for type '{mtype}'.",
                                         elementIndex=i))
        if errors:
            return {"metafields": None, "userErrors": errors}
        stored = []
        for m in inputs:
            namespace = m.get("namespace") or "$app"
            owned = shop.metafields.setdefault(m["ownerId"], {})
            stamp = now_iso()
            current = owned.get((namespace, m["key"]))
            if current is None:
                current = Metafield(shop.new_id("Metafield"), namespace, m["key"],
                                    m.get("type") or "", m["value"], "CUSTOMER", stamp, stamp)
                owned[(namespace, m["key"])] = current
            current.value, current.updated_at = m["value"], stamp
            current.type = m.get("type") or current.type
            stored.append(self.views.metafield(current))
        return {"metafields": stored, "userErrors": []}


def _valid_metafield_value(mtype: str, value: str) -> bool:
    try:
        if mtype == "number_integer":
            int(value)
        elif mtype == "number_decimal":
            Decimal(value)
        elif mtype == "boolean":
            return value in ("true", "false")
        elif mtype in ("json", "money"):
            json.loads(value)
    except (ValueError, InvalidOperation):
        return False
    return True
