"""Relay connections and the arguments that page and filter them (``first``, ``after``,
``query``), with Shopify's limit of 250 nodes a page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLError

from hookyard_sandbox.search import parse_terms

MAX_INPUT_ARRAY = 250


def connection(
    items: Sequence[Any], first: int | None, after: str | None, view: Callable[[Any], Any],
    *, limit: int | None = MAX_INPUT_ARRAY,
) -> dict[str, Any]:
    """A Relay connection over ``items`` (cursor = base64 of the index); at most ``limit``
    nodes (None: all of them, as a bulk query reads a connection)."""
    start = 0
    if after:
        try:
            start = int(base64.b64decode(after).decode().removeprefix("cursor:")) + 1
        except (ValueError, binascii.Error):
            raise GraphQLError(f"Invalid cursor {after!r}.") from None
    if limit is None:
        size = len(items)
    else:
        size = limit if first is None else max(0, min(first, limit))
    page = list(enumerate(items))[start:start + size]
    edges = [
        {"cursor": base64.b64encode(f"cursor:{i}".encode()).decode(), "node": view(item)}
        for i, item in page
    ]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "pageInfo": {
            "hasNextPage": start + len(page) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def check_first(first: int | None) -> None:
    if first is not None and first > MAX_INPUT_ARRAY:
        raise GraphQLError(
            f"The argument first must be less than or equal to {MAX_INPUT_ARRAY}.",
            extensions={"code": "BAD_REQUEST"},
        )


def search_terms(query: str | None) -> list[tuple[str, str]]:
    if not query:
        return []
    try:
        return parse_terms(query)
    except ValueError as exc:
        raise GraphQLError(f"Unsupported search query: {exc}") from None
