"""Shopify bulk queries: start one (or join the one already running), poll it, read its JSONL.

A bulk query exports a whole connection (every variant, every customer) for the cost of one
mutation, 10 points, whatever the size of the catalogue. Shopify runs it in the background;
once it is ``COMPLETED`` its ``url`` holds the result as JSONL, one node per line, fetched with a
plain HTTP GET outside the GraphQL rate limit. Starting and polling go through
``ShopifyClient.execute``, so they are paced by the shop's shared ``RateBudget`` like any other
call (a poll is a 1-point query).

Written for Admin API 2026-01 and later, like the rest of Hookyard's operations: polls with
``bulkOperation(id:)`` (``currentBulkOperation`` is deprecated from 2026-01) and lists running
operations with ``bulkOperations(query: "status:...")``. From 2026-01 an app may run five bulk
queries per shop at once (one before). When the slots are taken, ``bulkOperationRunQuery``
answers the user error ``LIMIT_REACHED`` (``OPERATION_IN_PROGRESS`` before 2026-01):
``start_bulk_query`` then joins a running operation with the same query text instead of failing,
and raises ``ShopifyBulkBusy`` only when the running ones are other queries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from hookyard.base.errors import ShopifyBulkBusy, ShopifyBulkFailed
from hookyard.shopify.operations.calls import (
    MUTATION_COST,
    Executor,
    connection_cost,
    raise_for_user_errors,
)

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
BUSY_CODES = frozenset({"LIMIT_REACHED", "OPERATION_IN_PROGRESS"})
MAX_CONCURRENT_QUERIES = 5
"""Bulk queries an app may run per shop at once from API 2026-01."""
FIRST_POLL_SECONDS = 0.25
MAX_POLL_SECONDS = 1.0
POLL_BACKOFF = 1.5
"""Polls back off from ``FIRST_POLL_SECONDS`` by this factor up to ``MAX_POLL_SECONDS``. A batch
waits for the result, so detecting completion late costs it directly (a poll every 5 s made
a 2 s export look like 2.4-2.8 s); a poll costs 1 point, so polling every second while a
long export runs spends at most 1 of a Standard shop's 100 points/s."""

_FIELDS = "id status errorCode objectCount url partialDataUrl createdAt completedAt query"

BULK_OPERATION_RUN_QUERY = f"""
mutation BulkOperationRunQuery($query: String!) {{
  bulkOperationRunQuery(query: $query) {{
    bulkOperation {{ {_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

BULK_OPERATION = f"""
query BulkOperation($id: ID!) {{
  bulkOperation(id: $id) {{ {_FIELDS} }}
}}
"""

RUNNING_BULK_OPERATIONS = f"""
query RunningBulkOperations($first: Int!) {{
  bulkOperations(first: $first, query: "status:created OR status:running") {{
    nodes {{ {_FIELDS} }}
  }}
}}
"""


@dataclass(frozen=True)
class BulkOperation:
    """One bulk operation as Shopify last reported it."""

    id: str
    status: str
    error_code: str | None = None
    object_count: int = 0
    url: str | None = None
    """The JSONL result once ``COMPLETED``; None when the query matched nothing."""
    partial_data_url: str | None = None
    query: str = ""
    created_at: str | None = None
    completed_at: str | None = None

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> BulkOperation:
        return cls(id=str(node["id"]), status=str(node["status"]),
                   error_code=node.get("errorCode"),
                   object_count=int(node.get("objectCount") or 0), url=node.get("url"),
                   partial_data_url=node.get("partialDataUrl"), query=node.get("query") or "",
                   created_at=node.get("createdAt"), completed_at=node.get("completedAt"))

    @property
    def done(self) -> bool:
        """Shopify will not change it any more (completed, failed, canceled or expired)."""
        return self.status in TERMINAL_STATUSES


def same_query(a: str, b: str) -> bool:
    """Whether two bulk query texts are the same query (whitespace aside)."""
    return a.split() == b.split()


def start_bulk_query(client: Executor, query: str) -> tuple[BulkOperation, bool]:
    """Start a bulk query, or join a running one with the same text; returns the operation and
    whether it was joined. Raises ``ShopifyBulkBusy`` when other queries hold every slot, and
    ``ShopifyRejected`` for an invalid query."""
    data = client.execute(BULK_OPERATION_RUN_QUERY, {"query": query},
                          estimated_cost=MUTATION_COST)
    payload = data["bulkOperationRunQuery"] or {}
    user_errors = payload.get("userErrors") or []
    codes = {str(e.get("code")) for e in user_errors}
    if user_errors and codes <= BUSY_CODES:
        running = running_bulk_queries(client)
        for operation in running:
            if same_query(operation.query, query):
                return operation, True
        raise ShopifyBulkBusy(f"Shopify runs {len(running)} other bulk queries for this shop "
                              f"({', '.join(sorted(codes))}); start again once one has ended.")
    raise_for_user_errors("bulkOperationRunQuery", user_errors)
    return BulkOperation.from_node(payload["bulkOperation"]), False


def get_bulk_operation(client: Executor, operation_id: str) -> BulkOperation | None:
    """The operation as Shopify reports it now (None if Shopify does not know it)."""
    data = client.execute(BULK_OPERATION, {"id": operation_id}, estimated_cost=1)
    node = data.get("bulkOperation")
    return None if node is None else BulkOperation.from_node(node)


def running_bulk_queries(client: Executor) -> list[BulkOperation]:
    """The app's bulk operations of this shop that are created or running, newest first."""
    data = client.execute(RUNNING_BULK_OPERATIONS, {"first": MAX_CONCURRENT_QUERIES},
                          estimated_cost=connection_cost(MAX_CONCURRENT_QUERIES, 1))
    return [BulkOperation.from_node(node) for node in data["bulkOperations"]["nodes"]]


def wait_for_bulk_operation(client: Executor, operation: BulkOperation, *, deadline: float,
                            clock: Callable[[], float] = time.monotonic,
                            sleep: Callable[[float], None] = time.sleep) -> BulkOperation:
    """Poll until the operation is ``done`` or ``clock()`` reaches ``deadline``; returns the
    last state seen (not ``done`` when the deadline came first).

    Polls back off (``FIRST_POLL_SECONDS`` x ``POLL_BACKOFF`` up to ``MAX_POLL_SECONDS``); each
    poll is a budgeted 1-point query. ``ShopifyBulkFailed`` if Shopify forgets the operation.
    """
    interval = FIRST_POLL_SECONDS
    while not operation.done:
        remaining = deadline - clock()
        if remaining <= 0:
            return operation
        sleep(min(interval, remaining))
        interval = min(MAX_POLL_SECONDS, interval * POLL_BACKOFF)
        polled = get_bulk_operation(client, operation.id)
        if polled is None:
            raise ShopifyBulkFailed(f"Shopify no longer knows bulk operation {operation.id}; "
                                    "start a new one.")
        operation = polled
    return operation


def iter_bulk_rows(url: str | None, *, connect_timeout_seconds: float,
                   read_timeout_seconds: float, deadline: float | None = None,
                   clock: Callable[[], float] = time.monotonic,
                   session: requests.Session | None = None) -> Iterator[dict[str, Any]]:
    """Stream the JSONL file of a completed bulk query, one decoded row at a time.

    ``url`` None (a query that matched nothing) yields nothing. The download is a plain GET
    (the URL is pre-signed, so it is never logged or put in a message); the timeouts bound the
    connection and each read, ``deadline`` the whole download. Any failure is
    ``ShopifyBulkFailed``.
    """
    if url is None:
        return
    http = session or requests.Session()
    try:
        with http.get(url, stream=True,
                      timeout=(connect_timeout_seconds, read_timeout_seconds)) as response:
            if response.status_code != 200:
                raise ShopifyBulkFailed(f"The bulk result download answered HTTP "
                                        f"{response.status_code}; it may be retried.")
            for line in response.iter_lines():
                if deadline is not None and clock() > deadline:
                    raise ShopifyBulkFailed("The bulk result download took too long; it may be "
                                            "retried.")
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise ShopifyBulkFailed("The bulk result is not JSONL.") from None
                if isinstance(row, dict):
                    yield row
    except requests.RequestException as exc:
        raise ShopifyBulkFailed(f"The bulk result download failed ({type(exc).__name__}); it "
                                "may be retried.") from None
    finally:
        if session is None:
            http.close()
