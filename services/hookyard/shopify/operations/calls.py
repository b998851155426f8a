"""What every operation's call shares: the client it runs on, the cost rules, page size, and
``userErrors`` turned into the error tree.

Cost estimates follow Shopify's calculated query cost: scalars and enums 0, objects 1,
connections 2 + ``first`` x the cost of one node, mutations 10. They are only what the budget
reserves up front; the answer's ``requestedQueryCost`` corrects them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hookyard.base.errors import ShopifyError, ShopifyRejected

MAX_PAGE_SIZE = 250
MUTATION_COST = 10

RETRYABLE_USER_ERROR_CODES = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST"})


class Executor(Protocol):
    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, estimated_cost: int
    ) -> dict[str, Any]: ...


def connection_cost(first: int, node_cost: int) -> int:
    """Shopify's requested cost of a connection of ``first`` nodes costing ``node_cost`` each."""
    return 2 + first * node_cost


def raise_for_user_errors(operation: str, user_errors: Sequence[Mapping[str, Any]] | None) -> None:
    """Raise the error-tree exception for a mutation's non-empty ``userErrors``."""
    if not user_errors:
        return
    codes = [str(e.get("code")) for e in user_errors if e.get("code")]
    text = "; ".join(
        f"{'.'.join(map(str, e.get('field') or [])) or '-'}: {e.get('message', '')}"
        for e in user_errors[:10]
    )
    message = f"Shopify {operation} answered user errors: {text}"
    error: ShopifyError | ShopifyRejected
    if codes and RETRYABLE_USER_ERROR_CODES.issuperset(codes):
        error = ShopifyError(message)
    else:
        error = ShopifyRejected(message)
    error.details = {"codes": codes, "user_errors": [dict(e) for e in user_errors]}
    raise error


def search_term(field: str, value: str) -> str:
    """One ``field:value`` term of Shopify's search syntax, quoted and escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'
