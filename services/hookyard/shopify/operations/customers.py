"""Customer operations: customers found by phone or email, page after page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.shopify.operations.calls import (
    MAX_PAGE_SIZE,
    Executor,
    connection_cost,
    search_term,
)

CUSTOMERS_BY_CONTACT = """
query CustomersByContact($first: Int!, $query: String!, $after: String) {
  customers(first: $first, query: $query, after: $after) {
    edges { node { id email phone } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
MAX_CUSTOMER_SEARCH_PAGES = 5
"""Pages ``search_customers`` reads at most; a search answering more is ``complete=False``."""


@dataclass(frozen=True)
class CustomerSearch:
    """What a customer search answered: ``customers`` (``{"id", "email", "phone"}``, in
    Shopify's order) and whether that is every customer it matched (``complete``)."""

    customers: list[dict[str, Any]]
    complete: bool


def search_customers(
    client: Executor, *, phones: Sequence[str] = (), emails: Sequence[str] = (), first: int = 10,
    max_pages: int = MAX_CUSTOMER_SEARCH_PAGES,
) -> CustomerSearch:
    """Customers Shopify's search finds by any of the phones or emails, page after page (up to
    ``max_pages`` of ``first``).

    Shopify's search is not an exact match (it may answer more customers than have exactly
    these details), so a caller that needs one customer per contact filters the answer and
    relies on ``complete`` to know it saw every candidate.
    """
    terms = [search_term("phone", p) for p in phones if p]
    terms += [search_term("email", e) for e in emails if e]
    if not terms:
        return CustomerSearch([], complete=True)
    first = max(1, min(first, MAX_PAGE_SIZE))
    query = " OR ".join(terms)
    found: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(max_pages):
        data = client.execute(
            CUSTOMERS_BY_CONTACT,
            {"first": first, "query": query, "after": after},
            estimated_cost=connection_cost(first, 1),
        )
        page = data["customers"]
        found += [edge["node"] for edge in page["edges"]]
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return CustomerSearch(found, complete=True)
        after = info["endCursor"]
    return CustomerSearch(found, complete=False)


def find_customers(
    client: Executor, *, phones: Sequence[str] = (), emails: Sequence[str] = (), first: int = 10
) -> list[dict[str, Any]]:
    """The first page of ``search_customers``: customers whose phone or email matches any given
    one (by Shopify's search, not exactly), ``[{"id", "email", "phone"}]``."""
    return search_customers(client, phones=phones, emails=emails, first=first,
                            max_pages=1).customers
