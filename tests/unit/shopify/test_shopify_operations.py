"""Operation helpers: limits enforced before calling, userErrors mapped onto the error tree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hookyard.base.errors import ShopifyError, ShopifyRejected
from hookyard.shopify import operations as ops


class RecordingExecutor:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.calls: list[tuple[str, dict[str, Any], int]] = []

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, estimated_cost: int
    ) -> dict[str, Any]:
        self.calls.append((query, dict(variables or {}), estimated_cost))
        return self.data


def quantity(i: int) -> ops.InventoryQuantity:
    return ops.InventoryQuantity(f"gid://shopify/InventoryItem/{i}", "gid://shopify/Location/1", i)


def test_more_than_250_quantities_are_refused_before_any_call() -> None:
    executor = RecordingExecutor({})
    with pytest.raises(ValueError, match="250"):
        ops.set_inventory_quantities(executor, [quantity(i) for i in range(251)],
                                     idempotency_key="k", reference_document_uri="x://y")
    assert executor.calls == []


def test_inventory_quantities_always_carry_change_from_quantity_even_when_null() -> None:
    executor = RecordingExecutor({"inventorySetQuantities": {
        "inventoryAdjustmentGroup": None, "userErrors": []}})
    ops.set_inventory_quantities(executor, [quantity(1)], idempotency_key="key-1",
                                 reference_document_uri="hookyard://job/1")
    query, variables, cost = executor.calls[0]
    sent = variables["input"]["quantities"][0]
    assert "changeFromQuantity" in sent and sent["changeFromQuantity"] is None
    assert "ignoreCompareQuantity" not in query
    assert "@idempotent(key: $idempotencyKey)" in query
    assert variables["idempotencyKey"] == "key-1"
    assert cost == ops.MUTATION_COST


def test_more_than_25_metafields_or_50_theme_files_are_refused() -> None:
    executor = RecordingExecutor({})
    with pytest.raises(ValueError, match="25"):
        ops.set_metafields(executor, [ops.MetafieldInput("o", "n", f"k{i}", "v")
                                      for i in range(26)])
    with pytest.raises(ValueError, match="50"):
        ops.upsert_theme_files(executor, "t", [ops.ThemeFile(f"assets/{i}.css", "")
                                               for i in range(51)])
    assert executor.calls == []


def test_user_errors_are_permanent_rejections_with_their_codes() -> None:
    errors = [{"code": "CHANGE_FROM_QUANTITY_STALE", "field": ["input"], "message": "stale"}]
    with pytest.raises(ShopifyRejected) as caught:
        ops.raise_for_user_errors("inventorySetQuantities", errors)
    assert caught.value.details["codes"] == ["CHANGE_FROM_QUANTITY_STALE"]


def test_a_concurrent_idempotent_request_is_retryable() -> None:
    errors = [{"code": "IDEMPOTENCY_CONCURRENT_REQUEST", "field": None, "message": "busy"}]
    with pytest.raises(ShopifyError) as caught:
        ops.raise_for_user_errors("inventorySetQuantities", errors)
    assert not isinstance(caught.value, ShopifyRejected)
    assert caught.value.retryable


def test_sku_lookups_quote_skus_and_keep_only_exact_matches() -> None:
    executor = RecordingExecutor({"productVariants": {"edges": [
        {"node": {"id": "v1", "sku": "A 1", "inventoryItem": {"id": "i1"}}},
        {"node": {"id": "v2", "sku": "A 10", "inventoryItem": {"id": "i2"}}},
    ]}})
    assert ops.find_inventory_items_by_sku(executor, ['A 1', 'B"2']) == {"A 1": "i1"}
    _, variables, cost = executor.calls[0]
    assert variables["query"] == 'sku:"A 1" OR sku:"B\\"2"'
    assert cost == ops.connection_cost(variables["first"], 2)


def test_sku_lookups_are_batched() -> None:
    executor = RecordingExecutor({"productVariants": {"edges": []}})
    ops.find_inventory_items_by_sku(executor, [f"S{i}" for i in range(120)])
    assert len(executor.calls) == 3
    assert all(cost <= 1000 for _, _, cost in executor.calls)
