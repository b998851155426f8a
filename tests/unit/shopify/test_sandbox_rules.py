"""The sandbox's Shopify rules on their own: query cost, search syntax, leaky bucket, the
outage switch."""

from __future__ import annotations

import json

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from hookyard.shopify import operations as ops
from hookyard_sandbox.bucket import LeakyBucket
from hookyard_sandbox.bulk import BulkQueryInvalid, check_bulk_query, jsonl_rows, max_running
from hookyard_sandbox.cost import CostCalculator
from hookyard_sandbox.schema import admin_schema
from hookyard_sandbox.search import normalize_phone, parse_terms
from hookyard_sandbox.server import Sandbox
from hookyard_sandbox.state import BulkOperation


def calculator(query: str, variables: dict | None = None) -> CostCalculator:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    return CostCalculator(admin_schema(), operation, fragments, variables or {})


def test_a_connection_costs_two_plus_first_times_its_node() -> None:
    calc = calculator(ops.INVENTORY_ITEMS_BY_SKU, {"first": 100, "query": "sku:a"})
    assert calc.requested() == 202
    assert calc.requested() == ops.connection_cost(100, 2)


def test_the_actual_cost_counts_the_nodes_returned() -> None:
    calc = calculator(ops.INVENTORY_ITEMS_BY_SKU, {"first": 100, "query": "sku:a"})
    data = {"productVariants": {"edges": [
        {"node": {"id": "1", "sku": "a", "inventoryItem": {"id": "i"}}}]}}
    assert calc.actual(data) == 4


def test_a_mutation_costs_ten() -> None:
    assert calculator(ops.INVENTORY_SET_QUANTITIES).requested() == 10
    assert calculator(ops.THEME_FILES_UPSERT).requested() == 10


def test_nested_connections_and_unions_are_costed() -> None:
    calc = calculator(ops.THEME, {"id": "t", "first": 10})
    assert calc.requested() == 1 + ops.connection_cost(10, 2)


def test_client_estimates_match_the_sandbox_costs() -> None:
    assert calculator(ops.CUSTOMERS_BY_CONTACT, {"first": 10}).requested() == \
        ops.connection_cost(10, 1)
    assert calculator(ops.THEMES, {"first": 50}).requested() == ops.connection_cost(50, 1)


def test_search_terms_are_or_joined_field_value_pairs() -> None:
    assert parse_terms('sku:"A 1" OR sku:B OR email:x@y.z') == [
        ("sku", "A 1"), ("sku", "B"), ("email", "x@y.z")]
    assert parse_terms('sku:"say \\"hi\\""') == [("sku", 'say "hi"')]


@pytest.mark.parametrize("query", ["sku:a AND sku:b", "bare", "sku:a OR", 'sku:"open'])
def test_search_syntax_the_sandbox_does_not_know_fails_loudly(query: str) -> None:
    with pytest.raises(ValueError):
        parse_terms(query)


def test_phone_numbers_match_whatever_their_punctuation() -> None:
    assert normalize_phone("+84 90-123 4567") == normalize_phone("+84901234567")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_throttles_when_short_and_refills_at_the_restore_rate() -> None:
    clock = FakeClock()
    bucket = LeakyBucket("standard", clock=clock)
    assert bucket.capacity == 2000
    assert bucket.admit(2000).admitted
    assert not bucket.admit(10).admitted
    clock.now += 0.1
    assert bucket.admit(10).admitted
    clock.now += 1000
    assert bucket.status()["currentlyAvailable"] == 2000


def test_without_enforcement_a_short_bucket_serves_and_counts_the_excess() -> None:
    bucket = LeakyBucket("plus", clock=FakeClock())
    bucket.enforce = False
    bucket.set_available(5)
    admission = bucket.admit(10)
    assert admission.admitted and admission.exceeded


# --- bulk queries --------------------------------------------------------------------------

VARIANTS_EXPORT = "{ productVariants { edges { node { id sku inventoryItem { id } } } } }"


def test_a_bulk_query_over_one_top_level_connection_is_accepted() -> None:
    _document, root = check_bulk_query(admin_schema(), VARIANTS_EXPORT)
    assert root == "productVariants"
    _document, root = check_bulk_query(admin_schema(), "{ customers { nodes { id email } } }")
    assert root == "customers"


@pytest.mark.parametrize(("query", "why"), [
    ("{ productVariants { edges { node { id } } } customers { nodes { id } } }", "exactly one"),
    ("{ customer(id: \"gid://shopify/Customer/1\") { id } }", "at least one connection"),
    ("{ customers { edges { node { id metafields(first: 5) { nodes { id } } } } } }",
     "nested connections"),
    ("mutation { metafieldsSet(metafields: []) { userErrors { code } } }", "mutations"),
    ("query($q: String) { customers(query: $q) { nodes { id } } }", "variables"),
    ("{ themes { nodes { id } } }", "productVariants, customers only"),
    ("{ productVariants { edges { node { price } } } }", "Cannot query field 'price'"),
    ("{ productVariants { edges ", "Invalid bulk query"),
])
def test_other_bulk_queries_are_refused_with_the_reason(query: str, why: str) -> None:
    with pytest.raises(BulkQueryInvalid, match=why):
        check_bulk_query(admin_schema(), query)


def test_bulk_rows_are_the_nodes_with_exactly_the_selected_fields() -> None:
    data = {"productVariants": {"edges": [
        {"node": {"id": "v1", "sku": "Á-1", "inventoryItem": {"id": "i1"}}}]}}
    assert jsonl_rows(data, "productVariants") == [
        '{"id":"v1","sku":"Á-1","inventoryItem":{"id":"i1"}}\n'.encode()]
    assert jsonl_rows({"customers": {"nodes": []}}, "customers") == []


def test_shopify_runs_one_bulk_query_per_shop_before_2026_01_and_five_from_it() -> None:
    assert max_running("2025-10", 0) == 1
    assert max_running("2026-04", 0) == 5
    assert max_running("2026-04", 1) == 1


def test_a_bulk_operation_is_created_then_running_then_done_on_the_clock() -> None:
    op = BulkOperation(id="b", query="q", rows=[b"{}\n"] * 10, created_at="t", started=100.0,
                       start_seconds=1.0, rows_per_second=5.0)
    op.advance(100.5)
    assert (op.status, op.object_count) == ("CREATED", 0)
    op.advance(102.0)
    assert (op.status, op.object_count) == ("RUNNING", 5)
    op.advance(103.0)
    assert (op.status, op.object_count) == ("COMPLETED", 10)
    assert op.result_token and op.body(op.result_token) == b"{}\n" * 10


def test_a_failed_bulk_operation_offers_its_partial_data_and_no_result() -> None:
    op = BulkOperation(id="b", query="q", rows=[b"{}\n"] * 4, created_at="t", started=0.0,
                       start_seconds=0.0, rows_per_second=100.0, outcome="FAILED",
                       error_code="TIMEOUT")
    op.advance(1.0)
    assert op.status == "FAILED" and op.result_token is None
    assert op.partial_token and op.body(op.partial_token) == b"{}\n" * 2


def test_phone_numbers_match_without_formatting_only_nothing_else_dropped():
    assert normalize_phone(" +84 (90) 123-45.67 ") == "+84901234567"
    assert normalize_phone("+84901234567x") != normalize_phone("+84901234567")
    assert normalize_phone("84901234567") != normalize_phone("+84901234567")
    assert normalize_phone("0901234567") != normalize_phone("+84901234567")


def test_an_outage_answers_every_graphql_call_5xx_and_counts_them_until_switched_off() -> None:
    sandbox = Sandbox()
    sandbox.add_shop({"id": "acme", "token": "shpat_x", "domain": "acme.myshopify.com",
                      "locations": [{"id": "gid://shopify/Location/1", "name": "Main"}],
                      "products": [], "customers": [], "themes": []})
    query = json.dumps({"query": ops.INVENTORY_ITEMS_BY_SKU,
                        "variables": {"first": 1, "query": "sku:a"}}).encode()

    def call() -> int:
        return sandbox.handle("POST", "/admin/api/2026-10/graphql.json",
                              {"x-shopify-access-token": "shpat_x"}, query).status

    def switch(body: dict) -> int:
        return sandbox.handle("POST", "/_sandbox/shops/acme/faults", {},
                              json.dumps(body).encode()).status

    assert switch({"outage": True}) == 200
    assert [call() for _ in range(5)] == [503] * 5
    assert switch({"outage": "false"}) == 400  # a string is not a switch position
    assert switch({"outage": False}) == 200
    assert call() == 200
    stats = sandbox.shop("acme").stats_snapshot()  # type: ignore[union-attr]
    assert (stats["calls"], stats["outage_calls"], stats["http_5xx"]) == (6, 5, 5)
