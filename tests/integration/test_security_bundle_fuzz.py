"""Fuzzing theme bundles (issue #21): generated zips, tar(.gz)s and JSON bundles, hostile and
ordinary, fed to the bundle reader and to ``POST /deploys`` (Falcon's test client, the session's
real Redis).

Properties: no 5xx; no exception but the error tree's 4xx; every read under ``TIME_BOUND``
seconds and ``MEMORY_BOUND`` bytes of allocations (tracemalloc's peak); every refusal a small
JSON answer. ``make test`` runs ``EXAMPLES`` deterministic examples per property (a few
seconds); ``HOOKYARD_FUZZ_EXAMPLES=5000`` runs that many, randomly (README, *Development*).
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import io
import json
import os
import time
import tracemalloc
import zipfile
from typing import Any
from urllib.parse import urlencode

import falcon.testing
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hookyard.base.errors import HookyardError
from hookyard.themes.bundle_limits import BundleLimits
from hookyard.themes.bundles import merge_settings, read_files
from ingest.app import create_app, ingest_job_store
from tests.support.bundle_support import (
    json_bundle,
    pax_record,
    placeholder,
    renamed_zip,
    tar_gz_bundle,
    tar_header,
    zip_bundle,
)
from tests.support.platform_support import ADMIN_TOKEN, SHOP_TOKEN, auth

FUZZ_EXAMPLES = os.environ.get("HOOKYARD_FUZZ_EXAMPLES")
EXAMPLES = int(FUZZ_EXAMPLES or 100)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=FUZZ_EXAMPLES is None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
TIME_BOUND = 2.0
MEMORY_BOUND = 64 * 1024 * 1024
LIMITS = BundleLimits(max_files=40, max_unpacked_bytes=2 * 1024 * 1024)
ANSWER_BOUND = 16 * 1024
KNOWN = {202, 400, 403, 404, 413, 415, 422, 429}
CONTENT_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip",
                 "json": "application/json"}

# --- names -------------------------------------------------------------------------------------

THEME_PATHS = ["layout/theme.liquid", "config/settings_data.json", "templates/index.json",
               "locales/en.default.json", "sections/header.liquid", "assets/app.css",
               "templates/customers/account.json", "snippets/card.liquid", "assets/data.json"]
HOSTILE_PATHS = ["assets/a.css\x00/../../", "../evil.liquid", "/etc/passwd", "C:/x.liquid",
                 "layout\\theme.liquid", "assets/a\x1b[2J.css", "snippets/a\n.liquid",
                 "assets/a\u202e.css", "__MACOSX/layout/._theme.liquid", "assets/.DS_Store",
                 "README.md", "theme-main/layout/theme.liquid", "layout/", ""]
segments = st.sampled_from(["layout", "assets", "config", "templates", "sections", "..", ".",
                            "", "theme-main"]) | st.text(max_size=10)
theme_paths = st.sampled_from(THEME_PATHS) | st.builds(
    lambda folder, name: f"{folder}/{name}.liquid", st.sampled_from(["sections", "snippets"]),
    st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=8))
# Weighted (one_of picks its branches evenly): half are paths a theme may hold.
paths = (theme_paths | theme_paths | theme_paths | st.sampled_from(HOSTILE_PATHS)
         | st.lists(segments, min_size=1, max_size=4).map("/".join)
         | st.builds(lambda folder, n: f"{folder}/{'n' * n}.liquid",
                     st.sampled_from(["sections", "assets", "x"]), st.integers(0, 3000)))
raw_names = paths.map(lambda p: p.encode("utf-8")) | st.binary(min_size=1, max_size=24)

# --- contents ----------------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats()  # NaN and Infinity too
                | st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                           max_leaves=12)
json_texts = (json_values.map(json.dumps)
              | json_values.map(lambda v: "/* generated */\n" + json.dumps({"current": v}))
              | st.integers(0, 1500).map(lambda d: '{"current": ' + "[" * d + "]" * d + "}")
              | st.integers(0, 1500).map(lambda d: '{"current": ' + '{"a": ' * d + "1"
                                         + "}" * d + "}")
              | st.sampled_from(['{"current": {"a": NaN}}', '{"a": Infinity}', "{", "", "[]",
                                 '{"a": 123456789012345678901234567890}', "/* x */ {}"]))
small_contents = json_texts.map(lambda t: t.encode("utf-8")) | st.binary(max_size=300)
contents = (small_contents | small_contents | small_contents
            | st.integers(0, 3 * 1024 * 1024).map(lambda n: b"\x00" * n))  # bombs
file_maps = st.dictionaries(paths, contents, max_size=8).map(
    lambda files: {"layout/theme.liquid": b"<html></html>", **files})
# Overrides reach merge_settings strictly parsed (at most 64 deep), like any request JSON.
overrides = st.dictionaries(st.text(max_size=4), json_values, max_size=3) | st.integers(
    1, 63).map(lambda d: {"a": json.loads("[" * d + "]" * d)})

# --- tar(.gz) ----------------------------------------------------------------------------------

pax_keywords = st.sampled_from(["path", "size", "linkpath", "mtime", "comment", "hdrcharset",
                                "GNU.sparse.size", "SCHILY.xattr.user.x"]) | st.text(max_size=6)
pax_values = (paths | st.integers(-5, 10**30).map(str) | st.text(max_size=20))
pax_data = (st.lists(st.tuples(pax_keywords, pax_values), max_size=6).map(
    lambda records: b"".join(pax_record(k, v) for k, v in records))
            | st.integers(0, 384 * 1024).map(lambda n: b"1" * n)
            | st.binary(max_size=64))
long_name_data = (raw_names.map(lambda n: n + b"\x00")
                  | st.integers(0, 384 * 1024).map(lambda n: b"a" * n + b"\x00"))


@st.composite
def tar_members(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["file"] * 6 + ["dir", "pax", "global", "long_name",
                                                "long_link", "link", "other"]))
    name = draw(raw_names)
    if kind == "file":
        typeflag, data = draw(st.sampled_from([b"0", b"\x00", b"7"])), draw(contents)
    elif kind == "dir":
        typeflag, data = b"5", b""
    elif kind in ("pax", "global"):
        typeflag, data = (b"x" if kind == "pax" else b"g"), draw(pax_data)
    elif kind in ("long_name", "long_link"):
        typeflag, data = (b"L" if kind == "long_name" else b"K"), draw(long_name_data)
    elif kind == "link":
        typeflag, data = draw(st.sampled_from([b"1", b"2"])), b""
    else:
        typeflag, data = draw(st.binary(min_size=1, max_size=1)), draw(st.binary(max_size=40))
    size = draw(st.sampled_from(["exact"] * 8 + ["zero", "huge", "other"]))
    declared = {"exact": len(data), "zero": 0, "huge": 1 << 40}.get(size) or draw(
        st.integers(0, 10 * 1024 * 1024))
    return tar_header(name, typeflag, declared) + data + b"\x00" * (-len(data) % 512)


@st.composite
def tar_bundles(draw: Any) -> bytes:
    members = draw(st.lists(tar_members(), min_size=0, max_size=8))
    layout = tar_header(b"layout/theme.liquid", b"0", 6) + b"<html>" + b"\x00" * 506
    stream = b"".join([layout, *members]) + draw(st.sampled_from([b"\x00" * 1024, b""]))
    packing = draw(st.sampled_from(["gzip"] * 6 + ["plain", "cut", "flip"]))
    if packing == "plain":
        return stream
    body = gzip.compress(stream, compresslevel=1)
    if packing == "cut":
        return body[:draw(st.integers(0, len(body)))]
    if packing == "flip" and body:
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]
    return body


# --- zip ---------------------------------------------------------------------------------------


@st.composite
def zip_bundles(draw: Any) -> bytes:
    others = draw(st.lists(st.tuples(raw_names.filter(len), contents), max_size=8,
                           unique_by=lambda entry: entry[0]))
    entries = [(b"layout/theme.liquid", b"<html></html>"), *others]
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_DEFLATED,
                                   zipfile.ZIP_STORED, zipfile.ZIP_BZIP2]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for i, (name, content) in enumerate(entries):
            info = zipfile.ZipInfo(placeholder(i, name))
            info.compress_type = method
            info.flag_bits |= draw(st.sampled_from([0, 0x800]))  # names said to be UTF-8
            if draw(st.booleans()):
                size = draw(st.integers(0, 0xFFFF - 4))
                info.extra = b"\xfe\xca" + size.to_bytes(2, "little") + b"e" * size
            if draw(st.booleans()):
                info.comment = b"c" * draw(st.integers(0, 0xFFFF))
            info.external_attr = draw(st.sampled_from([0o644 << 16] * 4 + [0o120777 << 16]))
            archive.writestr(info, content)
    data = bytearray(renamed_zip(buffer.getvalue(), [name for name, _ in entries]))
    mutation = draw(st.sampled_from(["none"] * 6 + ["cut", "flip", "count", "stub"]))
    if mutation == "cut":
        return bytes(data[:draw(st.integers(0, len(data)))])
    if mutation == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data[at] ^= 0xFF
    if mutation == "count":  # the end record claims another number of entries
        end = data.rfind(b"PK\x05\x06")
        count = draw(st.integers(0, 0xFFFF)).to_bytes(2, "little")
        data[end + 8:end + 10] = data[end + 10:end + 12] = count
    if mutation == "stub":
        return b"#!/bin/sh\n" * draw(st.integers(1, 50)) + bytes(data)
    return bytes(data)


json_bundles = st.builds(
    lambda files, binary: json_bundle({
        name: ({"base64": base64.b64encode(c).decode()} if binary else
               c.decode("utf-8", "replace")) for name, c in files.items()}),
    st.dictionaries(paths, small_contents, max_size=6),
    st.booleans()) | st.binary(max_size=200) | json_texts.map(str.encode)

# Well-formed archives of theme paths, so the accepting paths get their share of examples.
ordinary_files = st.dictionaries(theme_paths, small_contents, max_size=8).map(
    lambda files: {"layout/theme.liquid": b"<html></html>", **files})
ordinary_bundles = st.sampled_from(["zip", "tar.gz"]).flatmap(
    lambda fmt: st.tuples(st.just(fmt), ordinary_files.map(
        zip_bundle if fmt == "zip" else tar_gz_bundle)))
bundles = (st.tuples(st.just("tar.gz"), tar_bundles())
           | st.tuples(st.just("zip"), zip_bundles())
           | st.tuples(st.just("json"), json_bundles)
           | ordinary_bundles)


# --- properties --------------------------------------------------------------------------------


@FUZZ
@given(bundle=bundles, settings_overrides=overrides)
def test_any_bundle_is_read_or_refused_with_a_4xx_in_bounded_time_and_memory(
        bundle, settings_overrides):
    fmt, data = bundle
    tracemalloc.start()
    started = time.perf_counter()
    try:
        merge_settings(read_files(fmt, data, LIMITS), settings_overrides)
        event("read")
    except HookyardError as exc:  # anything else fails the property
        assert 400 <= exc.status < 500, exc
        assert len(exc.message) < 1024
        event(f"refused {exc.code}")
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < TIME_BOUND, f"{fmt} bundle of {len(data)} bytes took {elapsed:.2f} s"
    assert peak < MEMORY_BOUND, f"{fmt} bundle of {len(data)} bytes allocated {peak} bytes"


@pytest.fixture
def fuzz_client(settings: Any, jobs: Any) -> falcon.testing.TestClient:
    """The ingest app with the fuzz's small bundle limits and no deploy rate limit to speak of
    (every attempt counts against it, and the fuzz sends many)."""
    fuzz_settings = dataclasses.replace(
        settings, deploy_rate_limit_per_minute=10**9, deploy_max_files=LIMITS.max_files,
        deploy_max_unpacked_bytes=LIMITS.max_unpacked_bytes)
    return falcon.testing.TestClient(create_app(fuzz_settings,
                                                jobs=ingest_job_store(fuzz_settings)))


theme_ids = (st.integers(1, 10**45).map(str) | st.sampled_from(["0", "-1", "abc", "\u00b2"])
             | st.integers(1, 10**45).map(lambda n: f"gid://shopify/OnlineStoreTheme/{n}"))
# Mostly a well-formed target for acme (so bundles get read and some accepted), sometimes not.
theme_names = st.sampled_from(["Summer"] * 6 + [""]) | st.text(max_size=60)
targets = (st.fixed_dictionaries({"theme_name": theme_names})
           | st.fixed_dictionaries({"theme_name": theme_names})
           | st.fixed_dictionaries({"theme_id": theme_ids})
           | st.fixed_dictionaries({}, optional={"theme_id": theme_ids,
                                                 "theme_name": theme_names}))
queries = st.builds(
    lambda shop, target, extra: {"shop": shop, **target, **extra},
    st.sampled_from(["acme"] * 8 + ["globex", "nope", ""]) | st.text(max_size=30), targets,
    st.fixed_dictionaries({}, optional={"delete_missing": st.sampled_from(["true", "0", "x"])}))
query_settings = st.none() | st.none() | json_texts


@FUZZ
@given(bundle=bundles, query=queries, settings_query=query_settings,
       token=st.sampled_from([ADMIN_TOKEN, SHOP_TOKEN]),
       right_type=st.sampled_from([True, True, True, False]))
def test_any_deploy_gets_a_small_json_answer_with_a_known_status_and_never_a_5xx(
        fuzz_client, bundle, query, settings_query, token, right_type):
    fmt, data = bundle
    if settings_query is not None:
        query = {**query, "settings": settings_query}
    content_type = CONTENT_TYPES[fmt] if right_type else "application/octet-stream"
    started = time.perf_counter()

    answer = fuzz_client.simulate_post(
        "/deploys", query_string=urlencode(query), body=data,
        headers={"Content-Type": content_type, **auth(token)})

    elapsed = time.perf_counter() - started
    event(f"status {answer.status_code}")
    assert answer.status_code in KNOWN, (answer.status_code, answer.text[:500])
    assert elapsed < TIME_BOUND, f"{fmt} deploy of {len(data)} bytes took {elapsed:.2f} s"
    assert len(answer.content) < ANSWER_BOUND
    document = answer.json
    if answer.status_code == 202:
        assert document["job_id"] and document["state"] == "queued"
    else:
        assert set(document) >= {"error", "message"} and document["message"]

