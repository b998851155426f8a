"""Token checks: Nhanh.vn verify tokens and status-API bearer tokens, in constant time.

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
from hookyard.sync.nhanh import TOKEN_FIELD

NHANH_TOKEN_HEADERS = ("VERIFYTOKEN", "X-NHANH-VERIFY-TOKEN")


def _matches_any(candidate: bytes, secrets: Iterable[bytes]) -> bool:
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(candidate, secret)
    return matched


def check_nhanh_token(req: falcon.Request, document: Mapping[str, Any] | Any,
                      accepted: Iterable[str]) -> None:
    """Accept the header token (``verifyToken`` or ``X-Nhanh-Verify-Token``) or the body's
    ``webhooksVerifyToken``; raise ``MissingToken``/``InvalidToken`` otherwise."""
    candidate = None
    for header in NHANH_TOKEN_HEADERS:
        candidate = candidate or req.get_header(header)
    if not candidate and isinstance(document, dict):  # an empty header is no token
        body_token = document.get(TOKEN_FIELD)
        candidate = body_token if isinstance(body_token, str) else None
    if not candidate:
        raise MissingToken(
            "No verify token: send it in the verifyToken (or X-Nhanh-Verify-Token) header or as "
            f"{TOKEN_FIELD} in the body."
        )
    if not _matches_any(candidate.encode(), [t.encode() for t in accepted]):
        raise InvalidToken("The verify token is not one Hookyard accepts; check the token "
                           "configured in Nhanh.vn against HOOKYARD_NHANH_TOKENS.")


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
