"""Shopify's calculated query cost, for the sandbox's subset of the schema.

Rules (shopify.dev, "GraphQL Admin API rate limits"): scalars and enums cost 0, an object 1
plus its selections, a union the most expensive of its branches, a connection
``2 + first x (cost of one node)``, and a mutation field 10 (its payload is free). The
*requested* cost is computed from the query before it runs (with ``first`` as asked); the
*actual* cost from the result (with the number of nodes really returned), so the difference is
what Shopify refunds. Lists of objects that are not connections count once, like an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)

MUTATION_FIELD_COST = 10
UNSIZED_CONNECTION = 250
"""Page size assumed for a connection asked without ``first``/``last``."""

_UNSEEN = object()


class CostCalculator:
    """Requested and actual cost of one parsed operation."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._fragments = fragments
        self._variables = variables

    def requested(self) -> int:
        """Cost computed before execution, from the query alone."""
        return self._operation_cost(_UNSEEN)

    def actual(self, data: Any) -> int:
        """Cost computed from the result ``data`` (0 for what was never resolved)."""
        if data is None:
            return 0
        return self._operation_cost(data)

    # --- walking --------------------------------------------------------------------------------

    def _operation_cost(self, data: Any) -> int:
        if self._operation.operation == OperationType.MUTATION:
            fields = self._fields(self._operation.selection_set, "Mutation")
            return MUTATION_FIELD_COST * sum(1 for f in fields if f.name.value != "__typename")
        root = self._schema.query_type
        assert root is not None
        return self._selection_cost(self._operation.selection_set, root, data)

    def _fields(self, selection_set: SelectionSetNode | None, type_name: str) -> list[FieldNode]:
        found: list[FieldNode] = []
        if selection_set is None:
            return found
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or condition.name.value == type_name:
                    found += self._fields(selection.selection_set, type_name)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is not None and fragment.type_condition.name.value == type_name:
                    found += self._fields(fragment.selection_set, type_name)
        return found

    def _selection_cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType, data: Any
    ) -> int:
        total = 0
        for field in self._fields(selection_set, parent.name):
            name = field.name.value
            if name.startswith("__") or name not in parent.fields:
                continue
            key = field.alias.value if field.alias else name
            value = data.get(key, None) if isinstance(data, Mapping) else _UNSEEN
            if data is not _UNSEEN and value is None:
                continue
            named = get_named_type(parent.fields[name].type)
            if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
                total += self._connection_cost(field, named, value)
            elif isinstance(named, GraphQLObjectType):
                item = value[0] if isinstance(value, list) and value else value
                if isinstance(value, list) and not value:
                    continue
                total += 1 + self._selection_cost(field.selection_set, named, item)
            elif isinstance(named, GraphQLUnionType):
                total += 1 + self._union_cost(field, named, value)
        return total

    def _union_cost(self, field: FieldNode, union: GraphQLUnionType, value: Any) -> int:
        costs = []
        for member in union.types:
            if isinstance(value, Mapping) and value.get("__typename") not in (None, member.name):
                continue
            costs.append(self._selection_cost(field.selection_set, member, value))
        return max(costs, default=0)

    def _connection_cost(self, field: FieldNode, connection: GraphQLObjectType, value: Any) -> int:
        args = {
            arg.name.value: value_from_ast_untyped(arg.value, dict(self._variables))
            for arg in field.arguments or ()
        }
        size = args.get("first") or args.get("last") or UNSIZED_CONNECTION
        per_node: list[int] = []
        for part in self._fields(field.selection_set, connection.name):
            part_name = part.name.value
            part_key = part.alias.value if part.alias else part_name
            if part_name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                assert isinstance(edge_type, GraphQLObjectType)
                node_type = get_named_type(edge_type.fields["node"].type)
                assert isinstance(node_type, GraphQLObjectType)
                for node_field in self._fields(part.selection_set, edge_type.name):
                    if node_field.name.value != "node":
                        continue
                    node_key = node_field.alias.value if node_field.alias else "node"
                    nodes = self._items(value, part_key, node_key)
                    per_node.append(self._nodes_cost(node_field, node_type, nodes, int(size)))
            elif part_name == "nodes":
                node_type = get_named_type(connection.fields["nodes"].type)
                assert isinstance(node_type, GraphQLObjectType)
                nodes = self._items(value, part_key, None)
                per_node.append(self._nodes_cost(part, node_type, nodes, int(size)))
        return 2 + max(per_node, default=0)

    def _items(self, value: Any, list_key: str, node_key: str | None) -> Any:
        if value is _UNSEEN or not isinstance(value, Mapping):
            return _UNSEEN
        items = value.get(list_key) or []
        if node_key is None:
            return items
        return [edge.get(node_key) for edge in items if isinstance(edge, Mapping)]

    def _nodes_cost(
        self, field: FieldNode, node_type: GraphQLObjectType, nodes: Any, size: int
    ) -> int:
        if nodes is _UNSEEN:
            return size * (1 + self._selection_cost(field.selection_set, node_type, _UNSEEN))
        return sum(1 + self._selection_cost(field.selection_set, node_type, n) for n in nodes)
