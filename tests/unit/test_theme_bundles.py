"""Theme bundles: reading archives, refusing unsafe paths, bombs and non-theme layouts, and
merging settings overrides into config/settings_data.json."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from hookyard.base.errors import (
    InvalidBundle,
    InvalidThemeLayout,
    PayloadTooLarge,
    UnsafeBundlePath,
    UnsupportedMediaType,
)
from hookyard.themes.bundle_limits import BundleLimits
from hookyard.themes.bundles import (
    SETTINGS_DATA,
    BundleFile,
    bundle_format,
    deep_merge,
    merge_settings,
    read_files,
    safe_path,
)
from hookyard.themes.deploys import BATCH_MAX_BYTES, plan_batches, theme_gid
from tests.support.bundle_support import (
    json_bundle,
    raw_tar_gz,
    tar_gz_bundle,
    tar_member,
    theme_files,
    zip_bundle,
    zip_with_raw_names,
)

LIMITS = BundleLimits(max_files=100, max_unpacked_bytes=1024 * 1024)


def names(files: list[BundleFile]) -> list[str]:
    return [f.filename for f in files]


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "json"])
def test_every_bundle_format_reads_to_the_same_sorted_theme_files(fmt):
    files = theme_files(8)
    data = {"zip": zip_bundle, "tar.gz": tar_gz_bundle, "json": json_bundle}[fmt](files)
    read = read_files(fmt, data, LIMITS)
    assert names(read) == sorted(files)
    assert {f.filename: f.content.decode() for f in read} == files


def test_a_bundle_wrapped_in_one_top_folder_is_unwrapped():
    read = read_files("zip", zip_bundle(theme_files(4), prefix="dawn-main/"), LIMITS)
    assert names(read) == sorted(theme_files(4))


def test_binary_files_travel_as_base64_and_text_files_as_text():
    png = b"\x89PNG\r\n\x1a\n\x00\x00binary"
    read = read_files("json", json_bundle({"assets/logo.png": {
        "base64": base64.b64encode(png).decode()}, "assets/app.css": "body{}"}), LIMITS)
    by_name = {f.filename: f for f in read}
    assert by_name["assets/logo.png"].content == png
    assert by_name["assets/logo.png"].as_theme_file().body_type == "BASE64"
    assert by_name["assets/app.css"].as_theme_file().body_type == "TEXT"


def test_macos_junk_entries_are_ignored():
    files = {**theme_files(3), "__MACOSX/layout/._theme.liquid": "junk", "assets/.DS_Store": "x"}
    assert names(read_files("zip", zip_bundle(files), LIMITS)) == sorted(theme_files(3))


@pytest.mark.parametrize("path", ["../x", "layout/../../etc/passwd", "/etc/passwd",
                                  "C:/Windows/win.ini", "layout\\theme.liquid", "a\x00b"])
def test_paths_that_could_leave_the_theme_are_refused_as_unsafe(path):
    with pytest.raises(UnsafeBundlePath):
        safe_path(path)


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "json"])
def test_path_traversal_inside_any_bundle_format_is_refused(fmt):
    files = {**theme_files(3), "../evil.liquid": "x"}
    data = {"zip": zip_bundle, "tar.gz": tar_gz_bundle, "json": json_bundle}[fmt](files)
    with pytest.raises(UnsafeBundlePath):
        read_files(fmt, data, LIMITS)


@pytest.mark.parametrize("path", ["README.md", "src/app.js", "layout/deep/theme.liquid",
                                  "templates/other/x.json"])
def test_files_outside_the_theme_folders_are_refused_as_a_wrong_layout(path):
    with pytest.raises(InvalidThemeLayout) as raised:
        read_files("zip", zip_bundle({**theme_files(3), path: "x"}), LIMITS)
    assert path in raised.value.details["paths"]


def test_customer_templates_sub_folder_is_part_of_the_layout():
    files = {**theme_files(3), "templates/customers/account.json": "{}"}
    assert "templates/customers/account.json" in names(read_files("zip", zip_bundle(files),
                                                                  LIMITS))


def test_an_empty_bundle_has_nothing_to_deploy():
    with pytest.raises(InvalidThemeLayout):
        read_files("zip", zip_bundle({}), LIMITS)


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04garbage" * 10, b""])
def test_unreadable_archives_are_invalid_bundles(data):
    with pytest.raises(InvalidBundle):
        read_files("zip", data, LIMITS)
    with pytest.raises(InvalidBundle):
        read_files("tar.gz", data, LIMITS)


def test_symbolic_links_in_a_tar_are_refused():
    with pytest.raises(InvalidBundle, match="link"):
        read_files("tar.gz", tar_gz_bundle(theme_files(3), links={"snippets/x.liquid":
                                                                  "/etc/passwd"}), LIMITS)


def test_a_zip_bomb_is_stopped_by_its_declared_size_before_inflating():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("assets/zeros.bin", b"\x00" * (8 * 1024 * 1024))
    assert len(buffer.getvalue()) < 64 * 1024  # tiny upload, 8 MiB inflated
    with pytest.raises(PayloadTooLarge, match="HOOKYARD_DEPLOY_MAX_UNPACKED_BYTES"):
        read_files("zip", buffer.getvalue(), LIMITS)


def test_a_tar_gz_bomb_is_stopped_at_the_unpacked_limit():
    bomb = tar_gz_bundle({"assets/zeros.bin": b"\x00" * (8 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    with pytest.raises(PayloadTooLarge):
        read_files("tar.gz", bomb, LIMITS)


def test_more_files_than_the_limit_are_refused():
    with pytest.raises(PayloadTooLarge, match="HOOKYARD_DEPLOY_MAX_FILES"):
        read_files("zip", zip_bundle(theme_files(30)), BundleLimits(max_files=10,
                                                                     max_unpacked_bytes=10**9))


@pytest.mark.parametrize("files", [{"layout/theme.liquid": 3}, {"layout/theme.liquid":
                                                                {"base64": "!!"}}])
def test_json_files_must_be_text_or_base64(files):
    with pytest.raises(InvalidBundle):
        read_files("json", json_bundle(files), LIMITS)


@pytest.mark.parametrize(("content_type", "fmt"), [
    ("application/zip", "zip"), ("application/gzip", "tar.gz"),
    ("application/x-tar+gzip", "tar.gz"), ("application/json; charset=utf-8", "json")])
def test_the_content_type_picks_the_bundle_format(content_type, fmt):
    assert bundle_format(content_type) == fmt


def test_other_content_types_are_unsupported():
    with pytest.raises(UnsupportedMediaType):
        bundle_format("text/plain")


def settings_of(files: list[BundleFile]) -> dict:
    content = next(f for f in files if f.filename == SETTINGS_DATA).content.decode()
    return json.loads(content[content.index("*/") + 2:] if content.startswith("/*") else content)


def test_settings_overrides_merge_into_current_and_keep_the_comment_header():
    files = read_files("zip", zip_bundle(theme_files(3)), LIMITS)
    merged = merge_settings(files, {"colors": {"background": "#fff"}, "logo_width": 120})
    text = next(f for f in merged if f.filename == SETTINGS_DATA).content.decode()
    assert text.startswith("/* generated by Shopify */")
    assert settings_of(merged)["current"] == {"colors": {"accent": "#000", "background": "#fff"},
                                              "logo_width": 120}


def test_settings_overrides_create_settings_data_when_the_bundle_has_none():
    merged = merge_settings([BundleFile("layout/theme.liquid", b"x")], {"a": 1})
    assert settings_of(merged) == {"current": {"a": 1}}


def test_a_preset_named_current_is_expanded_before_merging():
    data = json.dumps({"current": "Default", "presets": {"Default": {"a": 1, "b": 2}}})
    merged = merge_settings([BundleFile(SETTINGS_DATA, data.encode())], {"b": 3})
    assert settings_of(merged)["current"] == {"a": 1, "b": 3}


def test_unreadable_settings_data_cannot_take_overrides():
    with pytest.raises(InvalidThemeLayout, match="settings_data"):
        merge_settings([BundleFile(SETTINGS_DATA, b"{nope")], {"a": 1})


def test_no_overrides_leave_the_files_untouched():
    files = [BundleFile(SETTINGS_DATA, b"{nope")]
    assert merge_settings(files, {}) == files


def test_deep_merge_merges_objects_and_replaces_everything_else():
    assert deep_merge({"a": {"x": 1, "y": [1]}, "b": 1}, {"a": {"y": [2]}, "c": None}) == \
        {"a": {"x": 1, "y": [2]}, "b": 1, "c": None}


def test_batches_hold_at_most_fifty_files_and_a_bounded_size():
    small = [BundleFile(f"sections/s{i}.liquid", b"x") for i in range(120)]
    assert [len(b) for b in plan_batches(small)] == [50, 50, 20]
    big = [BundleFile(f"assets/b{i}.css", b"y" * (BATCH_MAX_BYTES // 2 + 1)) for i in range(3)]
    assert [len(b) for b in plan_batches(big)] == [1, 1, 1]


@pytest.mark.parametrize(("raw", "gid"), [
    ("123", "gid://shopify/OnlineStoreTheme/123"), (123, "gid://shopify/OnlineStoreTheme/123"),
    ("gid://shopify/OnlineStoreTheme/9", "gid://shopify/OnlineStoreTheme/9"),
    ("gid://shopify/Product/9", None), ("abc", None)])
def test_theme_ids_are_normalised_to_gids(raw, gid):
    assert theme_gid(raw) == gid


# --- hostile input (issue #21) ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["assets/a\x1b[31m.css", "assets/a\n.css", "assets/a\r.css",
                                  "assets/a\t.css", "assets/a\x7f.css", "assets/a\x85.css",
                                  "assets/a\u2028.css", "assets/a\u202e.css"])
def test_paths_with_control_or_invisible_characters_are_refused_as_unsafe(path):
    with pytest.raises(UnsafeBundlePath, match="control or invisible"):
        safe_path(path)


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "json"])
def test_control_characters_in_any_bundle_formats_names_are_refused(fmt):
    files = {**theme_files(3), "assets/a\x1b.css": "x", "snippets/b\n.liquid": "y"}
    data = {"zip": zip_bundle, "tar.gz": tar_gz_bundle, "json": json_bundle}[fmt](files)
    with pytest.raises(UnsafeBundlePath):
        read_files(fmt, data, LIMITS)


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_a_nul_inside_an_archive_name_is_refused_not_cut_short(fmt):
    # zipfile and C strings read "assets/a.css\0/../../" as "assets/a.css"; docs promise 400.
    name = b"assets/a.css\x00/../../"
    data = (zip_with_raw_names({b"layout/theme.liquid": b"x", name: b"y"}) if fmt == "zip"
            else raw_tar_gz(tar_member(b"layout/theme.liquid", b"x"), tar_member(name, b"y")))
    with pytest.raises(UnsafeBundlePath, match="NUL"):
        read_files(fmt, data, LIMITS)


def test_vietnamese_and_emoji_file_names_are_still_accepted():
    files = {**theme_files(3), "snippets/tiếng-việt.liquid": "x", "assets/🎉.svg": "<svg/>"}
    assert set(names(read_files("zip", zip_bundle(files), LIMITS))) == set(files)


def test_a_path_of_a_megabyte_is_refused_without_echoing_it():
    with pytest.raises(UnsafeBundlePath) as raised:
        read_files("json", json_bundle({"sections/" + "x" * (1 << 20): "y"}), LIMITS)
    assert len(raised.value.message) < 300


def test_paths_outside_the_layout_are_echoed_cut_short():
    long_name = "docs/" + "d" * 900
    with pytest.raises(InvalidThemeLayout) as raised:
        read_files("zip", zip_bundle({**theme_files(3), long_name: "x"}), LIMITS)
    assert len(raised.value.message) < 500
    [shown] = raised.value.details["paths"]
    assert len(shown) < 200 and long_name.startswith(shown.removesuffix("..."))


def nested(depth: int) -> str:
    return '{"current": ' + "[" * depth + "]" * depth + "}"


def test_settings_data_nested_1000_deep_is_refused_rather_than_crashing_the_merge():
    # It was a RecursionError (500) inside merge_settings.
    files = [BundleFile(SETTINGS_DATA, nested(1000).encode())]
    with pytest.raises(InvalidThemeLayout, match="64"):
        merge_settings(files, {"a": 1})


def test_a_bundle_whose_settings_data_nests_deeper_than_64_is_refused_when_read():
    files = {**theme_files(3), SETTINGS_DATA: nested(65)}
    with pytest.raises(InvalidThemeLayout) as raised:
        read_files("zip", zip_bundle(files), LIMITS)
    assert raised.value.details["paths"] == [SETTINGS_DATA]
    assert read_files("zip", zip_bundle({**files, SETTINGS_DATA: nested(63)}), LIMITS)


@pytest.mark.parametrize("path", [SETTINGS_DATA, "templates/index.json", "locales/en.default.json",
                                  "sections/header-group.json",
                                  "templates/customers/account.json"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999",
                                   "123456789012345678901234567890"])
@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "json"])
def test_nan_infinity_and_huge_numbers_in_a_theme_json_file_are_refused(path, value, fmt):
    files = {**theme_files(3), path: '/* generated */\n{"a": ' + value + "}"}
    data = {"zip": zip_bundle, "tar.gz": tar_gz_bundle, "json": json_bundle}[fmt](files)
    with pytest.raises(InvalidThemeLayout, match="strict JSON") as raised:
        read_files(fmt, data, LIMITS)
    assert raised.value.details["paths"] == [path]


def test_settings_data_with_nan_cannot_take_overrides_either():
    with pytest.raises(InvalidThemeLayout):
        merge_settings([BundleFile(SETTINGS_DATA, b'{"current": {"a": NaN}}')], {"b": 1})


def test_json_assets_are_served_as_they_are_and_not_parsed():
    files = {**theme_files(3), "assets/data.json": '{"a": NaN}', "assets/x.js.map": "{"}
    assert "assets/data.json" in names(read_files("zip", zip_bundle(files), LIMITS))


def test_a_theme_json_file_larger_than_shopify_takes_is_refused_unparsed():
    from hookyard.themes.bundles import MAX_THEME_JSON_BYTES

    big = '{"a": "' + "x" * MAX_THEME_JSON_BYTES + '"}'
    with pytest.raises(InvalidThemeLayout, match=r"1\.5 MB"):
        read_files("zip", zip_bundle({**theme_files(3), "locales/en.default.json": big}),
                   BundleLimits(max_files=100, max_unpacked_bytes=4 << 20))


@pytest.mark.parametrize("raw", ["1" * 40, "9223372036854775808", "0", "-5",
                                 "\u00b2", "\uff11\uff12\uff13",  # superscript, full-width
                                 "gid://shopify/OnlineStoreTheme/" + "9" * 40,
                                 "gid://shopify/OnlineStoreTheme/0", 2**63, 0, -1])
def test_theme_ids_that_are_not_positive_64_bit_integers_are_refused(raw):
    assert theme_gid(raw) is None


def test_the_largest_64_bit_theme_id_is_accepted_and_leading_zeros_are_dropped():
    assert theme_gid(str(2**63 - 1)) == f"gid://shopify/OnlineStoreTheme/{2**63 - 1}"
    assert theme_gid("007") == "gid://shopify/OnlineStoreTheme/7"
