"""Settings: one frozen object from the environment; bad values name the variable."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from hookyard.base.errors import SettingsError
from hookyard.base.settings import SPECS, Settings, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_declared_once_and_backs_a_field():
    assert [f.name for f in fields(Settings)] == [s.attr for s in SPECS]
    assert all(s.env.startswith("HOOKYARD_") for s in SPECS)


def test_defaults_make_a_valid_settings_object():
    settings = Settings.from_env({})
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.dedupe_ttl_seconds == 86400
    assert settings.broker_redis_db == 0 and settings.state_redis_db == 1


def test_readme_configuration_table_lists_every_setting_with_its_default():
    text = README.read_text(encoding="utf-8")
    for spec in SPECS:
        default = spec.default if spec.default else "(empty)"
        row = re.search(rf"^\| `{spec.env}` \| `(.*?)` \|", text, re.MULTILINE)
        assert row, f"{spec.env} missing from README's configuration table"
        assert row.group(1) == default, f"{spec.env}: README says {row.group(1)}"


def test_readme_configuration_table_is_the_one_the_declarations_yield():
    text = README.read_text(encoding="utf-8")
    assert markdown_table() in text, "regenerate it: python -c 'from hookyard.base.settings " \
        "import markdown_table; print(markdown_table())'"


def test_every_bad_variable_is_reported_in_one_start_up_error():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"HOOKYARD_MAX_BODY_BYTES": "lots", "HOOKYARD_LOG_LEVEL": "LOUD",
                           "HOOKYARD_NHANH_TOKENS": "fine",
                           "HOOKYARD_API_TOKENS": "ops:root:hunter2"})
    message = raised.value.message
    assert message.startswith("3 settings are invalid:")
    for env in ("HOOKYARD_MAX_BODY_BYTES", "HOOKYARD_LOG_LEVEL", "HOOKYARD_API_TOKENS"):
        assert f"- {env} is invalid" in message
    assert message.count("Example of a valid value") == 3
    assert "hunter2" not in message


def test_every_inconsistency_is_reported_in_one_start_up_error():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"HOOKYARD_STATE_REDIS_DB": "0", "HOOKYARD_MAX_DELIVERIES": "1"})
    assert raised.value.message.startswith("2 settings are invalid:")


# The shops example names a file and the API tokens example holds a placeholder digest;
# both forms are covered by their own tests below.
LITERAL_EXAMPLES = [s for s in SPECS if s.env not in ("HOOKYARD_SHOPS", "HOOKYARD_API_TOKENS")]


@pytest.mark.parametrize("spec", LITERAL_EXAMPLES, ids=[s.env for s in LITERAL_EXAMPLES])
def test_every_example_value_is_valid(spec):
    Settings.from_env({spec.env: spec.example})


@pytest.mark.parametrize(("env", "value"), [
    ("HOOKYARD_MAX_BODY_BYTES", "lots"),
    ("HOOKYARD_MAX_BODY_BYTES", "-1"),
    ("HOOKYARD_REDIS_URL", "http://localhost"),
    ("HOOKYARD_SHOPIFY_API_VERSION", "latest"),
    ("HOOKYARD_LOG_LEVEL", "LOUD"),
    ("HOOKYARD_CATALOG_PREFILL_ON_START", "maybe"),
    ("HOOKYARD_SHOPS", "[{\"id\": \"a\"}]"),
    ("HOOKYARD_API_TOKENS", "ops:root:secret"),
])
def test_a_bad_value_stops_start_up_naming_the_variable_and_an_example(env, value):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({env: value})
    assert env in raised.value.message and "Example" in raised.value.message


def test_secrets_are_not_echoed_in_errors_or_repr():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"HOOKYARD_API_TOKENS": "ops:nope:hunter2"})
    assert "hunter2" not in raised.value.message
    settings = Settings.from_env({"HOOKYARD_NHANH_TOKENS": "hunter2",
                                  "HOOKYARD_API_TOKENS": "ops:admin:hunter3",
                                  "HOOKYARD_REDIS_URL": "redis://:pw-hunter4@r:6379/0"})
    assert not {"hunter2", "hunter3", "hunter4"} & set(re.findall(r"hunter\d", repr(settings)))


def test_state_db_must_differ_from_the_broker_db():
    with pytest.raises(SettingsError, match="HOOKYARD_STATE_REDIS_DB"):
        Settings.from_env({"HOOKYARD_REDIS_URL": "redis://r:6379/1"})


def test_delivery_cap_cannot_cut_ordinary_retries_short():
    with pytest.raises(SettingsError, match="HOOKYARD_MAX_DELIVERIES"):
        Settings.from_env({"HOOKYARD_MAX_RETRIES": "6", "HOOKYARD_MAX_DELIVERIES": "5"})


def test_api_tokens_parse_compact_and_json_forms_keeping_only_digests():
    digest = "a" * 64
    compact = Settings.from_env({"HOOKYARD_API_TOKENS":
                                 f"ops:admin:s3cret,bot:shop:acme:sha256:{digest}"}).api_tokens
    assert [(t.name, t.scope) for t in compact] == [("ops", "admin"), ("bot", "shop:acme")]
    assert compact[1].sha256 == digest and compact[1].shop == "acme"
    as_json = json.dumps([{"name": "ops", "token": "s3cret", "scope": "admin"}])
    assert Settings.from_env({"HOOKYARD_API_TOKENS": as_json}).api_tokens[0] == compact[0]


def test_shops_can_name_an_environment_variable_for_the_token(tmp_path):
    shops = tmp_path / "shops.yaml"
    shops.write_text("- id: acme\n  nhanh_business_id: 1001\n  shopify_domain: a.myshopify.com\n"
                     "  access_token_env: ACME_TOKEN\n  depots: {1: gid://shopify/Location/9}\n")
    settings = Settings.from_env({"HOOKYARD_SHOPS": str(shops), "ACME_TOKEN": "shpat_x"})
    shop = settings.shop_by_business_id("1001")
    assert shop is not None and shop.access_token == "shpat_x"
    assert shop.depots == {"1": "gid://shopify/Location/9"}


def test_time_limits_must_exceed_the_longest_shopify_throttle_wait():
    with pytest.raises(SettingsError, match="HOOKYARD_DEPLOY_TIME_LIMIT_SECONDS"):
        Settings.from_env({"HOOKYARD_DEPLOY_TIME_LIMIT_SECONDS": "30"})


def test_the_catalogue_wait_must_leave_the_sync_job_time_for_lookups_and_writes():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"HOOKYARD_CATALOG_WAIT_SECONDS": "60"})
    message = str(raised.value)
    assert "HOOKYARD_CATALOG_WAIT_SECONDS" in message and "SYNC_TIME_LIMIT_SECONDS" in message
    assert "HOOKYARD_CATALOG_WAIT_SECONDS=20" in message
    settings = Settings.from_env({"HOOKYARD_SYNC_TIME_LIMIT_SECONDS": "61"})
    assert settings.catalog_wait_seconds == 20  # the default fits a limit just above 60 s


def test_the_nhanh_api_settings_default_to_nhanhs_own_url_and_limit():
    settings = Settings.from_env({})
    assert settings.nhanh_api_url == "https://pos.open.nhanh.vn"
    assert (settings.nhanh_api_requests, settings.nhanh_api_window_seconds) == (150, 30)
    assert settings.nhanh_api_timeout_seconds == 10


def test_a_nhanh_api_url_that_is_not_http_stops_start_up():
    with pytest.raises(SettingsError, match="HOOKYARD_NHANH_API_URL"):
        Settings.from_env({"HOOKYARD_NHANH_API_URL": "pos.open.nhanh.vn"})


def test_the_sync_time_limit_must_exceed_the_nhanh_api_window():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"HOOKYARD_NHANH_API_WINDOW_SECONDS": "120"})
    assert "HOOKYARD_NHANH_API_WINDOW_SECONDS" in str(raised.value)


def test_the_breaker_probe_cap_cannot_be_below_the_first_probe_wait():
    with pytest.raises(SettingsError, match="HOOKYARD_BREAKER_PROBE_MAX_SECONDS"):
        Settings.from_env({"HOOKYARD_BREAKER_PROBE_SECONDS": "60"})
    settings = Settings.from_env({"HOOKYARD_BREAKER_PROBE_SECONDS": "30"})
    assert settings.breaker_probe_max_seconds == 30  # equal is fine: no doubling, always 30 s
