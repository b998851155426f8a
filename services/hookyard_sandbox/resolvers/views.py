"""The sandbox's state as GraphQL-shaped dicts (callables for fields with arguments)."""

from __future__ import annotations

import fnmatch
from typing import Any

from hookyard_sandbox.resolvers.connections import check_first, connection
from hookyard_sandbox.state import (
    BulkOperation,
    Customer,
    Metafield,
    ShopState,
    Theme,
    ThemeFile,
    Variant,
)


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
            check_first(first)
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
