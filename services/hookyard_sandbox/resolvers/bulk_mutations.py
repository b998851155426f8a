"""``bulkOperationRunQuery``: checks the query, keeps to the shop's bulk slots, runs it over the
shop's state and releases the result over time."""

from __future__ import annotations

import time
from typing import Any

from graphql import ExecutionResult, GraphQLResolveInfo, execute

from hookyard_sandbox.bulk import (
    CONCURRENT_QUERIES_FROM,
    BulkQueryInvalid,
    check_bulk_query,
    jsonl_rows,
    max_running,
)
from hookyard_sandbox.resolvers.context import request_context, resolve_field
from hookyard_sandbox.resolvers.queries import BulkQueryRoot
from hookyard_sandbox.resolvers.recorded_mutations import RecordedMutations, user_error
from hookyard_sandbox.state import BulkOperation, now_iso


class BulkOperationMutations(RecordedMutations):
    """``bulkOperationRunQuery``."""

    def bulkOperationRunQuery(self, info: GraphQLResolveInfo, query: str,
                              groupObjects: bool = False) -> Any:
        return self._run(info, {"query": query, "groupObjects": groupObjects},
                         idempotent=False, apply=lambda: self._run_bulk_query(info, query))

    def _run_bulk_query(self, info: GraphQLResolveInfo, text: str) -> dict[str, Any]:
        """Check the query, refuse it when the shop's bulk slots are taken, else run it over
        the shop's state now and release the result over time (``BulkOperation.advance``)."""
        shop, context = self.shop, request_context(info)
        try:
            document, root = check_bulk_query(info.schema, text)
        except BulkQueryInvalid as exc:
            return {"bulkOperation": None,
                    "userErrors": [user_error("INVALID", ["query"], str(exc))]}
        now = time.monotonic()
        running = []
        for op in shop.bulk_operations.values():
            op.advance(now)
            if op.running:
                running.append(op)
        limit = max_running(context.api_version, shop.faults.bulk_max_running)
        if len(running) >= limit:
            if context.api_version < CONCURRENT_QUERIES_FROM:
                error = user_error("OPERATION_IN_PROGRESS", None,
                                   "A bulk query operation for this app and shop is already "
                                   f"in progress: {running[-1].id}.")
            else:
                error = user_error("LIMIT_REACHED", None,
                                   "Bulk operations limit reached. Please try again later.")
            return {"bulkOperation": None, "userErrors": [error]}
        result = execute(info.schema, document, root_value=BulkQueryRoot(shop),
                         context_value=context, field_resolver=resolve_field)
        assert isinstance(result, ExecutionResult)
        if result.errors:
            return {"bulkOperation": None, "userErrors": [user_error(
                "INVALID", ["query"], f"Invalid bulk query: {result.errors[0].message}")]}
        faults = shop.faults
        outcome, error_code = "COMPLETED", None
        if faults.bulk_fail_next > 0:
            faults.bulk_fail_next -= 1
            outcome, error_code = "FAILED", faults.bulk_error_code
        elif faults.bulk_cancel_next > 0:
            faults.bulk_cancel_next -= 1
            outcome = "CANCELED"
        op = BulkOperation(id=shop.new_id("BulkOperation"), query=text,
                           rows=jsonl_rows(result.data, root), created_at=now_iso(),
                           started=now, start_seconds=faults.bulk_start_seconds,
                           rows_per_second=faults.bulk_rows_per_second, outcome=outcome,
                           error_code=error_code)
        shop.bulk_operations[op.id] = op
        shop.stats.bulk_operations += 1
        op.advance(now)
        return {"bulkOperation": self.views.bulk_operation(op, context.base_url),
                "userErrors": []}
