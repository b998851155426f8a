"""Root resolvers of the sandbox's GraphQL subset, over one ``ShopState``.

``QueryRoot`` and ``MutationRoot`` are graphql-core root values: each root field is a method
called with ``(info, **arguments)``; nested objects are plain dicts (callables for fields with
arguments). Mutations follow Shopify's documented behaviour: atomic (any user error writes
nothing), input limits (250 quantities, 25 metafields, 50 theme files) answered as Shopify does,
and ``@idempotent(key:)`` on ``inventorySetQuantities`` (required from API version 2026-04):
the same key with the same arguments returns the first result without writing again; with
other arguments it answers ``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from graphql import ExecutionResult, GraphQLError, GraphQLResolveInfo, execute
from graphql.execution.values import get_directive_values

from hookyard_sandbox.bulk import (
    CONCURRENT_QUERIES_FROM,
    BulkQueryInvalid,
    check_bulk_query,
    jsonl_rows,
    max_running,
)
from hookyard_sandbox.search import normalize_phone, parse_terms
from hookyard_sandbox.state import (
    BulkOperation,
    Customer,
    IdempotencyRecord,
    Metafield,
    ShopState,
    Theme,
    ThemeFile,
    Variant,
    now_iso,
)

MAX_INPUT_ARRAY = 250
MAX_METAFIELDS = 25
MAX_THEME_FILES = 50
MAX_QUANTITY = 1_000_000_000
IDEMPOTENCY_REQUIRED_FROM = "2026-04"
INVENTORY_REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
    "movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock",
    "safety_stock", "shrinkage",
})
THEME_FOLDERS = ("assets/", "blocks/", "config/", "layout/", "locales/", "sections/",
                 "snippets/", "templates/")
# A theme cannot be without these; Shopify refuses to delete them.
REQUIRED_THEME_FILES = frozenset({"layout/theme.liquid", "config/settings_data.json",
                                  "config/settings_schema.json"})
# What themeCreate puts in a new theme: a few files of Shopify's skeleton theme (the default
# source), so a deploy's leftovers from the source show up like they do in a real shop.
SKELETON_FILES = (
    ("layout/theme.liquid", "{{ content_for_header }}{{ content_for_layout }}\n"),
    ("config/settings_schema.json", "[]\n"),
    ("config/settings_data.json", '{"current": {}}\n'),
    ("locales/en.default.json", "{}\n"),
    ("snippets/meta-tags.liquid", "<meta charset=\"utf-8\">\n"),
    ("assets/critical.css", "body { margin: 0; }\n"),
)
METAFIELD_TYPES = frozenset({
    "single_line_text_field", "multi_line_text_field", "number_integer", "number_decimal",
    "boolean", "json", "date", "date_time", "url", "money",
})


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


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


# --- shared shapes ---------------------------------------------------------------------------


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


def _check_first(first: int | None) -> None:
    if first is not None and first > MAX_INPUT_ARRAY:
        raise GraphQLError(
            f"The argument first must be less than or equal to {MAX_INPUT_ARRAY}.",
            extensions={"code": "BAD_REQUEST"},
        )


def _terms(query: str | None) -> list[tuple[str, str]]:
    if not query:
        return []
    try:
        return parse_terms(query)
    except ValueError as exc:
        raise GraphQLError(f"Unsupported search query: {exc}") from None


def _max_input_size(path: list[str], size: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"The input array size of {size} is greater than the maximum allowed of {limit}.",
        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED", "path": path},
    )


# --- views (GraphQL-shaped dicts) ------------------------------------------------------------


class Views:
    def __init__(self, shop: ShopState) -> None:
        self.shop = shop

    def location(self, location_id: str) -> dict[str, Any]:
        return {"id": location_id, "name": self.shop.locations[location_id]}

    def level(self, item_id: str, location_id: str) -> dict[str, Any] | None:
        quantities = self.shop.levels.get((item_id, location_id))
        if quantities is None:
            return None
        level_id = f"{location_id}?inventory_item_id={item_id}"
        return {
            "id": level_id,
            "location": self.location(location_id),
            "quantities": lambda _info, names: [
                {"name": n, "quantity": quantities.get(n, 0)} for n in names
            ],
        }

    def inventory_item(self, item_id: str) -> dict[str, Any]:
        variant = self.shop.variants[self.shop.item_to_variant[item_id]]
        return {
            "id": item_id,
            "sku": variant.sku,
            "tracked": True,
            "inventoryLevel": lambda _info, locationId: self.level(item_id, locationId),
        }

    def variant(self, v: Variant) -> dict[str, Any]:
        return {
            "id": v.id, "sku": v.sku, "title": v.title,
            "product": self.shop.products[v.product_id],
            "inventoryItem": self.inventory_item(v.inventory_item_id),
        }

    def metafield(self, m: Metafield) -> dict[str, Any]:
        return {"id": m.id, "namespace": m.namespace, "key": m.key, "type": m.type,
                "value": m.value, "ownerType": m.owner_type, "createdAt": m.created_at,
                "updatedAt": m.updated_at}

    def customer(self, c: Customer) -> dict[str, Any]:
        owned = self.shop.metafields.get(c.id, {})

        def one(_info: Any, key: str, namespace: str | None = None) -> Any:
            m = owned.get((namespace or "$app", key))
            return None if m is None else self.metafield(m)

        def many(_info: Any, first: int | None = None, after: str | None = None,
                 namespace: str | None = None) -> Any:
            items = [m for m in owned.values() if namespace is None or m.namespace == namespace]
            return connection(items, first, after, self.metafield)

        name = " ".join(p for p in (c.first_name, c.last_name) if p) or c.email or c.phone or ""
        return {"id": c.id, "email": c.email, "phone": c.phone, "firstName": c.first_name,
                "lastName": c.last_name, "displayName": name, "metafield": one,
                "metafields": many}

    def theme_file(self, f: ThemeFile) -> dict[str, Any]:
        content_type = "text/plain" if f.is_text else "application/octet-stream"
        return {"filename": f.filename, "checksumMd5": f.checksum_md5, "size": len(f.content),
                "contentType": content_type, "createdAt": f.created_at,
                "updatedAt": f.updated_at, "body": f.body()}

    def theme(self, t: Theme) -> dict[str, Any]:
        def files(_info: Any, filenames: list[str] | None = None, first: int | None = None,
                  after: str | None = None) -> Any:
            _check_first(first)
            chosen = [
                f for name, f in sorted(t.files.items())
                if not filenames or any(fnmatch.fnmatchcase(name, p) for p in filenames)
            ]
            return connection(chosen, first, after, self.theme_file)

        return {"id": t.id, "name": t.name, "role": t.role, "processing": False,
                "createdAt": t.created_at, "updatedAt": t.updated_at, "files": files}

    def bulk_operation(self, op: BulkOperation, base_url: str) -> dict[str, Any]:
        """A ``BulkOperation`` as of now (call ``op.advance`` first)."""
        def link(token: str | None) -> str | None:
            return None if token is None else f"{base_url}/_sandbox/bulk/{token}.jsonl"

        body = op.body(op.result_token) if op.result_token else None
        return {"id": op.id, "status": op.status, "errorCode": op.error_code,
                "objectCount": str(op.object_count), "rootObjectCount": str(op.object_count),
                "fileSize": None if body is None else str(len(body)),
                "url": link(op.result_token), "partialDataUrl": link(op.partial_token),
                "createdAt": op.created_at, "completedAt": op.completed_at,
                "query": op.query, "type": "QUERY"}


# --- queries ---------------------------------------------------------------------------------


class QueryRoot:
    """Root value of queries."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.views = Views(shop)

    def _page(self, items: Sequence[Any], first: int | None, after: str | None,
              view: Callable[[Any], Any]) -> Any:
        _check_first(first)
        return connection(items, first, after, view)

    def productVariants(self, info: GraphQLResolveInfo, first: int | None = None,
                        after: str | None = None, query: str | None = None) -> Any:
        terms = _terms(query)
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
        terms = _terms(query)
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
        _check_first(first)
        with self.shop.lock:
            chosen = [t for t in self.shop.themes.values() if not roles or t.role in roles]
            return connection(chosen, first, after, self.views.theme)

    def theme(self, info: GraphQLResolveInfo, id: str) -> Any:
        with self.shop.lock:
            t = self.shop.themes.get(id)
            return None if t is None else self.views.theme(t)

    # --- bulk operations --------------------------------------------------------------------

    def bulkOperation(self, info: GraphQLResolveInfo, id: str) -> Any:
        _require_version(info, CONCURRENT_QUERIES_FROM)
        with self.shop.lock:
            op = self.shop.bulk_operations.get(id)
            if op is None:
                return None
            op.advance(time.monotonic())
            return self.views.bulk_operation(op, _ctx(info).base_url)

    def bulkOperations(self, info: GraphQLResolveInfo, first: int | None = None,
                       after: str | None = None, query: str | None = None,
                       reverse: bool = False, sortKey: str = "CREATED_AT") -> Any:
        """Newest first (``reverse`` flips); ``query`` terms ``status:`` and
        ``operation_type:`` joined by OR."""
        _require_version(info, CONCURRENT_QUERIES_FROM)
        terms = _terms(query)
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
            base_url = _ctx(info).base_url
            return self._page(chosen, first, after,
                              lambda op: self.views.bulk_operation(op, base_url))


class BulkQueryRoot(QueryRoot):
    """Root value a bulk query runs against: connections return every node, unpaged."""

    def _page(self, items: Sequence[Any], first: int | None, after: str | None,
              view: Callable[[Any], Any]) -> Any:
        return connection(items, None, None, view, limit=None)


def _require_version(info: GraphQLResolveInfo, since: str) -> None:
    if _ctx(info).api_version < since:
        raise GraphQLError(f"Field '{info.field_name}' doesn't exist on type 'QueryRoot' "
                           f"before API version {since}.",
                           extensions={"code": "undefinedField"})


# --- mutations -------------------------------------------------------------------------------


def _user_error(code: str, field: list[str] | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message, **extra}


def _fingerprint(mutation: str, args: dict[str, Any]) -> str:
    canonical = json.dumps({"mutation": mutation, "args": args}, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class MutationRoot:
    """Root value of mutations; every call is recorded in ``shop.mutations``."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.views = Views(shop)

    # --- bookkeeping ----------------------------------------------------------------------------

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
        if supported and key is None and _ctx(info).api_version >= IDEMPOTENCY_REQUIRED_FROM:
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
            "api_version": _ctx(info).api_version, "idempotency_key": key, "args": args,
            "outcome": outcome, "user_error_codes": codes,
        })

    def _run(self, info: GraphQLResolveInfo, args: dict[str, Any], *, idempotent: bool,
             apply: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = self._idempotency_key(info, supported=idempotent)
        fingerprint = _fingerprint(info.field_name, args)
        with self.shop.lock:
            if key is not None:
                record = self.shop.idempotency.get(key)
                if record is not None and record.fingerprint != fingerprint:
                    payload = {"userErrors": [_user_error(
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

    # --- inventorySetQuantities -------------------------------------------------------------

    def inventorySetQuantities(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
        quantities = input["quantities"]
        if len(quantities) > MAX_INPUT_ARRAY:
            raise _max_input_size(["inventorySetQuantities", "input", "quantities"],
                                  len(quantities), MAX_INPUT_ARRAY)
        return self._run(info, {"input": input}, idempotent=True,
                         apply=lambda: self._set_quantities(info, input))

    def _set_quantities(self, info: GraphQLResolveInfo, data: dict[str, Any]) -> dict[str, Any]:
        shop, errors = self.shop, []
        name, reason = data["name"], data["reason"]
        if name not in ("available", "on_hand"):
            errors.append(_user_error("INVALID_NAME", ["input", "name"],
                                      "The quantity name must be either 'available' or "
                                      "'on_hand'."))
        if reason not in INVENTORY_REASONS:
            errors.append(_user_error("INVALID_REASON", ["input", "reason"],
                                      "The specified reason is invalid."))
        uri = data.get("referenceDocumentUri")
        if uri is not None and not (urlparse(uri).scheme and ":" in uri):
            errors.append(_user_error("INVALID_REFERENCE_DOCUMENT",
                                      ["input", "referenceDocumentUri"],
                                      "The specified reference document is invalid."))
        strict = _ctx(info).api_version >= IDEMPOTENCY_REQUIRED_FROM
        seen: set[tuple[str, str]] = set()
        for i, q in enumerate(data["quantities"]):
            path = ["input", "quantities", str(i)]
            item, location, qty = q["inventoryItemId"], q["locationId"], q["quantity"]
            if strict and "changeFromQuantity" not in q:
                errors.append(_user_error(
                    "COMPARE_QUANTITY_REQUIRED", [*path, "changeFromQuantity"],
                    "changeFromQuantity must be given for each quantity (null skips the "
                    "compare)."))
            if item not in shop.item_to_variant:
                errors.append(_user_error("INVALID_INVENTORY_ITEM", [*path, "inventoryItemId"],
                                          "The specified inventory item could not be found."))
                continue
            if location not in shop.locations:
                errors.append(_user_error("INVALID_LOCATION", [*path, "locationId"],
                                          "The specified location could not be found."))
                continue
            if (item, location) in seen:
                errors.append(_user_error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path,
                    "The combination of inventoryItemId and locationId must be unique."))
            seen.add((item, location))
            level = shop.levels.get((item, location))
            if level is None:
                errors.append(_user_error(
                    "ITEM_NOT_STOCKED_AT_LOCATION", path,
                    "The specified inventory item is not stocked at the location."))
                continue
            if qty > MAX_QUANTITY:
                errors.append(_user_error("INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"],
                                          "The total quantity can't be higher than "
                                          "1,000,000,000."))
            if qty < -MAX_QUANTITY:
                errors.append(_user_error("INVALID_QUANTITY_TOO_LOW", [*path, "quantity"],
                                          "The total quantity can't be lower than "
                                          "-1,000,000,000."))
            if name == "on_hand" and qty < 0:
                errors.append(_user_error("INVALID_QUANTITY_NEGATIVE", [*path, "quantity"],
                                          "The quantity can't be negative."))
            expected = q.get("changeFromQuantity")
            if expected is not None and name in level and level[name] != expected:
                errors.append(_user_error(
                    "CHANGE_FROM_QUANTITY_STALE", [*path, "changeFromQuantity"],
                    "The changeFromQuantity value does not match persisted value."))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = []
        for q in data["quantities"]:
            item, location = q["inventoryItemId"], q["locationId"]
            level = shop.levels[(item, location)]
            delta = q["quantity"] - level[name]
            if delta == 0:
                continue
            level[name] = q["quantity"]
            touched = [name]
            if name == "available":
                level["on_hand"] += delta
                touched.append("on_hand")
            else:
                level["available"] += delta
            for changed in touched:
                changes.append({"name": changed, "delta": delta,
                                "quantityAfterChange": level[changed],
                                "item": self.views.inventory_item(item),
                                "location": self.views.location(location)})
        group = None
        if changes:
            group = {"id": shop.new_id("InventoryAdjustmentGroup"), "createdAt": now_iso(),
                     "reason": reason, "referenceDocumentUri": uri, "changes": changes}
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    # --- metafieldsSet --------------------------------------------------------------------------

    def metafieldsSet(self, info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> Any:
        return self._run(info, {"metafields": metafields}, idempotent=False,
                         apply=lambda: self._set_metafields(metafields))

    def _set_metafields(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        shop = self.shop
        if len(inputs) > MAX_METAFIELDS:
            return {"metafields": None, "userErrors": [_user_error(
                "LESS_THAN_OR_EQUAL_TO", ["metafields"],
                f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS}.")]}
        errors: list[dict[str, Any]] = []
        for i, m in enumerate(inputs):
            path = ["metafields", str(i)]
            namespace = m.get("namespace") or "$app"
            existing = shop.metafields.get(m["ownerId"], {}).get((namespace, m["key"]))
            mtype = m.get("type") or (existing.type if existing else None)
            if m["ownerId"] not in shop.customers:
                errors.append(_user_error("INVALID", [*path, "ownerId"],
                                          "Owner does not exist.", elementIndex=i))
            if not 2 <= len(m["key"]) <= 64:
                code = "TOO_SHORT" if len(m["key"]) < 2 else "TOO_LONG"
                errors.append(_user_error(code, [*path, "key"],
                                          "Key must be 2 to 64 characters.", elementIndex=i))
            if mtype is None:
                errors.append(_user_error("BLANK", [*path, "type"], "Type can't be blank.",
                                          elementIndex=i))
            elif mtype not in METAFIELD_TYPES:
                errors.append(_user_error("INVALID_TYPE", [*path, "type"],
                                          f"Type '{mtype}' is not supported by the sandbox.",
                                          elementIndex=i))
            elif not _valid_metafield_value(mtype, m["value"]):
                errors.append(_user_error("INVALID_VALUE", [*path, "value"],
                                          f"Value is invalid for type '{mtype}'.",
                                          elementIndex=i))
        if errors:
            return {"metafields": None, "userErrors": errors}
        stored = []
        for m in inputs:
            namespace = m.get("namespace") or "$app"
            owned = shop.metafields.setdefault(m["ownerId"], {})
            stamp = now_iso()
            current = owned.get((namespace, m["key"]))
            if current is None:
                current = Metafield(shop.new_id("Metafield"), namespace, m["key"],
                                    m.get("type") or "", m["value"], "CUSTOMER", stamp, stamp)
                owned[(namespace, m["key"])] = current
            current.value, current.updated_at = m["value"], stamp
            current.type = m.get("type") or current.type
            stored.append(self.views.metafield(current))
        return {"metafields": stored, "userErrors": []}

    # --- bulkOperationRunQuery -------------------------------------------------------------

    def bulkOperationRunQuery(self, info: GraphQLResolveInfo, query: str,
                              groupObjects: bool = False) -> Any:
        return self._run(info, {"query": query, "groupObjects": groupObjects},
                         idempotent=False, apply=lambda: self._run_bulk_query(info, query))

    def _run_bulk_query(self, info: GraphQLResolveInfo, text: str) -> dict[str, Any]:
        """Check the query, refuse it when the shop's bulk slots are taken, else run it over
        the shop's state now and release the result over time (``BulkOperation.advance``)."""
        shop, context = self.shop, _ctx(info)
        try:
            document, root = check_bulk_query(info.schema, text)
        except BulkQueryInvalid as exc:
            return {"bulkOperation": None,
                    "userErrors": [_user_error("INVALID", ["query"], str(exc))]}
        now = time.monotonic()
        running = []
        for op in shop.bulk_operations.values():
            op.advance(now)
            if op.running:
                running.append(op)
        limit = max_running(context.api_version, shop.faults.bulk_max_running)
        if len(running) >= limit:
            if context.api_version < CONCURRENT_QUERIES_FROM:
                error = _user_error("OPERATION_IN_PROGRESS", None,
                                    "A bulk query operation for this app and shop is already "
                                    f"in progress: {running[-1].id}.")
            else:
                error = _user_error("LIMIT_REACHED", None,
                                    "Bulk operations limit reached. Please try again later.")
            return {"bulkOperation": None, "userErrors": [error]}
        result = execute(info.schema, document, root_value=BulkQueryRoot(shop),
                         context_value=context, field_resolver=resolve_field)
        assert isinstance(result, ExecutionResult)
        if result.errors:
            return {"bulkOperation": None, "userErrors": [_user_error(
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

    # --- themes -------------------------------------------------------------------------------

    def themeCreate(self, info: GraphQLResolveInfo, source: str, name: str | None = None,
                    role: str | None = None) -> Any:
        args = {"source": source, "name": name, "role": role}
        return self._run(info, args, idempotent=False,
                         apply=lambda: self._create_theme(source, name, role or "UNPUBLISHED"))

    def _create_theme(self, source: str, name: str | None, role: str) -> dict[str, Any]:
        parsed = urlparse(source)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return {"theme": None, "userErrors": [_user_error(
                "INVALID", ["source"], "Source must be an http(s) URL of a theme zip.")]}
        if role not in ("UNPUBLISHED", "DEVELOPMENT"):
            return {"theme": None, "userErrors": [_user_error(
                "INVALID_THEME_ROLE_FOR_THEME_CREATION", ["role"],
                "Themes can only be created with role UNPUBLISHED or DEVELOPMENT.")]}
        stamp = now_iso()
        theme = Theme(self.shop.new_id("OnlineStoreTheme"),
                      name or parsed.path.rsplit("/", 1)[-1] or "Theme", role, stamp, stamp,
                      source)
        for filename, content in SKELETON_FILES:
            theme.files[filename] = ThemeFile(filename, content.encode(), True, stamp, stamp)
        self.shop.themes[theme.id] = theme
        return {"theme": self.views.theme(theme), "userErrors": []}

    def themeFilesUpsert(self, info: GraphQLResolveInfo, themeId: str,
                         files: list[dict[str, Any]]) -> Any:
        return self._run(info, {"themeId": themeId, "files": files}, idempotent=False,
                         apply=lambda: self._upsert_files(themeId, files))

    def _files_target(self, theme_id: str, count: int) -> Theme | list[dict[str, Any]]:
        """The theme a file mutation of ``count`` files changes, or its user errors."""
        if count > MAX_THEME_FILES:
            return [_user_error(
                "LESS_THAN_OR_EQUAL_TO", ["files"],
                f"The number of files must be less than or equal to {MAX_THEME_FILES}.")]
        theme = self.shop.themes.get(theme_id)
        if theme is None:
            return [_user_error("NOT_FOUND", ["themeId"], "The theme could not be found.")]
        return theme

    def _upsert_files(self, theme_id: str, files: list[dict[str, Any]]) -> dict[str, Any]:
        empty: dict[str, Any] = {"job": None, "upsertedThemeFiles": None}
        theme = self._files_target(theme_id, len(files))
        if isinstance(theme, list):
            return {**empty, "userErrors": theme}
        errors: list[dict[str, Any]] = []
        decoded: list[tuple[str, bytes, bool]] = []
        names = [f["filename"] for f in files]
        for i, f in enumerate(files):
            path, filename = ["files", str(i)], f["filename"]
            if names.count(filename) > 1:
                errors.append(_user_error("DUPLICATE_FILE_INPUT", path,
                                          "There are files with the same filename.",
                                          filename=filename))
                continue
            if not filename.startswith(THEME_FOLDERS) or ".." in filename:
                errors.append(_user_error("FILE_VALIDATION_ERROR", [*path, "filename"],
                                          "The file is invalid: not in a theme folder.",
                                          filename=filename))
                continue
            body = f["body"]
            if body["type"] == "TEXT":
                decoded.append((filename, body["value"].encode(), True))
            elif body["type"] == "BASE64":
                try:
                    decoded.append((filename, base64.b64decode(body["value"], validate=True),
                                    False))
                except binascii.Error:
                    errors.append(_user_error("FILE_VALIDATION_ERROR", [*path, "body"],
                                              "The file is invalid: bad base64.",
                                              filename=filename))
            else:
                errors.append(_user_error("FILE_VALIDATION_ERROR", [*path, "body"],
                                          "URL bodies are not supported by the sandbox.",
                                          filename=filename))
        if errors:
            return {**empty, "userErrors": errors}
        stamp = now_iso()
        results = []
        for filename, content, is_text in decoded:
            previous = theme.files.get(filename)
            created = previous.created_at if previous else stamp
            theme.files[filename] = ThemeFile(filename, content, is_text, created, stamp)
            results.append({"filename": filename, "checksumMd5": theme.files[filename].checksum_md5,
                            "size": len(content), "createdAt": created, "updatedAt": stamp})
        theme.updated_at = stamp
        return {"job": {"id": self.shop.new_id("Job"), "done": True},
                "upsertedThemeFiles": results, "userErrors": []}


    def themeFilesDelete(self, info: GraphQLResolveInfo, themeId: str, files: list[str]) -> Any:
        return self._run(info, {"themeId": themeId, "files": files}, idempotent=False,
                         apply=lambda: self._delete_files(themeId, files))

    def _delete_files(self, theme_id: str, filenames: list[str]) -> dict[str, Any]:
        """All or nothing, like the upsert: any problem answers user errors and deletes none
        (a file the theme does not have is ``NOT_FOUND``)."""
        theme = self._files_target(theme_id, len(filenames))
        if isinstance(theme, list):
            return {"deletedThemeFiles": None, "userErrors": theme}
        errors = []
        for i, filename in enumerate(filenames):
            if filename in REQUIRED_THEME_FILES:
                errors.append(_user_error("FILE_VALIDATION_ERROR", ["files", str(i)],
                                          "This file is required and cannot be deleted.",
                                          filename=filename))
            elif filename not in theme.files:
                errors.append(_user_error("NOT_FOUND", ["files", str(i)],
                                          "The file could not be found.", filename=filename))
        if errors:
            return {"deletedThemeFiles": None, "userErrors": errors}
        stamp = now_iso()
        results = []
        for filename in dict.fromkeys(filenames):
            removed = theme.files.pop(filename)
            results.append({"filename": filename, "checksumMd5": removed.checksum_md5,
                            "size": len(removed.content), "createdAt": removed.created_at,
                            "updatedAt": stamp})
        theme.updated_at = stamp
        return {"deletedThemeFiles": results, "userErrors": []}


def _valid_metafield_value(mtype: str, value: str) -> bool:
    try:
        if mtype == "number_integer":
            int(value)
        elif mtype == "number_decimal":
            Decimal(value)
        elif mtype == "boolean":
            return value in ("true", "false")
        elif mtype in ("json", "money"):
            json.loads(value)
    except (ValueError, InvalidOperation):
        return False
    return True
