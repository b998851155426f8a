"""The subset of Shopify's GraphQL Admin API schema the sandbox serves (and Hookyard uses).

Type, field, argument and enum names are Shopify's (Admin API 2026-04 and later), so a query
that validates here is written the way Shopify expects. Only the fields Hookyard selects, and a
few useful for tests, are declared. The SDL is kept by Shopify domain: ``roots`` (directive,
scalars, ``PageInfo``, ``Query`` and ``Mutation``), ``inventory``, ``customers`` (with their
metafields), ``bulk_operations`` and ``themes``.
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

from hookyard_sandbox.schema import bulk_operations, customers, inventory, roots, themes

SDL = "".join(part.SDL for part in (roots, inventory, customers, bulk_operations, themes))


@cache
def admin_schema() -> GraphQLSchema:
    """The parsed schema (built on first use, then shared; it is immutable)."""
    schema = build_schema(SDL)
    body = schema.get_type("OnlineStoreThemeFileBody")
    # Union members are told apart by the "__typename" key every resolver puts in its dicts.
    body.resolve_type = lambda value, _info, _type: value["__typename"]  # type: ignore[union-attr]
    return schema
