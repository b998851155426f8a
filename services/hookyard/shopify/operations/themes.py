"""Theme operations: themes listed, read and created; their files listed, written and deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.shopify.operations.calls import (
    MAX_PAGE_SIZE,
    MUTATION_COST,
    Executor,
    connection_cost,
    raise_for_user_errors,
)

MAX_THEME_FILES = 50

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
