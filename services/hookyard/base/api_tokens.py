"""Status API bearer tokens (``HOOKYARD_API_TOKENS``): who may call what; only digests are kept."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApiToken:
    """A status-API bearer token; only its sha256 is kept in memory."""

    name: str
    sha256: str = field(repr=False)
    scope: str
    """``admin`` or ``shop:<shop id>``."""

    @property
    def shop(self) -> str | None:
        return self.scope.removeprefix("shop:") if self.scope.startswith("shop:") else None

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"


def parse_api_tokens(raw: str) -> tuple[ApiToken, ...]:
    """Parse ``HOOKYARD_API_TOKENS``.

    Either JSON (``[{"name", "token" | "sha256", "scope"}]``) or a compact comma-separated list of
    ``name:scope:secret`` where secret is the token itself or ``sha256:<hex>``.
    """
    if not raw.strip():
        return ()
    entries: list[dict[str, str]] = []
    if raw.lstrip().startswith("["):
        loaded = json.loads(raw)
        if not isinstance(loaded, list) or not all(isinstance(e, dict) for e in loaded):
            raise ValueError("JSON form must be a list of objects")
        entries = loaded
    else:
        for chunk in raw.split(","):
            chunk = chunk.strip()
            if not chunk:
                continue
            name, _, rest = chunk.partition(":")
            scope, _, secret = rest.rpartition(":")
            if scope.endswith(":sha256"):
                scope, secret = scope.removesuffix(":sha256"), "sha256:" + secret
            if not name or not scope or not secret:
                raise ValueError("each entry must be name:scope:token")
            entries.append({"name": name, "scope": scope, "secret": secret})
    tokens = []
    for entry in entries:
        name, scope = str(entry.get("name", "")), str(entry.get("scope", ""))
        secret = str(entry.get("secret") or entry.get("token") or "")
        digest = str(entry.get("sha256") or "")
        if secret.startswith("sha256:"):
            digest = secret.removeprefix("sha256:")
        elif secret:
            digest = hashlib.sha256(secret.encode()).hexdigest()
        if not name or not digest:
            raise ValueError("every token needs a name and a token or sha256")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
            raise ValueError(f"token {name!r}: sha256 must be 64 hex digits")
        if scope != "admin" and not (scope.startswith("shop:") and len(scope) > 5):
            raise ValueError(f"token {name!r}: scope must be 'admin' or 'shop:<id>'")
        tokens.append(ApiToken(name=name, sha256=digest.lower(), scope=scope))
    return tuple(tokens)
