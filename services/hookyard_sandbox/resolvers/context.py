"""What every resolver gets: the request's context, and the field resolver that calls them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from hookyard_sandbox.state import ShopState


@dataclass(frozen=True)
class RequestContext:
    """Per-request context handed to resolvers (graphql ``context_value``)."""

    shop: ShopState
    api_version: str
    base_url: str = ""
    """``http://host:port`` of this sandbox, for the download URLs of bulk results."""


def resolve_field(parent: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """graphql-core field resolver: dict key or attribute, called with arguments if callable.

    Unlike graphql-core's default, its positional names cannot collide with a GraphQL argument
    (``themeCreate(source:)`` would clash with the default resolver's ``source``).
    """
    name = info.field_name
    value = parent.get(name) if isinstance(parent, Mapping) else getattr(parent, name, None)
    return value(info, **args) if callable(value) else value


def request_context(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def require_version(info: GraphQLResolveInfo, since: str) -> None:
    if request_context(info).api_version < since:
        raise GraphQLError(f"Field '{info.field_name}' doesn't exist on type 'QueryRoot' "
                           f"before API version {since}.",
                           extensions={"code": "undefinedField"})
