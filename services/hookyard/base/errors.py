"""The one error tree. Every failure Hookyard reports has one class and one stable code.

HTTP-facing errors carry ``status`` and ``code``; ingest maps them to
``{"error": code, "message": message}`` in a single handler. Messages say what happened and what
to do about it, and never contain a token or secret. Input they echo goes through ``quoted``,
so an answer stays small whatever was sent.
"""

from __future__ import annotations

ECHO_LIMIT = 80
"""Characters of a request's own text (a path, a shop id) an error message repeats at most."""


def quoted(value: str, limit: int = ECHO_LIMIT) -> str:
    """``value`` quoted for an error message (``repr``: control characters escaped), cut to
    ``limit`` characters with its full length said: a name of megabytes must not come back in
    the answer."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def clipped(value: str, limit: int = 2 * ECHO_LIMIT) -> str:
    """``value`` cut to ``limit`` characters (``...`` says it was), for an error's details."""
    return value if len(value) <= limit else value[:limit] + "..."


class HookyardError(Exception):
    """Base of every error Hookyard raises on purpose."""

    code = "internal_error"
    status = 500
    retry_after_seconds: float | None = None
    """How long to wait before trying again, when the error knows: an HTTP answer's
    ``Retry-After``, and a floor under a job's retry delay (a throttle's own wait)."""

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class SettingsError(HookyardError):
    """A ``HOOKYARD_*`` variable is missing or invalid; the process must not start."""

    code = "invalid_settings"


# --- HTTP: request problems (4xx) -----------------------------------------------------------


class InvalidJson(HookyardError):
    code, status = "invalid_json", 400


class ValidationFailed(HookyardError):
    code, status = "validation_failed", 422


class PayloadTooLarge(HookyardError):
    code, status = "payload_too_large", 413


class UnsupportedMediaType(HookyardError):
    code, status = "unsupported_media_type", 415


class MissingToken(HookyardError):
    code, status = "missing_token", 401


class InvalidToken(HookyardError):
    code, status = "invalid_token", 401


class Forbidden(HookyardError):
    code, status = "forbidden", 403


class UnknownShop(HookyardError):
    code, status = "unknown_shop", 404


class WrongEvent(HookyardError):
    code, status = "wrong_event", 400


class NotFound(HookyardError):
    code, status = "not_found", 404


class Conflict(HookyardError):
    code, status = "conflict", 409


class BadRequest(HookyardError):
    code, status = "bad_request", 400


class InvalidBody(HookyardError):
    """The body could not be read whole: malformed chunked encoding, or the connection ended
    before ``Content-Length`` bytes arrived."""

    code, status = "invalid_body", 400


class RequestTimeout(HookyardError):
    """The request (line, headers or body) did not arrive within ingest's read deadline."""

    code, status = "request_timeout", 408


class InvalidBundle(HookyardError):
    """A theme bundle that cannot be read: not a zip/tar.gz, corrupt, links, bad files JSON."""

    code, status = "invalid_bundle", 400


class UnsafeBundlePath(HookyardError):
    """A bundle entry whose path is absolute or climbs out of the theme (``../x``)."""

    code, status = "unsafe_path", 400


class InvalidThemeLayout(HookyardError):
    """A readable bundle that is not a Shopify theme: files outside the theme folders, an
    unreadable ``config/settings_data.json``, or nothing to deploy."""

    code, status = "invalid_theme_layout", 422


class RateLimited(HookyardError):
    code, status = "rate_limited", 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


# --- HTTP: our side is unavailable (5xx) ----------------------------------------------------


class Unavailable(HookyardError):
    """Redis is down, out of memory or too slow: the delivery is not confirmed, the sender
    must re-send (after a timeout Redis may have accepted it; the re-send then answers 200
    ``duplicate``)."""

    code, status = "unavailable", 503
    retry_after_seconds = 5


# --- Job execution --------------------------------------------------------------------------


class JobError(HookyardError):
    """Raised by a job; ``retryable`` decides between retry-with-backoff and dead at once.

    ``upstream`` names the service that was unavailable (``shopify``, ``nhanh``) when the failure
    is theirs, not the job's: 5xx, timeouts, connection errors, throttling past the wait limit,
    or a shop whose circuit breaker is open. Such a job *waits* without spending its attempts
    (``hookyard.jobs.upstream``) instead of retrying on the seconds-long schedule."""

    code = "job_failed"
    retryable = True
    upstream: str | None = None


class PermanentJobError(JobError):
    """The job can never succeed as it is (bad data, missing mapping); it goes to dead at once."""

    code = "job_failed_permanently"
    retryable = False


class JobCancelled(JobError):
    """An operator cancelled the job; raised between steps of a long job."""

    code = "job_cancelled"
    retryable = False


# --- Shopify --------------------------------------------------------------------------------


class ShopifyError(JobError):
    """A Shopify call failed in a way a retry may fix (5xx, timeout, connection)."""

    code = "shopify_error"
    upstream = "shopify"


class ShopifyUnavailable(ShopifyError):
    """The shop's circuit breaker is open: Shopify failed it repeatedly, so no call is made
    until a probe succeeds. ``retry_after_seconds`` is the time until the next probe."""

    code = "shopify_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UpstreamUnavailable(PermanentJobError):
    """The job waited for an unavailable upstream longer than
    ``HOOKYARD_UPSTREAM_MAX_OUTAGE_SECONDS``: it is dead, to be replayed once the upstream is
    back."""

    code = "upstream_unavailable"


class ShopifyThrottled(ShopifyError):
    """Shopify throttled the call (HTTP 429 or a ``THROTTLED`` GraphQL error)."""

    code = "shopify_throttled"

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ShopifyRejected(PermanentJobError):
    """Shopify rejected the request (4xx other than 429, GraphQL or user errors): do not retry."""

    code = "shopify_rejected"


class ShopifyBulkBusy(ShopifyError):
    """Shopify refused to start a bulk query because the shop's bulk slots are taken by other
    queries (``LIMIT_REACHED`` / ``OPERATION_IN_PROGRESS``); try again once one has ended."""

    code = "shopify_bulk_busy"


class ShopifyBulkFailed(ShopifyError):
    """A bulk query ended without a usable result (``FAILED``, ``CANCELED``, ``EXPIRED``), was
    not done in time, or its result file could not be read."""

    code = "shopify_bulk_failed"


# --- Nhanh.vn Open API ------------------------------------------------------------------------


class NhanhError(JobError):
    """A Nhanh API call failed in a way a retry may fix (5xx, timeout, connection, an answer
    that is not Nhanh's JSON, an error code Hookyard does not know)."""

    code = "nhanh_error"
    upstream = "nhanh"


class NhanhThrottled(NhanhError):
    """Nhanh's limit (requests per window per app + business + API) is spent: Nhanh answered
    ``ERR_429`` (another client of the same app used it up), or Hookyard's own shared pacing
    would wait longer than one call may. Retry after ``retry_after_seconds``."""

    code = "nhanh_throttled"

    def __init__(self, message: str, *, retry_after_seconds: float,
                 locked_seconds: int | None = None) -> None:
        super().__init__(message, details={} if locked_seconds is None else
                         {"locked_seconds": locked_seconds})
        self.retry_after_seconds = retry_after_seconds
        self.locked_seconds = locked_seconds
        """Nhanh's ``data.lockedSeconds`` when Nhanh refused; None for our own pacing."""


class NhanhRejected(PermanentJobError):
    """Nhanh refused the request as it is: bad credentials (``ERR_INVALID_ACCESS_TOKEN``,
    ``ERR_INVALID_APP_ID``, ``ERR_INVALID_BUSINESS_ID``), bad data, or an HTTP 4xx. Retrying
    cannot help; the message says which shop setting to fix."""

    code = "nhanh_rejected"


class NhanhNotConfigured(PermanentJobError):
    """The shop has no Nhanh API credentials (``nhanh_app_id`` and ``nhanh_access_token``)."""

    code = "nhanh_not_configured"
