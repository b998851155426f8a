"""Root resolvers of the sandbox's GraphQL subset, over one ``ShopState``.

``QueryRoot`` and ``MutationRoot`` are graphql-core root values: each root field is a method
called with ``(info, **arguments)``; nested objects are plain dicts (callables for fields with
arguments). Mutations follow Shopify's documented behaviour: atomic (any user error writes
nothing), input limits (250 quantities, 25 metafields, 50 theme files) answered as Shopify does,
and ``@idempotent(key:)`` on ``inventorySetQuantities`` (required from API version 2026-04):
the same key with the same arguments returns the first result without writing again; with
other arguments it answers ``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``.

The modules: ``context`` (the request's context and the field resolver), ``connections``
(Relay connections, paging and search arguments), ``views`` (state as GraphQL-shaped dicts),
``queries`` (``QueryRoot``, and ``BulkQueryRoot`` that bulk queries run against),
``recorded_mutations`` (how every mutation runs: locked, recorded, idempotent), one module of
mutations per Shopify domain (``inventory_mutations``, ``metafield_mutations``,
``theme_mutations``, ``bulk_mutations``) and ``mutations`` (``MutationRoot``, all of them).
"""

from hookyard_sandbox.resolvers.context import RequestContext, resolve_field
from hookyard_sandbox.resolvers.mutations import MutationRoot
from hookyard_sandbox.resolvers.queries import QueryRoot

__all__ = ["MutationRoot", "QueryRoot", "RequestContext", "resolve_field"]
