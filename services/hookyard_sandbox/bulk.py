"""Bulk queries in the sandbox: checking the query text, turning its result into JSONL rows,
and Shopify's limits on how many may run.

A bulk query is itself GraphQL. Shopify accepts one top-level connection field and up to five
nested connections; the sandbox accepts the part Hookyard needs: exactly one top-level
connection among ``SUPPORTED_ROOTS``, no nested connections, no variables, no mutations.
Anything else is a ``BulkQueryInvalid`` (answered as the ``INVALID`` user error), so a client
asking for more than the sandbox knows fails loudly instead of receiving an empty file.

The rows are the connection's nodes, one JSON object per line, with exactly the selected fields
(``{"id":"gid://shopify/ProductVariant/1","sku":"A","inventoryItem":{"id":"..."}}``), as in
Shopify's JSONL without nested connections (so no ``__parentId``).
"""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)

SUPPORTED_ROOTS = ("productVariants", "customers")
CONCURRENT_QUERIES_FROM = "2026-01"
"""From this API version an app may run five bulk queries per shop at once (one before), and
``bulkOperation(id:)`` / ``bulkOperations`` exist (shopify.dev, "Perform bulk operations")."""
CONCURRENT_QUERIES = 5


class BulkQueryInvalid(ValueError):
    """The text given to ``bulkOperationRunQuery`` is not a bulk query the sandbox can run."""


def max_running(api_version: str, configured: int) -> int:
    """How many bulk queries may run at once for one shop (``configured`` 0 = Shopify's)."""
    if configured > 0:
        return configured
    return CONCURRENT_QUERIES if api_version >= CONCURRENT_QUERIES_FROM else 1


def check_bulk_query(schema: GraphQLSchema, text: str) -> tuple[DocumentNode, str]:
    """The parsed document and its top-level field name; ``BulkQueryInvalid`` otherwise."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise BulkQueryInvalid(f"Invalid bulk query: {exc.message}") from None
    errors = validate(schema, document)
    if errors:
        raise BulkQueryInvalid("Invalid bulk query: " + "; ".join(e.message for e in errors[:3]))
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise BulkQueryInvalid("A bulk query must contain exactly one operation.")
    operation = operations[0]
    if operation.operation != OperationType.QUERY:
        raise BulkQueryInvalid("A bulk query cannot contain mutations; use "
                               "bulkOperationRunMutation.")
    if operation.variable_definitions:
        raise BulkQueryInvalid("A bulk query cannot use variables; write the values inline.")
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    query_type = schema.query_type
    assert query_type is not None
    roots = _fields(operation.selection_set, fragments)
    if len(roots) != 1:
        raise BulkQueryInvalid("A bulk query must select exactly one top-level field, a "
                               "connection.")
    root = roots[0]
    name = root.name.value
    if not _is_connection(get_named_type(query_type.fields[name].type)):
        raise BulkQueryInvalid("A bulk query must contain at least one connection; "
                               f"'{name}' is not one.")
    if name not in SUPPORTED_ROOTS:
        raise BulkQueryInvalid(f"The sandbox runs bulk queries over {', '.join(SUPPORTED_ROOTS)} "
                               f"only, not '{name}'.")
    connection = get_named_type(query_type.fields[name].type)
    assert isinstance(connection, GraphQLObjectType)
    if _has_connection(root.selection_set, connection, fragments):
        raise BulkQueryInvalid("The sandbox does not support nested connections in bulk "
                               "queries.")
    return document, name


def jsonl_rows(data: dict[str, Any] | None, root: str) -> list[bytes]:
    """The nodes of ``data[root]`` (its ``edges`` or ``nodes``), one JSON line each."""
    connection = (data or {}).get(root) or {}
    if "edges" in connection:
        nodes = [edge.get("node") for edge in connection["edges"]]
    else:
        nodes = list(connection.get("nodes") or [])
    return [json.dumps(node, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for node in nodes if node is not None]


def _fields(selection_set: SelectionSetNode | None,
            fragments: dict[str, FragmentDefinitionNode]) -> list[FieldNode]:
    """Fields of a selection set with fragments expanded (``__typename`` left out)."""
    found: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if selection.name.value != "__typename":
                found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found += _fields(fragment.selection_set, fragments)
    return found


def _is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")


def _has_connection(selection_set: SelectionSetNode | None, parent: GraphQLObjectType,
                    fragments: dict[str, FragmentDefinitionNode]) -> bool:
    """Whether any field selected below ``parent`` (the top-level connection) is a connection."""
    for field in _fields(selection_set, fragments):
        definition = parent.fields.get(field.name.value)
        if definition is None:
            continue
        named = get_named_type(definition.type)
        if _is_connection(named):
            return True
        if isinstance(named, GraphQLObjectType) and _has_connection(
                field.selection_set, named, fragments):
            return True
    return False
