"""Root values of queries: ``QueryRoot`` for requests, ``BulkQueryRoot`` for bulk queries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from hookyard_sandbox.bulk import CONCURRENT_QUERIES_FROM
from hookyard_sandbox.resolvers.connections import check_first, connection, search_terms
from hookyard_sandbox.resolvers.context import request_context, require_version
from hookyard_sandbox.resolvers.views import Views
from hookyard_sandbox.search import normalize_phone
from hookyard_sandbox.state import Customer, ShopState, Variant


class QueryRoot:
    """Root value of queries."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.views = Views(shop)

    def _page(self, items: Sequence[Any], first: int | None, after: str | None,
              view: Callable[[Any], Any]) -> Any:
        check_first(first)
        return connection(items, first, after, view)

    def productVariants(self, info: GraphQLResolveInfo, first: int | None = None,
                        after: str | None = None, query: str | None = None) -> Any:
        terms = search_terms(query)
        with self.shop.lock:
            matches = [v for v in self.shop.variants.values() if self._variant_matches(v, terms)]
            return self._page(matches, first, after, self.views.variant)

    @staticmethod
    def _variant_matches(v: Variant, terms: list[tuple[str, str]]) -> bool:
        if not terms:
            return True
        return any(f == "sku" and v.sku == value for f, value in terms)

    def customers(self, info: GraphQLResolveInfo, first: int | None = None,
                  after: str | None = None, query: str | None = None) -> Any:
        terms = search_terms(query)
        with self.shop.lock:
            matches = [c for c in self.shop.customers.values() if self._customer_matches(c, terms)]
            return self._page(matches, first, after, self.views.customer)

    @staticmethod
    def _customer_matches(c: Customer, terms: list[tuple[str, str]]) -> bool:
        if not terms:
            return True
        for f, value in terms:
            if f == "email" and c.email and c.email.lower() == value.lower():
                return True
            if f == "phone" and c.phone and normalize_phone(c.phone) == normalize_phone(value):
                return True
        return False

    def customer(self, info: GraphQLResolveInfo, id: str) -> Any:
        with self.shop.lock:
            c = self.shop.customers.get(id)
            return None if c is None else self.views.customer(c)

    def inventoryItem(self, info: GraphQLResolveInfo, id: str) -> Any:
        with self.shop.lock:
            if id not in self.shop.item_to_variant:
                return None
            return self.views.inventory_item(id)

    def location(self, info: GraphQLResolveInfo, id: str) -> Any:
        return self.views.location(id) if id in self.shop.locations else None

    def themes(self, info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
               roles: list[str] | None = None) -> Any:
        check_first(first)
        with self.shop.lock:
            chosen = [t for t in self.shop.themes.values() if not roles or t.role in roles]
            return connection(chosen, first, after, self.views.theme)

    def theme(self, info: GraphQLResolveInfo, id: str) -> Any:
        with self.shop.lock:
            t = self.shop.themes.get(id)
            return None if t is None else self.views.theme(t)

    # --- bulk operations --------------------------------------------------------------------

    def bulkOperation(self, info: GraphQLResolveInfo, id: str) -> Any:
        require_version(info, CONCURRENT_QUERIES_FROM)
        with self.shop.lock:
            op = self.shop.bulk_operations.get(id)
            if op is None:
                return None
            op.advance(time.monotonic())
            return self.views.bulk_operation(op, request_context(info).base_url)

    def bulkOperations(self, info: GraphQLResolveInfo, first: int | None = None,
                       after: str | None = None, query: str | None = None,
                       reverse: bool = False, sortKey: str = "CREATED_AT") -> Any:
        """Newest first (``reverse`` flips); ``query`` terms ``status:`` and
        ``operation_type:`` joined by OR."""
        require_version(info, CONCURRENT_QUERIES_FROM)
        terms = search_terms(query)
        unknown = sorted({f for f, _ in terms} - {"status", "operation_type"})
        if unknown:
            raise GraphQLError(f"Unsupported search field(s) for bulkOperations: {unknown}.")
        now = time.monotonic()
        with self.shop.lock:
            ops = list(self.shop.bulk_operations.values())
            for op in ops:
                op.advance(now)
            chosen = [op for op in ops if not terms or any(
                (f == "status" and op.status == v.upper())
                or (f == "operation_type" and v.upper() == "QUERY") for f, v in terms)]
            if sortKey == "COMPLETED_AT":
                chosen.sort(key=lambda op: op.completed_at or "")
            chosen.reverse()  # newest first, as Shopify lists them by default
            if reverse:
                chosen.reverse()
            base_url = request_context(info).base_url
            return self._page(chosen, first, after,
                              lambda op: self.views.bulk_operation(op, base_url))


class BulkQueryRoot(QueryRoot):
    """Root value a bulk query runs against: connections return every node, unpaged."""

    def _page(self, items: Sequence[Any], first: int | None, after: str | None,
              view: Callable[[Any], Any]) -> Any:
        return connection(items, None, None, view, limit=None)
