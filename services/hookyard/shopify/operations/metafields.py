"""Metafield operations: up to 25 metafields of any owner (e.g. a customer) set at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.shopify.operations.calls import MUTATION_COST, Executor, raise_for_user_errors

MAX_METAFIELDS = 25

METAFIELDS_SET = """
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key type value }
    userErrors { code elementIndex field message }
  }
}
"""


@dataclass(frozen=True)
class MetafieldInput:
    """One metafield to set on ``owner_id`` (e.g. a customer GID)."""

    owner_id: str
    namespace: str
    key: str
    value: str
    type: str = "single_line_text_field"

    def as_input(self) -> dict[str, Any]:
        return {
            "ownerId": self.owner_id,
            "namespace": self.namespace,
            "key": self.key,
            "value": self.value,
            "type": self.type,
        }


def set_metafields(client: Executor, metafields: Sequence[MetafieldInput]) -> list[dict[str, Any]]:
    """Set at most 25 metafields atomically; returns the stored metafields."""
    if not metafields:
        raise ValueError("set_metafields needs at least one metafield")
    if len(metafields) > MAX_METAFIELDS:
        raise ValueError(f"{len(metafields)} metafields; Shopify accepts at most {MAX_METAFIELDS}")
    data = client.execute(
        METAFIELDS_SET,
        {"metafields": [m.as_input() for m in metafields]},
        estimated_cost=MUTATION_COST,
    )
    payload = data["metafieldsSet"] or {}
    raise_for_user_errors("metafieldsSet", payload.get("userErrors"))
    return list(payload.get("metafields") or [])
