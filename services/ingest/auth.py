"""Token checks: Nhanh.vn verify tokens (v2, v3) and status-API bearer tokens, in constant time.

Every configured token is compared (no early exit), so timing tells nothing about which one, if
any, nearly matched. Bearer tokens are compared by their sha256 (only digests are kept).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import falcon

from hookyard.base.api_tokens import ApiToken
from hookyard.base.errors import Forbidden, InvalidToken, MissingToken
from hookyard.nhanh.webhooks.envelope import BODY_TOKEN_FIELD, presented_tokens


def _matches_any(candidate: bytes, secrets: Iterable[bytes]) -> bool:
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(candidate, secret)
    return matched


def check_nhanh_token(req: falcon.Request, document: Mapping[str, Any] | Any,
                      accepted: Iterable[str]) -> int:
    """Accept v2's token (the body's ``webhooksVerifyToken``, or a ``verifyToken`` /
    ``X-Nhanh-Verify-Token`` header) or v3's (the ``Authorization`` header); every token the
    delivery presents must be valid. Answer the webhook version their places tell, or raise
    ``MissingToken``/``InvalidToken``."""
    candidates, version = presented_tokens(req.headers, document)
    if not candidates:
        raise MissingToken(
            "No verify token: Nhanh's v3 webhooks send it in the Authorization header, v2's in "
            f"the body as {BODY_TOKEN_FIELD} (or a verifyToken / X-Nhanh-Verify-Token header)."
        )
    secrets = [t.encode() for t in accepted]
    checks = [_matches_any(c.encode(), secrets) for c in candidates]  # each compared, always
    if not all(checks):
        raise InvalidToken("The verify token is not one Hookyard accepts; check the token "
                           "configured in Nhanh.vn against HOOKYARD_NHANH_TOKENS.")
    return version


def bearer_token(req: falcon.Request, tokens: Iterable[ApiToken]) -> ApiToken:
    header = req.get_header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise MissingToken("Send an API token as 'Authorization: Bearer <token>'.")
    digest = hashlib.sha256(value.strip().encode()).hexdigest().encode()
    found: ApiToken | None = None
    for token in tokens:
        if hmac.compare_digest(digest, token.sha256.encode()):
            found = token
    if found is None:
        raise InvalidToken("The API token is not valid; ask an operator for one "
                           "(HOOKYARD_API_TOKENS).")
    return found


def require_admin(token: ApiToken) -> None:
    if not token.is_admin:
        raise Forbidden(f"Token {token.name!r} is scoped to {token.scope}; this needs an admin "
                        "(operator) token.")
