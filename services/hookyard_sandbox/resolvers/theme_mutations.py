"""``themeCreate``, ``themeFilesUpsert`` and ``themeFilesDelete``: theme roles, folders, the
50-file limit and the files a theme cannot lose, as Shopify checks them, all or nothing."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlparse

from graphql import GraphQLResolveInfo

from hookyard_sandbox.resolvers.recorded_mutations import RecordedMutations, user_error
from hookyard_sandbox.state import Theme, ThemeFile, now_iso

MAX_THEME_FILES = 50
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


class ThemeMutations(RecordedMutations):
    """``themeCreate``, ``themeFilesUpsert`` and ``themeFilesDelete``."""

    def themeCreate(self, info: GraphQLResolveInfo, source: str, name: str | None = None,
                    role: str | None = None) -> Any:
        args = {"source": source, "name": name, "role": role}
        return self._run(info, args, idempotent=False,
                         apply=lambda: self._create_theme(source, name, role or "UNPUBLISHED"))

    def _create_theme(self, source: str, name: str | None, role: str) -> dict[str, Any]:
        parsed = urlparse(source)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return {"theme": None, "userErrors": [user_error(
                "INVALID", ["source"], "Source must be an http(s) URL of a theme zip.")]}
        if role not in ("UNPUBLISHED", "DEVELOPMENT"):
            return {"theme": None, "userErrors": [user_error(
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
            return [user_error(
                "LESS_THAN_OR_EQUAL_TO", ["files"],
                f"The number of files must be less than or equal to {MAX_THEME_FILES}.")]
        theme = self.shop.themes.get(theme_id)
        if theme is None:
            return [user_error("NOT_FOUND", ["themeId"], "The theme could not be found.")]
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
                errors.append(user_error("DUPLICATE_FILE_INPUT", path,
                                         "There are files with the same filename.",
                                         filename=filename))
                continue
            if not filename.startswith(THEME_FOLDERS) or ".." in filename:
                errors.append(user_error("FILE_VALIDATION_ERROR", [*path, "filename"],
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
                    errors.append(user_error("FILE_VALIDATION_ERROR", [*path, "body"],
                                             "The file is invalid: bad base64.",
                                             filename=filename))
            else:
                errors.append(user_error("FILE_VALIDATION_ERROR", [*path, "body"],
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
                errors.append(user_error("FILE_VALIDATION_ERROR", ["files", str(i)],
                                         "This file is required and cannot be deleted.",
                                         filename=filename))
            elif filename not in theme.files:
                errors.append(user_error("NOT_FOUND", ["files", str(i)],
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
