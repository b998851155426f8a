"""Reading a request body within the size limit, and the content-type policy."""

from __future__ import annotations

import falcon

from hookyard.errors import PayloadTooLarge, UnsupportedMediaType

JSON_TYPES = ("application/json",)


def require_json_content_type(req: falcon.Request) -> None:
    media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'!r} is not JSON; send the body as "
            "application/json."
        )


def read_body(req: falcon.Request, limit: int, *, setting: str = "HOOKYARD_MAX_BODY_BYTES",
              advice: str = "split the delivery") -> bytes:
    """The whole body, or ``PayloadTooLarge``: by Content-Length before reading anything, and by
    a bounded read when the body is chunked (no Content-Length)."""
    too_large = PayloadTooLarge(f"The body is larger than {limit} bytes ({setting}); {advice}.")
    length = req.content_length
    if length is not None:
        if length > limit:
            raise too_large
        return req.bounded_stream.read() if length else b""
    body = req.stream.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body
