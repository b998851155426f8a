"""The GraphQL operations Hookyard sends to Shopify: query text, cost estimate, result parsing.

One function per operation; each takes a ``ShopifyClient`` (anything with its ``execute``),
enforces Shopify's input limits *before* calling (a programming error raises ``ValueError``), and
turns ``userErrors`` into the error tree: ``IDEMPOTENCY_CONCURRENT_REQUEST`` is retryable
(``ShopifyError``), every other user error is ``ShopifyRejected`` with the codes in
``details["codes"]``.

Cost estimates follow Shopify's calculated query cost: scalars and enums 0, objects 1,
connections 2 + ``first`` x the cost of one node, mutations 10. They are only what the budget
reserves up front; the answer's ``requestedQueryCost`` corrects them.

Shapes follow the Admin API 2026-04 and later: ``inventorySetQuantities`` takes
``changeFromQuantity`` on every quantity (``None`` = no compare-and-swap; ``ignoreCompareQuantity``
is gone) and requires an ``@idempotent(key:)`` directive on the mutation field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hookyard.base.errors import ShopifyError, ShopifyRejected

MAX_INVENTORY_QUANTITIES = 250
MAX_METAFIELDS = 25
MAX_THEME_FILES = 50
MAX_PAGE_SIZE = 250
MUTATION_COST = 10
SKUS_PER_LOOKUP = 50
"""SKUs per ``productVariants`` lookup: the page holds two variants per SKU (cost 2 + 2 x 100)."""

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


# --- inventory -------------------------------------------------------------------------------

INVENTORY_SET_QUANTITIES = """
mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      id
      reason
      referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}
"""


@dataclass(frozen=True)
class InventoryQuantity:
    """One absolute quantity to set; ``change_from`` None skips Shopify's compare-and-swap."""

    inventory_item_id: str
    location_id: str
    quantity: int
    change_from: int | None = None

    def as_input(self) -> dict[str, Any]:
        return {
            "inventoryItemId": self.inventory_item_id,
            "locationId": self.location_id,
            "quantity": self.quantity,
            "changeFromQuantity": self.change_from,
        }


def set_inventory_quantities(
    client: Executor,
    quantities: Sequence[InventoryQuantity],
    *,
    idempotency_key: str,
    reference_document_uri: str,
    reason: str = "correction",
    name: str = "available",
) -> dict[str, Any] | None:
    """Set absolute ``name`` quantities (at most 250) in one atomic, idempotent mutation.

    Returns the ``inventoryAdjustmentGroup`` (None when nothing changed). The same
    ``idempotency_key`` with the same quantities is applied once however often it is sent; reuse
    it for retries of one logical write only.
    """
    if not quantities:
        raise ValueError("set_inventory_quantities needs at least one quantity")
    if len(quantities) > MAX_INVENTORY_QUANTITIES:
        raise ValueError(
            f"{len(quantities)} quantities; Shopify accepts at most {MAX_INVENTORY_QUANTITIES}"
        )
    if not idempotency_key:
        raise ValueError("inventorySetQuantities requires an idempotency key")
    variables = {
        "idempotencyKey": idempotency_key,
        "input": {
            "name": name,
            "reason": reason,
            "referenceDocumentUri": reference_document_uri,
            "quantities": [q.as_input() for q in quantities],
        },
    }
    data = client.execute(INVENTORY_SET_QUANTITIES, variables, estimated_cost=MUTATION_COST)
    payload = data["inventorySetQuantities"] or {}
    raise_for_user_errors("inventorySetQuantities", payload.get("userErrors"))
    group: dict[str, Any] | None = payload.get("inventoryAdjustmentGroup")
    return group


INVENTORY_ITEMS_BY_SKU = """
query InventoryItemsBySku($first: Int!, $query: String!) {
  productVariants(first: $first, query: $query) {
    edges { node { id sku inventoryItem { id } } }
  }
}
"""


def search_term(field: str, value: str) -> str:
    """One ``field:value`` term of Shopify's search syntax, quoted and escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'


def find_inventory_items_by_sku(client: Executor, skus: Sequence[str]) -> dict[str, str]:
    """Map each SKU to its variant's inventory item GID (SKUs Shopify does not know are absent).

    Looks up ``SKUS_PER_LOOKUP`` SKUs per call; only exact SKU matches count (Shopify's search
    is not exact). A SKU on several variants maps to the first one found.
    """
    wanted = list(dict.fromkeys(s for s in skus if s))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), SKUS_PER_LOOKUP):
        chunk = wanted[start:start + SKUS_PER_LOOKUP]
        first = min(MAX_PAGE_SIZE, 2 * len(chunk))
        query = " OR ".join(search_term("sku", sku) for sku in chunk)
        data = client.execute(
            INVENTORY_ITEMS_BY_SKU,
            {"first": first, "query": query},
            estimated_cost=connection_cost(first, 2),
        )
        chunk_set = set(chunk)
        for edge in data["productVariants"]["edges"]:
            node = edge["node"]
            sku = node.get("sku")
            if sku in chunk_set and sku not in found and node.get("inventoryItem"):
                found[sku] = node["inventoryItem"]["id"]
    return found


# --- customers -------------------------------------------------------------------------------

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


METAFIELDS_SET = """
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key type value }
    userErrors { code elementIndex field message }
  }
}
"""


@dataclass(frozen=True)
class MetafieldInput:
    """One metafield to set on ``owner_id`` (e.g. a customer GID)."""

    owner_id: str
    namespace: str
    key: str
    value: str
    type: str = "single_line_text_field"

    def as_input(self) -> dict[str, Any]:
        return {
            "ownerId": self.owner_id,
            "namespace": self.namespace,
            "key": self.key,
            "value": self.value,
            "type": self.type,
        }


def set_metafields(client: Executor, metafields: Sequence[MetafieldInput]) -> list[dict[str, Any]]:
    """Set at most 25 metafields atomically; returns the stored metafields."""
    if not metafields:
        raise ValueError("set_metafields needs at least one metafield")
    if len(metafields) > MAX_METAFIELDS:
        raise ValueError(f"{len(metafields)} metafields; Shopify accepts at most {MAX_METAFIELDS}")
    data = client.execute(
        METAFIELDS_SET,
        {"metafields": [m.as_input() for m in metafields]},
        estimated_cost=MUTATION_COST,
    )
    payload = data["metafieldsSet"] or {}
    raise_for_user_errors("metafieldsSet", payload.get("userErrors"))
    return list(payload.get("metafields") or [])


# --- themes ----------------------------------------------------------------------------------

THEMES = """
query Themes($first: Int!, $roles: [ThemeRole!]) {
  themes(first: $first, roles: $roles) {
    edges { node { id name role processing } }
  }
}
"""


def list_themes(
    client: Executor, *, roles: Sequence[str] | None = None, first: int = 50
) -> list[dict[str, Any]]:
    """The shop's themes ``[{"id", "name", "role", "processing"}]``, optionally by role."""
    first = max(1, min(first, MAX_PAGE_SIZE))
    data = client.execute(
        THEMES,
        {"first": first, "roles": list(roles) if roles else None},
        estimated_cost=connection_cost(first, 1),
    )
    return [edge["node"] for edge in (data["themes"] or {"edges": []})["edges"]]


THEME = """
query Theme($id: ID!, $filenames: [String!], $first: Int!) {
  theme(id: $id) {
    id
    name
    role
    processing
    files(filenames: $filenames, first: $first) {
      edges {
        node {
          filename
          checksumMd5
          size
          body {
            ... on OnlineStoreThemeFileBodyText { content }
            ... on OnlineStoreThemeFileBodyBase64 { contentBase64 }
          }
        }
      }
    }
  }
}
"""


def get_theme(
    client: Executor, theme_id: str, *, filenames: Sequence[str] | None = None, first: int = 50
) -> dict[str, Any] | None:
    """One theme with up to ``first`` of its files (all, or those matching ``filenames``)."""
    first = max(1, min(first, MAX_PAGE_SIZE))
    data = client.execute(
        THEME,
        {"id": theme_id, "filenames": list(filenames) if filenames else None, "first": first},
        estimated_cost=1 + connection_cost(first, 2),
    )
    theme: dict[str, Any] | None = data["theme"]
    return theme


THEME_FILENAMES = """
query ThemeFilenames($id: ID!, $first: Int!, $after: String) {
  theme(id: $id) {
    files(first: $first, after: $after) {
      nodes { filename }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def list_theme_filenames(client: Executor, theme_id: str) -> list[str] | None:
    """Every file name of a theme, a page of 250 at a time; None when there is no such theme."""
    names: list[str] = []
    after: str | None = None
    while True:
        data = client.execute(
            THEME_FILENAMES,
            {"id": theme_id, "first": MAX_PAGE_SIZE, "after": after},
            estimated_cost=1 + connection_cost(MAX_PAGE_SIZE, 1),
        )
        theme = data["theme"]
        if theme is None:
            return None
        files = theme["files"] or {"nodes": [], "pageInfo": {"hasNextPage": False}}
        names += [str(node["filename"]) for node in files["nodes"]]
        if not files["pageInfo"]["hasNextPage"]:
            return names
        after = files["pageInfo"]["endCursor"]


THEME_FILES_DELETE = """
mutation ThemeFilesDelete($themeId: ID!, $files: [String!]!) {
  themeFilesDelete(themeId: $themeId, files: $files) {
    deletedThemeFiles { filename }
    userErrors { code field filename message }
  }
}
"""


def delete_theme_files(client: Executor, theme_id: str, filenames: Sequence[str]) -> list[str]:
    """Delete at most 50 files of a theme; returns the names no longer in it.

    A file that is already gone (``NOT_FOUND`` naming it: an earlier attempt deleted it) counts
    as deleted; the call is then made again without those, since Shopify applies all or none.
    """
    if not filenames:
        raise ValueError("delete_theme_files needs at least one file name")
    if len(filenames) > MAX_THEME_FILES:
        raise ValueError(f"{len(filenames)} files; delete at most {MAX_THEME_FILES} per call")
    gone: list[str] = []
    remaining = list(dict.fromkeys(filenames))
    while remaining:
        data = client.execute(THEME_FILES_DELETE, {"themeId": theme_id, "files": remaining},
                              estimated_cost=MUTATION_COST)
        payload = data["themeFilesDelete"] or {}
        errors = list(payload.get("userErrors") or [])
        missing = {str(e["filename"]) for e in errors
                   if e.get("code") == "NOT_FOUND" and e.get("filename") in remaining}
        if errors and len(missing) == len(errors):
            gone += [name for name in remaining if name in missing]
            remaining = [name for name in remaining if name not in missing]
            continue
        raise_for_user_errors("themeFilesDelete", errors)
        return gone + [str(d["filename"]) for d in payload.get("deletedThemeFiles") or []]
    return gone


THEME_CREATE = """
mutation ThemeCreate($source: URL!, $name: String, $role: ThemeRole) {
  themeCreate(source: $source, name: $name, role: $role) {
    theme { id name role processing }
    userErrors { code field message }
  }
}
"""


def create_theme(
    client: Executor, *, source_url: str, name: str, role: str = "UNPUBLISHED"
) -> dict[str, Any]:
    """Create a theme from a zip at ``source_url``; ``role`` is UNPUBLISHED or DEVELOPMENT."""
    data = client.execute(
        THEME_CREATE,
        {"source": source_url, "name": name, "role": role},
        estimated_cost=MUTATION_COST,
    )
    payload = data["themeCreate"] or {}
    raise_for_user_errors("themeCreate", payload.get("userErrors"))
    theme: dict[str, Any] = payload["theme"]
    return theme


THEME_FILES_UPSERT = """
mutation ThemeFilesUpsert($themeId: ID!, $files: [OnlineStoreThemeFilesUpsertFileInput!]!) {
  themeFilesUpsert(themeId: $themeId, files: $files) {
    upsertedThemeFiles { filename checksumMd5 size }
    job { id done }
    userErrors { code field filename message }
  }
}
"""


@dataclass(frozen=True)
class ThemeFile:
    """One theme file to write: text ``content`` (``body_type`` TEXT) or base64 (BASE64)."""

    filename: str
    content: str
    body_type: str = "TEXT"

    def as_input(self) -> dict[str, Any]:
        return {"filename": self.filename, "body": {"type": self.body_type, "value": self.content}}


def upsert_theme_files(
    client: Executor, theme_id: str, files: Sequence[ThemeFile]
) -> list[dict[str, Any]]:
    """Create or overwrite at most 50 files of a theme; returns ``upsertedThemeFiles``."""
    if not files:
        raise ValueError("upsert_theme_files needs at least one file")
    if len(files) > MAX_THEME_FILES:
        raise ValueError(f"{len(files)} files; Shopify accepts at most {MAX_THEME_FILES}")
    data = client.execute(
        THEME_FILES_UPSERT,
        {"themeId": theme_id, "files": [f.as_input() for f in files]},
        estimated_cost=MUTATION_COST,
    )
    payload = data["themeFilesUpsert"] or {}
    raise_for_user_errors("themeFilesUpsert", payload.get("userErrors"))
    return list(payload.get("upsertedThemeFiles") or [])
