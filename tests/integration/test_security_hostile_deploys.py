"""Hostile deploys (issue #21) through the ingest app and the session's Redis: each finding ends
in a quick, small 4xx JSON answer, and nothing is stored."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

from tests.support.bundle_support import (
    json_bundle,
    pax_record,
    raw_tar_gz,
    tar_member,
    theme_files,
    zip_bundle,
    zip_with_raw_names,
)
from tests.support.platform_support import auth

LAYOUT = tar_member(b"layout/theme.liquid", b"<html></html>")
GZIP = "application/gzip"
JSON = "application/json"


def deep_settings(depth: int) -> str:
    return '{"current": ' + "[" * depth + "]" * depth + "}"


HOSTILE = {
    "a 410-byte tar.gz whose PAX header is 256 KiB of 1 (CVE-2024-6232)": (
        raw_tar_gz(tar_member(b"././@PaxHeader", b"1" * 256 * 1024, b"x"), LAYOUT), GZIP, "",
        400, "invalid_bundle"),
    "a global PAX header of 256 KiB": (
        raw_tar_gz(tar_member(b"pax_global_header", b"1" * 256 * 1024, b"g"), LAYOUT), GZIP, "",
        400, "invalid_bundle"),
    "a GNU long name of 8 MiB": (
        raw_tar_gz(tar_member(b"././@LongLink", b"a" * (8 << 20) + b"\x00", b"L"),
                   tar_member(b"x", b"x")), GZIP, "", 400, "invalid_bundle"),
    "a GNU long link name of 8 MiB": (
        raw_tar_gz(tar_member(b"././@LongLink", b"a" * (8 << 20) + b"\x00", b"K"),
                   tar_member(b"x", b"x")), GZIP, "", 400, "invalid_bundle"),
    "a zip name of 60,000 bytes": (
        zip_with_raw_names({b"sections/" + b"n" * 60_000: b"x"}), "application/zip", "",
        400, "unsafe_path"),
    "a JSON bundle path of a megabyte": (
        json_bundle({"sections/" + "x" * (1 << 20): "y"}), JSON, "", 400, "unsafe_path"),
    "settings_data.json nested 1,000 deep, with overrides": (
        zip_bundle({**theme_files(3), "config/settings_data.json": deep_settings(1000)}),
        "application/zip", "&settings=" + quote('{"a": 1}'), 422, "invalid_theme_layout"),
    "settings_data.json nested 1,000 deep, without overrides": (
        zip_bundle({**theme_files(3), "config/settings_data.json": deep_settings(1000)}),
        "application/zip", "", 422, "invalid_theme_layout"),
    "an escape character in a zip name": (
        zip_bundle({**theme_files(3), "assets/a\x1b[2J.css": "x"}), "application/zip", "",
        400, "unsafe_path"),
    "a newline in a tar name": (
        raw_tar_gz(LAYOUT, tar_member(b"snippets/a\n.liquid", b"x")), GZIP, "", 400,
        "unsafe_path"),
    "a NUL in a zip name": (
        zip_with_raw_names({b"layout/theme.liquid": b"x", b"assets/a.css\x00/../../": b"y"}),
        "application/zip", "", 400, "unsafe_path"),
    "a NUL in a tar name": (
        raw_tar_gz(LAYOUT, tar_member(b"assets/a.css\x00/../../", b"y")), GZIP, "", 400,
        "unsafe_path"),
    "NaN in settings_data.json": (
        zip_bundle({**theme_files(3), "config/settings_data.json": '{"current": {"a": NaN}}'}),
        "application/zip", "", 422, "invalid_theme_layout"),
    "Infinity in a JSON template of a JSON bundle": (
        json_bundle({**theme_files(3), "templates/index.json": '{"order": [Infinity]}'}), JSON,
        "", 422, "invalid_theme_layout"),
    "NaN in the settings query": (
        zip_bundle(theme_files(3)), "application/zip", "&settings=" + quote('{"a": NaN}'),
        422, "validation_failed"),
    "a 40-digit theme id in the query": (
        zip_bundle(theme_files(3)), "application/zip", "&theme_id=" + "1" * 40, 422,
        "validation_failed"),
    "a 40-digit theme GID in the query": (
        zip_bundle(theme_files(3)), "application/zip",
        "&theme_id=gid://shopify/OnlineStoreTheme/" + "1" * 40, 422, "validation_failed"),
    "a 40-digit theme id in a JSON body, as text": (
        json_bundle(theme_files(3), theme={"id": "1" * 40}), JSON, "", 422,
        "validation_failed"),
    "a 40-digit theme id in a JSON body, as a number": (
        json_bundle(theme_files(3), theme={"id": int("1" * 40)}), JSON, "", 400,
        "invalid_json"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_deploy_is_refused_quickly_with_a_small_json_answer_and_stores_nothing(
        client, shop, jobs, case):
    body, content_type, extra_query, status, code = HOSTILE[case]
    # A theme id in the extra query replaces the default theme name.
    target = "" if "theme_id" in extra_query else "&theme_name=Summer"
    started = time.perf_counter()

    answer = client.simulate_post(f"/deploys?shop=acme{target}{extra_query}", body=body,
                                  headers={"Content-Type": content_type, **auth()})

    assert time.perf_counter() - started < 2
    assert (answer.status_code, answer.json["error"]) == (status, code), answer.text[:500]
    assert answer.json["message"] and len(answer.content) < 2048
    assert jobs.list_jobs(queue="deploy")[0] == []
    assert not jobs.state.keys("hy:deploy:*")


def test_nan_in_a_json_bodys_settings_is_refused_as_invalid_json(client, shop, jobs):
    body = json.dumps({"shop": "acme", "theme": {"name": "X"}, "files": theme_files(3),
                       "settings": {"a": float("nan")}}).encode()  # Python writes NaN
    answer = client.simulate_post("/deploys", body=body,
                                  headers={"Content-Type": JSON, **auth()})
    assert (answer.status_code, answer.json["error"]) == (400, "invalid_json")
    assert jobs.list_jobs(queue="deploy")[0] == []


def test_a_bundle_with_ordinary_pax_headers_is_still_accepted(client, shop, jobs):
    body = raw_tar_gz(tar_member(b"pax_global_header", pax_record("comment", "f" * 40), b"g"),
                      tar_member(b"h", pax_record("path", "sections/" + "s" * 150 + ".liquid")
                                 + pax_record("mtime", "1700000000.5"), b"x"),
                      tar_member(b"placeholder", b"<div></div>"), LAYOUT)
    answer = client.simulate_post("/deploys?shop=acme&theme_name=Summer", body=body,
                                  headers={"Content-Type": GZIP, **auth()})
    assert answer.status_code == 202, answer.text
    assert answer.json["files"] == 2
