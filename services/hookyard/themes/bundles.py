"""Theme bundles: reading an uploaded zip, tar.gz or JSON file map into checked theme files.

Pure functions, no I/O beyond the bytes given: ingest runs them to refuse a bad bundle before
any job exists, and the deploy worker runs them again on the stored bytes. Archives are walked
by ``hookyard.themes.tar_gz_reader`` and ``zip_reader``, within the limits of
``bundle_limits``, which bound the work any upload can cause. Refused, with the error tree's
codes:

- unreadable archives, links and special files, encrypted zip entries, oversized tar header
  members, a malformed ``files`` map, duplicate paths: ``InvalidBundle`` (400
  ``invalid_bundle``);
- absolute paths, drive letters, backslashes, NUL bytes, control and other invisible
  characters, ``..`` segments, names over ``MAX_PATH_BYTES``: ``UnsafeBundlePath`` (400
  ``unsafe_path``). Nothing is ever written to a file system, but a path that would climb out of
  the theme is refused anyway: it is a broken or hostile bundle;
- more than ``max_files`` files or ``max_entries`` archive entries, more than
  ``max_unpacked_bytes`` once unpacked (contents, names and header data; checked against the
  declared sizes before anything is inflated, and against the bytes actually read), or more
  than ``max_read_seconds`` of CPU time: ``PayloadTooLarge`` (413);
- files outside Shopify's theme folders, a theme JSON file (``config/``, ``locales/``,
  ``sections/``, ``templates/``) that is not strict JSON (only a leading ``/* */`` comment; no
  NaN or Infinity, nesting at most 64 deep, integers within 64 bits, as for webhook bodies),
  nothing to deploy: ``InvalidThemeLayout`` (422 ``invalid_theme_layout``).

A bundle whose files all sit under one extra top folder (``dawn-main/layout/...``, what zipping
a folder produces) is unwrapped. ``__MACOSX/`` entries, ``.DS_Store`` and ``Thumbs.db`` are
ignored.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.base.errors import (
    InvalidBundle,
    InvalidJson,
    InvalidThemeLayout,
    UnsafeBundlePath,
    UnsupportedMediaType,
    clipped,
    quoted,
)
from hookyard.base.strict_json import parse_json_body
from hookyard.shopify.operations.themes import ThemeFile
from hookyard.themes.bundle_limits import MAX_PATH_BYTES, BundleLimits, ReadBudget
from hookyard.themes.tar_gz_reader import read_tar_gz
from hookyard.themes.zip_reader import ZipArchive

THEME_FOLDERS = ("assets", "blocks", "config", "layout", "locales", "sections", "snippets",
                 "templates")
NESTED_FOLDERS = ("templates/customers", "templates/metaobject")
"""The only sub-folders Shopify themes have; every other file is ``<folder>/<name>``."""
SETTINGS_DATA = "config/settings_data.json"
IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db"})
IGNORED_PREFIXES = ("__MACOSX/",)

FORMATS = ("zip", "tar.gz", "json")
CONTENT_TYPES = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/gzip": "tar.gz",
    "application/x-gzip": "tar.gz",
    "application/x-tar+gzip": "tar.gz",
    "application/json": "json",
}
JSON_CHECKED_FOLDERS = ("config/", "locales/", "sections/", "templates/")
"""Folders whose ``.json`` files Shopify parses (assets are served as they are)."""
MAX_THEME_JSON_BYTES = 1536 * 1024
"""Largest JSON theme file: Shopify takes at most 1.5 MB (locales, ``settings_data.json``; less
for the others), and parsing a bigger one could cost 20 times its size in memory."""
_DRIVE = re.compile(r"^[A-Za-z]:")
_LEADING_COMMENT = re.compile(r"^\s*/\*.*?\*/\s*", re.DOTALL)


@dataclass(frozen=True)
class BundleFile:
    """One theme file: its path inside the theme and its bytes."""

    filename: str
    content: bytes

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()

    @property
    def is_text(self) -> bool:
        if b"\x00" in self.content:
            return False
        try:
            self.content.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    @property
    def upload_size(self) -> int:
        """Bytes this file adds to a ``themeFilesUpsert`` request (base64 grows by 4/3)."""
        return len(self.content) if self.is_text else (len(self.content) + 2) // 3 * 4

    def as_theme_file(self) -> ThemeFile:
        if self.is_text:
            return ThemeFile(self.filename, self.content.decode("utf-8"), "TEXT")
        return ThemeFile(self.filename, base64.b64encode(self.content).decode(), "BASE64")


def bundle_format_of(content_type: str | None) -> str | None:
    """``zip``, ``tar.gz`` or ``json`` for a request's Content-Type, or None."""
    return CONTENT_TYPES.get((content_type or "").split(";", 1)[0].strip().lower())


def bundle_format(content_type: str | None) -> str:
    """``zip``, ``tar.gz`` or ``json`` for a request's Content-Type, else 415."""
    fmt = bundle_format_of(content_type)
    if fmt is not None:
        return fmt
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    raise UnsupportedMediaType(
        f"Content-Type {quoted(media_type or '(none)')} is not a theme bundle; send "
        "application/zip, application/gzip (a .tar.gz) or application/json (see "
        "docs/deploys.md)."
    )


# --- paths -----------------------------------------------------------------------------------


def safe_path(raw: str) -> str:
    """``raw`` as a relative POSIX path without ``.`` segments; ``UnsafeBundlePath`` when it is
    too long, absolute, holds a NUL or another control or invisible character, or could leave
    the theme."""
    if len(raw) > MAX_PATH_BYTES or len(raw.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise UnsafeBundlePath(f"Bundle path {quoted(raw)} is longer than {MAX_PATH_BYTES} "
                               "bytes; theme paths are short, e.g. sections/header.liquid.")
    if not raw or "\x00" in raw or "\\" in raw:
        raise UnsafeBundlePath(f"Bundle path {quoted(raw)} is not a plain relative path (empty, "
                               "NUL or backslash); use forward slashes, e.g. "
                               "sections/header.liquid.")
    if not raw.isprintable():
        raise UnsafeBundlePath(f"Bundle path {quoted(raw)} holds a control or invisible "
                               "character (a newline, an escape, ...); rename the file.")
    if raw.startswith("/") or _DRIVE.match(raw):
        raise UnsafeBundlePath(f"Bundle path {quoted(raw)} is absolute; paths must be relative "
                               "to the theme root, e.g. layout/theme.liquid.")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeBundlePath(f"Bundle path {quoted(raw)} climbs out of the theme ('..'); "
                               "remove it.")
    if not parts:
        raise UnsafeBundlePath(f"Bundle path {quoted(raw)} names no file.")
    return "/".join(parts)


def _ignored(path: str) -> bool:
    return path.startswith(IGNORED_PREFIXES) or path.rsplit("/", 1)[-1] in IGNORED_NAMES


def in_theme_layout(path: str) -> bool:
    folder, _, rest = path.rpartition("/")
    return bool(rest) and (folder in THEME_FOLDERS or folder in NESTED_FOLDERS)


def _unwrap(files: list[BundleFile]) -> list[BundleFile]:
    """Strip one top folder shared by every file when it is not itself a theme folder."""
    tops = {f.filename.split("/", 1)[0] for f in files}
    if len(tops) != 1 or all("/" not in f.filename for f in files):
        return files
    (top,) = tops
    if top in THEME_FOLDERS:
        return files
    return [BundleFile(f.filename.split("/", 1)[1], f.content) for f in files
            if "/" in f.filename]


def check_layout(files: Sequence[BundleFile]) -> None:
    if not files:
        raise InvalidThemeLayout("The bundle holds no theme files; nothing to deploy.")
    outside = [f.filename for f in files if not in_theme_layout(f.filename)]
    if outside:
        shown = ", ".join(quoted(p) for p in outside[:5])
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        raise InvalidThemeLayout(
            f"Files outside Shopify's theme folders: {shown}{more}. A theme holds only "
            f"{', '.join(f + '/' for f in THEME_FOLDERS)} (and templates/customers/).",
            details={"paths": [clipped(p) for p in outside[:50]]},
        )


def parse_theme_json(file: BundleFile) -> tuple[str, Any]:
    """A theme JSON file's leading ``/* ... */`` comment (Shopify writes one) and its document,
    parsed as strictly as a webhook body (``hookyard.base.strict_json``); ``InvalidThemeLayout``
    naming the file when it is not such JSON (Shopify would refuse it, or take NaN for a
    value)."""
    shown = quoted(file.filename)
    if len(file.content) > MAX_THEME_JSON_BYTES:
        raise InvalidThemeLayout(
            f"{shown} holds {len(file.content)} bytes; Shopify takes JSON theme files of at most "
            "1.5 MB. Make it smaller.", details={"paths": [clipped(file.filename)]})
    try:
        text = file.content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidThemeLayout(f"{shown} is not UTF-8 text; save it as UTF-8.",
                                 details={"paths": [clipped(file.filename)]}) from None
    comment = _LEADING_COMMENT.match(text)
    header = comment.group(0) if comment else ""
    try:
        document = parse_json_body(file.content[len(header.encode("utf-8")):])
    except InvalidJson as exc:
        raise InvalidThemeLayout(
            f"{shown} is not strict JSON ({exc.message}) Fix the file: only a leading /* */ "
            "comment, no NaN or Infinity, nesting at most 64 deep, integers within 64 bits.",
            details={"paths": [clipped(file.filename)]}) from None
    return header, document


def check_theme_json(files: Sequence[BundleFile], budget: ReadBudget) -> None:
    """Every ``.json`` file Shopify parses (``JSON_CHECKED_FOLDERS``) is strict JSON."""
    for f in files:
        if f.filename.endswith(".json") and f.filename.startswith(JSON_CHECKED_FOLDERS):
            budget.check_time()
            parse_theme_json(f)


# --- reading -----------------------------------------------------------------------------------


def _read_zip(data: bytes, budget: ReadBudget) -> list[tuple[str, bytes]]:
    archive = ZipArchive(data, budget)
    entries = []
    for entry in archive.entries:
        path = safe_path(entry.name)
        if entry.is_dir or _ignored(path):
            continue
        if entry.is_symlink:
            raise InvalidBundle(f"Zip entry {quoted(path)} is a symbolic link; bundles hold "
                                "files only.")
        if entry.is_encrypted:
            raise InvalidBundle(f"Zip entry {quoted(path)} is encrypted; upload an unencrypted "
                                "zip.")
        budget.add_file()
        entries.append((path, entry))
    for _, entry in entries:
        budget.add_bytes(entry.size)  # the declared sizes, before inflating anything
    return [(path, archive.read(entry)) for path, entry in entries]


def _read_tar_gz(data: bytes, budget: ReadBudget) -> list[tuple[str, bytes]]:
    read: list[tuple[str, bytes]] = []
    for member in read_tar_gz(data, budget):  # each size checked before its data is inflated
        path = safe_path(member.name)
        if member.kind == "dir" or _ignored(path):
            continue
        if member.kind != "file":
            raise InvalidBundle(f"Tar entry {quoted(path)} is a link or special file; bundles "
                                "hold regular files only.")
        budget.add_file()
        read.append((path, member.content))
    return read


def _read_json_files(data: bytes, budget: ReadBudget) -> list[tuple[str, bytes]]:
    document = parse_json_body(data)
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        raise InvalidBundle('"files" must be an object mapping theme paths to contents.')
    read: list[tuple[str, bytes]] = []
    for raw_path, value in files.items():
        budget.check_time()
        path = safe_path(raw_path)
        if isinstance(value, str):
            content = value.encode("utf-8")
        elif isinstance(value, dict) and set(value) == {"base64"} and isinstance(
                value["base64"], str):
            try:
                content = base64.b64decode(value["base64"], validate=True)
            except binascii.Error:
                raise InvalidBundle(f"files[{quoted(path)}].base64 is not valid "
                                    "base64.") from None
        else:
            raise InvalidBundle(f"files[{quoted(path)}] must be a string (text) or "
                                '{"base64": "..."} (binary).')
        budget.add_file()
        budget.add_bytes(len(raw_path.encode("utf-8")) + len(content))
        read.append((path, content))
    return read


def read_files(fmt: str, data: bytes, limits: BundleLimits) -> list[BundleFile]:
    """The checked theme files of a bundle in format ``fmt`` (see the module docstring)."""
    budget = ReadBudget(limits)
    if fmt == "zip":
        entries = _read_zip(data, budget)
    elif fmt == "tar.gz":
        entries = _read_tar_gz(data, budget)
    elif fmt == "json":
        entries = _read_json_files(data, budget)
    else:
        raise InvalidBundle(f"Unknown bundle format {quoted(fmt)}; use one of "
                            f"{', '.join(FORMATS)}.")
    seen: set[str] = set()
    for path, _ in entries:
        if path in seen:
            raise InvalidBundle(f"The bundle holds {quoted(path)} twice.")
        seen.add(path)
    files = _unwrap([BundleFile(path, content) for path, content in entries])
    check_layout(files)
    check_theme_json(files, budget)
    return sorted(files, key=lambda f: f.filename)


# --- settings ----------------------------------------------------------------------------------


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied: objects merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merge_settings(files: Sequence[BundleFile], overrides: Mapping[str, Any]) -> list[BundleFile]:
    """Apply ``overrides`` to ``current`` of ``config/settings_data.json`` (created when absent).

    ``current`` may name a preset (Shopify's form for an untouched theme); it is replaced by a
    copy of that preset's settings first. A leading ``/* ... */`` comment (Shopify writes one)
    is kept.
    """
    if not overrides:
        return list(files)
    existing = next((f for f in files if f.filename == SETTINGS_DATA), None)
    header = ""
    document: dict[str, Any] = {"current": {}}
    if existing is not None:
        # Strict, like every theme JSON file: a NaN would be written back as NaN (not JSON), and
        # nesting is bounded before the recursive merge below walks it.
        header, loaded = parse_theme_json(existing)
        if not isinstance(loaded, dict):
            raise InvalidThemeLayout(f"{SETTINGS_DATA} must hold a JSON object.")
        document = loaded
    current = document.get("current", {})
    if isinstance(current, str):
        presets = document.get("presets")
        preset = presets.get(current) if isinstance(presets, dict) else None
        current = preset if isinstance(preset, dict) else {}
    if not isinstance(current, dict):
        raise InvalidThemeLayout(f'"current" in {SETTINGS_DATA} must be an object or a preset '
                                 "name.")
    document["current"] = deep_merge(current, overrides)
    content = (header + json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    merged = [f for f in files if f.filename != SETTINGS_DATA]
    merged.append(BundleFile(SETTINGS_DATA, content))
    return sorted(merged, key=lambda f: f.filename)


def total_bytes(files: Iterable[BundleFile]) -> int:
    return sum(len(f.content) for f in files)
