"""How every mutation runs: under the shop's lock, recorded in ``shop.mutations``, and with
``@idempotent(key:)`` where the field supports it; and the user errors mutations answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_directive_values

from hookyard_sandbox.resolvers.context import request_context
from hookyard_sandbox.resolvers.views import Views
from hookyard_sandbox.state import IdempotencyRecord, ShopState, now_iso

IDEMPOTENCY_REQUIRED_FROM = "2026-04"


def user_error(code: str, field: list[str] | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message, **extra}


def _fingerprint(mutation: str, args: dict[str, Any]) -> str:
    canonical = json.dumps({"mutation": mutation, "args": args}, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def max_input_size_error(path: list[str], size: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"The input array size of {size} is greater than the maximum allowed of {limit}.",
        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED", "path": path},
    )


class RecordedMutations:
    """Base of the mutation root values: ``_run`` applies a mutation and records it."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.views = Views(shop)

    def _idempotency_key(self, info: GraphQLResolveInfo, *, supported: bool) -> str | None:
        directive = info.schema.get_directive("idempotent")
        assert directive is not None
        values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
        key = None if values is None else str(values["key"])
        if key is not None and not supported:
            raise GraphQLError(
                f"The @idempotent directive is not supported on field '{info.field_name}'.",
                extensions={"code": "BAD_REQUEST"},
            )
        if (supported and key is None
                and request_context(info).api_version >= IDEMPOTENCY_REQUIRED_FROM):
            raise GraphQLError(
                f"The @idempotent directive is required for '{info.field_name}' as of API "
                f"version {IDEMPOTENCY_REQUIRED_FROM}.",
                extensions={"code": "BAD_REQUEST"},
            )
        return key

    def _record(self, info: GraphQLResolveInfo, args: dict[str, Any], key: str | None,
                outcome: str, payload: dict[str, Any]) -> None:
        codes = [e["code"] for e in payload.get("userErrors") or []]
        self.shop.mutations.append({
            "seq": len(self.shop.mutations) + 1, "at": now_iso(), "mutation": info.field_name,
            "api_version": request_context(info).api_version, "idempotency_key": key,
            "args": args, "outcome": outcome, "user_error_codes": codes,
        })

    def _run(self, info: GraphQLResolveInfo, args: dict[str, Any], *, idempotent: bool,
             apply: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = self._idempotency_key(info, supported=idempotent)
        fingerprint = _fingerprint(info.field_name, args)
        with self.shop.lock:
            if key is not None:
                record = self.shop.idempotency.get(key)
                if record is not None and record.fingerprint != fingerprint:
                    payload = {"userErrors": [user_error(
                        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", None,
                        "The same idempotency key cannot be used with different operation "
                        "parameters.")]}
                    self._record(info, args, key, "rejected", payload)
                    return payload
                if record is not None:
                    self._record(info, args, key, "replayed", record.payload)
                    result: dict[str, Any] = record.payload
                    return result
            payload = apply()
            failed = bool(payload.get("userErrors"))
            self._record(info, args, key, "user_errors" if failed else "applied", payload)
            if key is not None and not failed:
                self.shop.idempotency[key] = IdempotencyRecord(info.field_name, fingerprint,
                                                               payload)
            return payload
