"""Every operation the sync uses, through the real client, Redis budget and sandbox."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hookyard.base.errors import ShopifyRejected
from hookyard.shopify import operations as ops
from hookyard_sandbox.client import SandboxClient

MAIN = "gid://shopify/Location/1"
BACKUP = "gid://shopify/Location/2"


def level(sandbox: SandboxClient, item: str, location: str) -> dict[str, Any]:
    return next(row for row in sandbox.inventory("acme")
                if row["inventoryItemId"] == item and row["locationId"] == location)


def test_inventory_items_are_found_by_exact_sku(new_shop: Any, make_client: Any) -> None:
    seed, ids = new_shop(skus=3)
    client = make_client(seed)
    found = ops.find_inventory_items_by_sku(client, ["SKU-0", "SKU-2", "MISSING"])
    assert found == {sku: ids["skus"][sku]["inventoryItem"] for sku in ("SKU-0", "SKU-2")}


def test_inventory_quantities_are_set_in_one_mutation(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(skus=2)
    client = make_client(seed)
    item = ids["skus"]["SKU-0"]["inventoryItem"]
    group = ops.set_inventory_quantities(
        client,
        [ops.InventoryQuantity(item, MAIN, 7), ops.InventoryQuantity(item, BACKUP, 3, 0)],
        idempotency_key="job-1:attempt", reference_document_uri="hookyard://jobs/job-1",
    )
    assert group is not None
    assert {(c["name"], c["location"]["id"], c["delta"]) for c in group["changes"]} >= {
        ("available", MAIN, -3), ("available", BACKUP, 3)}
    assert level(sandbox, item, MAIN)["available"] == 7
    assert level(sandbox, item, BACKUP)["available"] == 3
    logged = sandbox.mutations("acme")
    assert [(m["mutation"], m["idempotency_key"], m["outcome"]) for m in logged] == [
        ("inventorySetQuantities", "job-1:attempt", "applied")]
    quantities = logged[0]["args"]["input"]["quantities"]
    assert all("changeFromQuantity" in q for q in quantities)


def test_a_stale_change_from_quantity_is_rejected_and_writes_nothing(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(skus=1)
    client = make_client(seed)
    item = ids["skus"]["SKU-0"]["inventoryItem"]
    with pytest.raises(ShopifyRejected) as caught:
        ops.set_inventory_quantities(
            client,
            [ops.InventoryQuantity(item, BACKUP, 5), ops.InventoryQuantity(item, MAIN, 1, 99)],
            idempotency_key="k-stale", reference_document_uri="hookyard://jobs/2",
        )
    assert caught.value.details["codes"] == ["CHANGE_FROM_QUANTITY_STALE"]
    assert level(sandbox, item, BACKUP)["available"] == 0


def test_an_idempotent_replay_does_not_apply_twice(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(skus=1)
    client = make_client(seed)
    item = ids["skus"]["SKU-0"]["inventoryItem"]
    write = [ops.InventoryQuantity(item, MAIN, 4)]
    first = ops.set_inventory_quantities(client, write, idempotency_key="same",
                                         reference_document_uri="hookyard://jobs/3")
    sandbox_level = level(sandbox, item, MAIN)
    second = ops.set_inventory_quantities(client, write, idempotency_key="same",
                                          reference_document_uri="hookyard://jobs/3")
    assert second == first
    assert level(sandbox, item, MAIN) == sandbox_level
    assert [m["outcome"] for m in sandbox.mutations("acme")] == ["applied", "replayed"]


def test_an_idempotency_key_reused_with_other_quantities_is_refused(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(skus=1)
    client = make_client(seed)
    item = ids["skus"]["SKU-0"]["inventoryItem"]
    ops.set_inventory_quantities(client, [ops.InventoryQuantity(item, MAIN, 4)],
                                 idempotency_key="k", reference_document_uri="hookyard://j/4")
    with pytest.raises(ShopifyRejected) as caught:
        ops.set_inventory_quantities(client, [ops.InventoryQuantity(item, MAIN, 5)],
                                     idempotency_key="k", reference_document_uri="hookyard://j/4")
    assert caught.value.details["codes"] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert level(sandbox, item, MAIN)["available"] == 4


def test_the_sandbox_requires_the_idempotent_directive_like_shopify(
    new_shop: Any, make_client: Any
) -> None:
    seed, ids = new_shop(skus=1)
    client = make_client(seed)
    item = ids["skus"]["SKU-0"]["inventoryItem"]
    query = ops.INVENTORY_SET_QUANTITIES.replace(" @idempotent(key: $idempotencyKey)", "")
    query = query.replace(", $idempotencyKey: String!", "")
    variables = {"input": {"name": "available", "reason": "correction",
                           "referenceDocumentUri": "hookyard://j/5",
                           "quantities": [{"inventoryItemId": item, "locationId": MAIN,
                                           "quantity": 1, "changeFromQuantity": None}]}}
    with pytest.raises(ShopifyRejected, match="@idempotent"):
        client.execute(query, variables, estimated_cost=10)


def test_more_than_250_quantities_answer_max_input_size_exceeded(
    new_shop: Any, make_client: Any
) -> None:
    seed, ids = new_shop(skus=1)
    client = make_client(seed)
    item = ids["skus"]["SKU-0"]["inventoryItem"]
    quantities = [{"inventoryItemId": item, "locationId": MAIN, "quantity": i,
                   "changeFromQuantity": None} for i in range(251)]
    variables = {"idempotencyKey": "big", "input": {
        "name": "available", "reason": "correction", "referenceDocumentUri": "hookyard://j/6",
        "quantities": quantities}}
    with pytest.raises(ShopifyRejected) as caught:
        client.execute(ops.INVENTORY_SET_QUANTITIES, variables, estimated_cost=10)
    assert caught.value.details["codes"] == ["MAX_INPUT_SIZE_EXCEEDED"]


def test_customers_are_found_by_phone_or_email(new_shop: Any, make_client: Any) -> None:
    seed, ids = new_shop(customers=3)
    client = make_client(seed)
    found = ops.find_customers(client, phones=["+84 900 000 001"], emails=["C2@example.com"])
    assert sorted(c["id"] for c in found) == sorted(
        [ids["customers"]["c1@example.com"], ids["customers"]["c2@example.com"]])


def test_customer_metafields_are_set(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(customers=1)
    client = make_client(seed)
    owner = ids["customers"]["c0@example.com"]
    stored = ops.set_metafields(client, [
        ops.MetafieldInput(owner, "nhanh", "total_spent", "125000", "number_integer"),
        ops.MetafieldInput(owner, "nhanh", "tier", "gold"),
    ])
    assert {m["key"]: m["value"] for m in stored} == {"total_spent": "125000", "tier": "gold"}
    customer = next(c for c in sandbox.customers("acme") if c["id"] == owner)
    assert {m["key"]: m["value"] for m in customer["metafields"]} == {
        "total_spent": "125000", "tier": "gold"}


def test_an_invalid_metafield_value_is_rejected_atomically(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, ids = new_shop(customers=1)
    client = make_client(seed)
    owner = ids["customers"]["c0@example.com"]
    with pytest.raises(ShopifyRejected) as caught:
        ops.set_metafields(client, [
            ops.MetafieldInput(owner, "nhanh", "tier", "gold"),
            ops.MetafieldInput(owner, "nhanh", "total_spent", "lots", "number_integer"),
        ])
    assert caught.value.details["codes"] == ["INVALID_VALUE"]
    assert next(c for c in sandbox.customers("acme") if c["id"] == owner)["metafields"] == []


def test_more_than_25_metafields_answer_a_user_error(new_shop: Any, make_client: Any) -> None:
    seed, ids = new_shop(customers=1)
    client = make_client(seed)
    owner = ids["customers"]["c0@example.com"]
    metafields = [{"ownerId": owner, "namespace": "n", "key": f"key{i}", "value": "v",
                   "type": "single_line_text_field"} for i in range(26)]
    data = client.execute(ops.METAFIELDS_SET, {"metafields": metafields}, estimated_cost=10)
    errors = data["metafieldsSet"]["userErrors"]
    assert [e["code"] for e in errors] == ["LESS_THAN_OR_EQUAL_TO"]


def test_themes_are_created_listed_written_and_read_back(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    theme = ops.create_theme(client, source_url="https://cdn.example.com/theme.zip",
                             name="Release 42")
    assert theme["role"] == "UNPUBLISHED"
    upserted = ops.upsert_theme_files(client, theme["id"], [
        ops.ThemeFile("sections/hero.liquid", "<h1>{{ section.settings.title }}</h1>"),
        ops.ThemeFile("assets/logo.png", base64.b64encode(b"\x89PNG").decode(), "BASE64"),
    ])
    assert sorted(f["filename"] for f in upserted) == ["assets/logo.png", "sections/hero.liquid"]
    names = {t["name"]: t["role"] for t in ops.list_themes(client)}
    assert names == {"Dawn": "MAIN", "Release 42": "UNPUBLISHED"}
    assert [t["name"] for t in ops.list_themes(client, roles=["MAIN"])] == ["Dawn"]
    read = ops.get_theme(client, theme["id"], filenames=["sections/*", "assets/logo.png"])
    assert read is not None
    bodies = {e["node"]["filename"]: e["node"]["body"] for e in read["files"]["edges"]}
    assert bodies["sections/hero.liquid"] == {
        "content": "<h1>{{ section.settings.title }}</h1>"}
    assert bodies["assets/logo.png"] == {"contentBase64": base64.b64encode(b"\x89PNG").decode()}
    stored = next(t for t in sandbox.themes("acme") if t["id"] == theme["id"])
    assert "sections/hero.liquid" in stored["files"]


def test_a_theme_cannot_be_created_as_main(new_shop: Any, make_client: Any) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    with pytest.raises(ShopifyRejected) as caught:
        ops.create_theme(client, source_url="https://cdn.example.com/t.zip", name="x",
                         role="MAIN")
    assert caught.value.details["codes"] == ["INVALID_THEME_ROLE_FOR_THEME_CREATION"]


def test_more_than_50_theme_files_answer_a_user_error(new_shop: Any, make_client: Any) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    theme = ops.list_themes(client)[0]
    files = [{"filename": f"assets/{i}.css", "body": {"type": "TEXT", "value": ""}}
             for i in range(51)]
    data = client.execute(ops.THEME_FILES_UPSERT, {"themeId": theme["id"], "files": files},
                          estimated_cost=10)
    assert [e["code"] for e in data["themeFilesUpsert"]["userErrors"]] == [
        "LESS_THAN_OR_EQUAL_TO"]


def test_writing_files_of_a_missing_theme_is_rejected(new_shop: Any, make_client: Any) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    with pytest.raises(ShopifyRejected) as caught:
        ops.upsert_theme_files(client, "gid://shopify/OnlineStoreTheme/404",
                               [ops.ThemeFile("assets/a.css", "")])
    assert caught.value.details["codes"] == ["NOT_FOUND"]


def test_every_file_name_of_a_theme_is_listed_across_pages(new_shop: Any,
                                                           make_client: Any) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    theme = ops.create_theme(client, source_url="https://cdn.example.com/theme.zip", name="Big")
    names = [f"assets/file-{i:03}.css" for i in range(260)]
    for first in range(0, len(names), ops.MAX_THEME_FILES):
        ops.upsert_theme_files(client, theme["id"], [
            ops.ThemeFile(name, "") for name in names[first:first + ops.MAX_THEME_FILES]])

    listed = ops.list_theme_filenames(client, theme["id"])

    assert listed is not None and len(listed) == len(set(listed))
    assert set(names) <= set(listed) and "layout/theme.liquid" in listed
    assert ops.list_theme_filenames(client, "gid://shopify/OnlineStoreTheme/404") is None


def test_theme_files_are_deleted_and_a_file_already_gone_counts_as_deleted(
    new_shop: Any, make_client: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    theme = ops.create_theme(client, source_url="https://cdn.example.com/theme.zip", name="T")
    ops.upsert_theme_files(client, theme["id"], [ops.ThemeFile("assets/a.css", ""),
                                                 ops.ThemeFile("assets/b.css", "")])

    assert ops.delete_theme_files(client, theme["id"], ["assets/a.css"]) == ["assets/a.css"]
    # A re-run after a crash asks again for a file that is already gone.
    gone = ops.delete_theme_files(client, theme["id"], ["assets/a.css", "assets/b.css"])

    assert sorted(gone) == ["assets/a.css", "assets/b.css"]
    stored = next(t for t in sandbox.themes("acme") if t["id"] == theme["id"])
    assert not {"assets/a.css", "assets/b.css"} & set(stored["files"])


def test_a_file_a_theme_cannot_be_without_is_not_deleted(new_shop: Any,
                                                        make_client: Any) -> None:
    seed, _ = new_shop()
    client = make_client(seed)
    theme = ops.create_theme(client, source_url="https://cdn.example.com/theme.zip", name="T")

    with pytest.raises(ShopifyRejected) as caught:
        ops.delete_theme_files(client, theme["id"], ["layout/theme.liquid"])

    assert caught.value.details["codes"] == ["FILE_VALIDATION_ERROR"]
    assert "layout/theme.liquid" in (ops.list_theme_filenames(client, theme["id"]) or [])
