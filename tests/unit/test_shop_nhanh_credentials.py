"""A shop's Nhanh Open API credentials in HOOKYARD_SHOPS: both or neither, checked at start-up,
and never printed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookyard.base.errors import SettingsError
from hookyard.base.settings import Settings
from hookyard.base.shops import ShopConfig, parse_shops

SECRET = "nhanh-secret-token-123"


def shop(**fields: Any) -> dict[str, Any]:
    return {"id": "acme", "nhanh_business_id": "1001", "shopify_domain": "a.myshopify.com",
            "access_token": "shpat_x", **fields}


def parse(*entries: dict[str, Any], environ: dict[str, str] | None = None
          ) -> tuple[ShopConfig, ...]:
    return parse_shops(json.dumps(list(entries)), environ or {})


def test_a_shop_without_nhanh_credentials_has_no_nhanh_api() -> None:
    (config,) = parse(shop())
    assert config.nhanh_app_id is None and config.nhanh_access_token is None
    assert not config.has_nhanh_api


@pytest.mark.parametrize("app_id", [7001, "7001", " 7001 "])
def test_app_id_and_inline_token_are_read(app_id: Any) -> None:
    (config,) = parse(shop(nhanh_app_id=app_id, nhanh_access_token=SECRET))
    assert config.nhanh_app_id == "7001" and config.nhanh_access_token == SECRET
    assert config.has_nhanh_api


def test_the_token_may_come_from_the_environment_variable_it_names() -> None:
    (config,) = parse(shop(nhanh_app_id=7001, nhanh_access_token_env="NHANH_TOKEN_ACME"),
                      environ={"NHANH_TOKEN_ACME": SECRET})
    assert config.nhanh_access_token == SECRET


@pytest.mark.parametrize(("fields", "environ", "words"), [
    ({"nhanh_app_id": 7001}, {}, ["has nhanh_app_id but no nhanh_access_token"]),
    ({"nhanh_access_token": SECRET}, {}, ["no nhanh_app_id"]),
    ({"nhanh_access_token_env": "T"}, {"T": SECRET}, ["no nhanh_app_id"]),
    ({"nhanh_app_id": 7001, "nhanh_access_token_env": "MISSING"}, {},
     ["'MISSING'", "nhanh_access_token_env", "empty"]),
    ({"nhanh_app_id": 7001, "nhanh_access_token": SECRET, "nhanh_access_token_env": "T"},
     {"T": "x"}, ["not both"]),
    ({"nhanh_app_id": "app-1", "nhanh_access_token": SECRET}, {},
     ["nhanh_app_id must be a whole number"]),
    ({"nhanh_app_id": 0, "nhanh_access_token": SECRET}, {},
     ["nhanh_app_id must be a whole number"]),
    ({"nhanh_app_id": True, "nhanh_access_token": SECRET}, {},
     ["nhanh_app_id must be a whole number"]),
    ({"nhanh_app_id": 7001, "nhanh_access_token": 12345}, {},
     ["nhanh_access_token must be a string"]),
    ({"nhanh_app_id": 7001, "nhanh_access_token": SECRET, "nhanh_business_id": "biz-1"}, {},
     ["nhanh_business_id must be a whole number"]),
])
def test_incomplete_or_malformed_credentials_stop_start_up_naming_the_field(
    fields: dict[str, Any], environ: dict[str, str], words: list[str]
) -> None:
    with pytest.raises(ValueError) as raised:
        parse(shop(**fields), environ=environ)
    message = str(raised.value)
    assert "'acme'" in message
    for word in words:
        assert word in message
    assert SECRET not in message


def test_settings_name_the_variable_and_never_print_the_token() -> None:
    environ = {"HOOKYARD_SHOPS": json.dumps([shop(nhanh_app_id="x", nhanh_access_token=SECRET)])}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert "HOOKYARD_SHOPS" in str(raised.value) and SECRET not in str(raised.value)


def test_the_token_is_not_in_the_shops_repr() -> None:
    (config,) = parse(shop(nhanh_app_id=7001, nhanh_access_token=SECRET))
    assert SECRET not in repr(config) and "7001" in repr(config)
    settings = Settings.from_env({"HOOKYARD_SHOPS": json.dumps([
        shop(nhanh_app_id=7001, nhanh_access_token=SECRET)])})
    assert SECRET not in repr(settings)


def test_a_yaml_shops_file_takes_the_same_fields(tmp_path: Any) -> None:
    path = tmp_path / "shops.yaml"
    path.write_text("- id: acme\n  nhanh_business_id: 1001\n  shopify_domain: a.myshopify.com\n"
                    "  access_token: shpat_x\n  nhanh_app_id: 7001\n"
                    "  nhanh_access_token_env: NHANH_TOKEN\n")
    settings = Settings.from_env({"HOOKYARD_SHOPS": str(path), "NHANH_TOKEN": SECRET})
    config = settings.shop_by_id("acme")
    assert config is not None and config.nhanh_app_id == "7001"
    assert config.nhanh_access_token == SECRET
