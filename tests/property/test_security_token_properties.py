"""Token extraction and comparison, and strict JSON, under arbitrary input (Hypothesis).

No network: requests are built with ``falcon.testing.create_req``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import falcon.testing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookyard.base.api_tokens import ApiToken
from hookyard.base.errors import InvalidJson, InvalidToken, MissingToken
from hookyard.base.strict_json import parse_json_body
from ingest import auth

ACCEPTED = ("tok-2026-a", "tok-2026-b", "ünïcode-tôken")
API_TOKENS = tuple(ApiToken(name=f"t{i}", sha256=hashlib.sha256(secret.encode()).hexdigest(),
                            scope="admin") for i, secret in enumerate(("alpha", "beta", "gamma")))
# Header values travel as latin-1 in WSGI; anything printable there can arrive.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    exclude_characters="\x7f"), max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(
    allow_nan=False, allow_infinity=False)


def request(headers: dict[str, str]) -> falcon.Request:
    return falcon.testing.create_req(path="/webhooks/nhanh", method="POST", headers=headers)


@settings(max_examples=200, deadline=None)
@given(header=st.none() | header_text, alias=st.sampled_from(["verifyToken",
                                                              "X-Nhanh-Verify-Token"]),
       body_token=st.none() | json_scalars | st.sampled_from(ACCEPTED),
       document_kind=st.sampled_from(["object", "list", "scalar"]))
def test_nhanh_token_check_accepts_exactly_the_configured_tokens(header, alias, body_token,
                                                                  document_kind):
    headers = {alias: header} if header is not None else {}
    document: Any = {"webhooksVerifyToken": body_token} if document_kind == "object" else (
        [body_token] if document_kind == "list" else body_token)
    # An empty header counts as absent.
    body_candidate = body_token if document_kind == "object" and isinstance(
        body_token, str) else None
    req = request(headers)
    # The header as the request carries it (the WSGI layer trims surrounding whitespace).
    candidate = (req.get_header(alias) or "") or body_candidate
    try:
        auth.check_nhanh_token(req, document, ACCEPTED)
    except MissingToken:
        assert not candidate
    except InvalidToken:
        assert candidate and candidate not in ACCEPTED
    else:
        assert candidate in ACCEPTED


@settings(max_examples=200, deadline=None)
@given(value=st.none() | header_text | st.sampled_from(
    ["Bearer alpha", "bearer beta", "BEARER  gamma ", "Bearer", "Basic alpha", "Bearer alpha x"]))
def test_bearer_token_resolves_a_configured_token_or_raises_401_errors_only(value):
    headers = {"Authorization": value} if value is not None else {}
    try:
        token = auth.bearer_token(request(headers), API_TOKENS)
    except (MissingToken, InvalidToken):
        return
    scheme, _, secret = (value or "").partition(" ")
    assert scheme.lower() == "bearer"
    assert hashlib.sha256(secret.strip().encode()).hexdigest() == token.sha256


@pytest.mark.parametrize("position", [0, 1, 2, None])
def test_every_configured_token_is_compared_whichever_matches(monkeypatch, position):
    compared: list[bytes] = []
    real_compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real_compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    candidate = ACCEPTED[position] if position is not None else "nope"
    try:
        auth.check_nhanh_token(request({"verifyToken": candidate}), {}, ACCEPTED)
    except InvalidToken:
        assert position is None
    assert compared == [t.encode() for t in ACCEPTED]  # no early exit

    compared.clear()
    secret = ("alpha", "beta", "gamma")[position] if position is not None else "nope"
    try:
        auth.bearer_token(request({"Authorization": f"Bearer {secret}"}), API_TOKENS)
    except InvalidToken:
        assert position is None
    assert compared == [t.sha256.encode() for t in API_TOKENS]


def test_comparisons_never_use_plain_equality_on_secrets():
    source = open(auth.__file__, encoding="utf-8").read()
    assert "compare_digest" in source
    for plain in ("candidate in ", "candidate ==", "digest ==", "== digest", "value =="):
        assert plain not in source, plain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 0x10FFFF), max_size=8))
def test_any_unicode_escape_sequence_parses_to_encodable_text_or_is_invalid_json(code_points):
    escapes = "".join(f"\\u{cp:04x}" if cp <= 0xFFFF else chr(cp) for cp in code_points)
    body = f'{{"k{escapes}": "{escapes}"}}'.encode("utf-8", "surrogatepass")
    try:
        value = parse_json_body(body)
    except InvalidJson:
        return
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # never a lone surrogate
