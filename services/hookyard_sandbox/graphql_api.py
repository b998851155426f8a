"""One GraphQL Admin API request against one shop: faults, cost, bucket, execution, answer.

Order of events, as Shopify does it: parse and validate (errors answer 200 with ``errors``);
compute the requested cost (over 1000: ``MAX_COST_EXCEEDED``); ask the bucket for it (short:
200 ``THROTTLED``, nothing runs); execute; refund ``requested - actual``. Every answer past
parsing carries ``extensions.cost`` with the bucket's ``throttleStatus``. Fault switches run
first: added latency, then an outage (every answer 5xx while it lasts), then the next N
answers HTTP 429 (``Retry-After``) or 5xx.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from hookyard_sandbox.cost import CostCalculator
from hookyard_sandbox.resolvers import MutationRoot, QueryRoot, RequestContext, resolve_field
from hookyard_sandbox.schema import admin_schema
from hookyard_sandbox.state import ShopState

MAX_QUERY_COST = 1000
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _cost(requested: int, actual: int | None, shop: ShopState) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                     "throttleStatus": shop.bucket.status()}}


def _fault(shop: ShopState) -> Answer | None:
    faults, stats = shop.faults, shop.stats
    with shop.lock:
        stats.calls += 1
        if faults.outage:
            stats.outage_calls += 1
            stats.http_5xx += 1
            return Answer(faults.fail_status,
                          {"errors": "Service Unavailable (sandbox outage switch)"})
        if faults.throttle_next > 0:
            faults.throttle_next -= 1
            stats.http_429 += 1
            return Answer(429, {"errors": "Throttled"},
                          {"Retry-After": f"{faults.retry_after_seconds:g}"})
        if faults.fail_next > 0:
            faults.fail_next -= 1
            stats.http_5xx += 1
            return Answer(faults.fail_status,
                          {"errors": "Internal Server Error (sandbox fault switch)"})
    return None


def answer_graphql(shop: ShopState, api_version: str, raw: bytes, *,
                   base_url: str = "") -> Answer:
    """The answer to one ``POST /admin/api/{version}/graphql.json`` of ``shop``; ``base_url``
    (this sandbox's own ``http://host:port``) prefixes the download URLs of bulk results."""
    if shop.faults.latency_ms > 0:
        time.sleep(shop.faults.latency_ms / 1000)
    fault = _fault(shop)
    if fault is not None:
        return fault
    try:
        payload = json.loads(raw)
    except ValueError:
        return Answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
    query = payload.get("query") if isinstance(payload, dict) else None
    variables = payload.get("variables") or {} if isinstance(payload, dict) else {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        return Answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
    operation_name = payload.get("operationName")

    schema = admin_schema()
    try:
        document = parse(query)
    except GraphQLError as exc:
        return Answer(200, {"errors": [exc.formatted], "extensions": _cost(0, 0, shop)})
    errors = validate(schema, document)
    operation = get_operation_ast(document, operation_name)
    if not errors and operation is None:
        errors = [GraphQLError("An operation name is required when several are sent.")]
    if errors or operation is None:
        return Answer(200, {"errors": [e.formatted for e in errors],
                            "extensions": _cost(0, 0, shop)})

    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    calculator = CostCalculator(schema, operation, fragments, variables)
    requested = calculator.requested()
    if requested > MAX_QUERY_COST:
        with shop.lock:
            shop.stats.max_cost_exceeded += 1
        message = (f"Query cost is {requested}, which exceeds the single query max cost limit "
                   f"({MAX_QUERY_COST}).")
        return Answer(200, {"errors": [{"message": message, "extensions": {
            "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST}}],
            "extensions": _cost(requested, None, shop)})

    admission = shop.bucket.admit(requested)
    if not admission.admitted:
        with shop.lock:
            shop.stats.throttled += 1
        return Answer(200, {"errors": [{"message": "Throttled", "extensions": {
            "code": "THROTTLED", "documentation": RATE_LIMITS_DOC}}],
            "extensions": _cost(requested, None, shop)})
    available_after = shop.bucket.status()["currentlyAvailable"]

    context = RequestContext(shop=shop, api_version=api_version, base_url=base_url)
    root: QueryRoot | MutationRoot = (
        MutationRoot(shop) if operation.operation == OperationType.MUTATION else QueryRoot(shop)
    )
    result = execute(schema, document, root_value=root, context_value=context,
                     variable_values=variables, operation_name=operation_name,
                     field_resolver=resolve_field)
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    data, result_errors = result.data, result.errors
    actual = min(requested, calculator.actual(data))
    shop.bucket.refund(requested - actual)
    roots = [s.name.value for s in operation.selection_set.selections
             if isinstance(s, FieldNode) and not s.name.value.startswith("__")]
    with shop.lock:
        stats = shop.stats
        for name in roots:
            stats.calls_by_field[name] = stats.calls_by_field.get(name, 0) + 1
        if roots:
            stats.points_by_field[roots[0]] = stats.points_by_field.get(roots[0], 0) + actual
        stats.served += 1
        stats.points_requested += requested
        stats.points_spent += actual
        stats.budget_exceeded += int(admission.exceeded)
        stats.min_available = min(stats.min_available, available_after)
    body: dict[str, Any] = {"data": data}
    if result_errors:
        body["errors"] = [e.formatted for e in result_errors]
    body["extensions"] = _cost(requested, actual, shop)
    return Answer(200, body)
