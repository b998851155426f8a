"""Reading a request body within the size limit, and the content-type policy."""

from __future__ import annotations

import falcon
from gunicorn.http.errors import ParseException

from hookyard.base.errors import InvalidBody, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from ingest.gunicorn_worker import ReadDeadlineExceeded

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
    a bounded read when the body is chunked (no Content-Length).

    A body that cannot be read whole is ``InvalidBody`` (400), never a short body taken as the
    whole: malformed chunked encoding (gunicorn's parser errors), a connection that ended early
    (fewer bytes than Content-Length), and ``RequestTimeout`` (408) when it stopped arriving
    (``ingest.gunicorn_worker``)."""
    too_large = PayloadTooLarge(f"The body is larger than {limit} bytes ({setting}); {advice}.")
    length = req.content_length
    if length is not None and length > limit:
        raise too_large
    try:
        if length is not None:
            body = req.bounded_stream.read() if length else b""
        else:
            body = req.stream.read(limit + 1)
    except (ReadDeadlineExceeded, TimeoutError):
        raise RequestTimeout("The body stopped arriving before it was complete; send it again "
                             "without pausing.") from None
    except (ParseException, OSError, ValueError) as exc:
        raise InvalidBody(f"The body could not be read ({type(exc).__name__}): malformed "
                          "chunked encoding or a connection that ended early. Send the whole "
                          "body again, with a valid Content-Length or chunked encoding."
                          ) from None
    if length is not None and len(body) < length:
        raise InvalidBody(f"The connection ended after {len(body)} of the {length} bytes that "
                          "Content-Length announced; send the whole body again.")
    if len(body) > limit:
        raise too_large
    return body
