"""Shopify GraphQL Admin API: the client, its shared rate budget and the operations we send.

Importing this package does nothing but define names; see ``client``, ``budget``, ``breaker``,
``cost`` and ``operations``.
"""

from hookyard.shopify.breaker import CircuitBreaker
from hookyard.shopify.budget import PLAN_PRESETS, RateBudget, Reservation, plan_preset
from hookyard.shopify.client import DEFAULT_MAX_THROTTLE_WAIT_SECONDS, ShopifyClient
from hookyard.shopify.cost import MAX_QUERY_COST, QueryCost, ThrottleStatus

__all__ = [
    "DEFAULT_MAX_THROTTLE_WAIT_SECONDS",
    "MAX_QUERY_COST",
    "PLAN_PRESETS",
    "CircuitBreaker",
    "QueryCost",
    "RateBudget",
    "Reservation",
    "ShopifyClient",
    "ThrottleStatus",
    "plan_preset",
]
