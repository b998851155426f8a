"""``NhanhClient``: one shop's Nhanh.vn Open API v3 (https://apidocs.nhanh.vn/v3), paced under
Nhanh's request limit with a budget every replica shares in Redis.

A request is ``POST <HOOKYARD_NHANH_API_URL><path>?appId=<app>&businessId=<business>`` with the
raw access token as ``Authorization`` and a JSON body. Nhanh answers HTTP 200 with ``code`` 1
(success) or 0 (``errorCode`` and ``messages``). ``call`` is the single way to send one; it
paces and maps every failure onto the error tree:

=============================================  ==================================================
answer                                         outcome
=============================================  ==================================================
``code`` 1                                     the answer is returned
our shared limit has no room                   wait its Retry-After and try again, inside this
                                               ``call``, at most ``max_wait_seconds`` in all;
                                               then ``NhanhThrottled`` (retryable)
``ERR_429`` (the app's limit was spent by      ``NhanhThrottled`` with Nhanh's ``lockedSeconds``
another client)                                as ``retry_after_seconds`` (retryable)
``ERR_INVALID_ACCESS_TOKEN``, ``_APP_ID``,     ``NhanhRejected`` (permanent) naming the shop
``_BUSINESS_ID``                               setting to fix
``ERR_INVALID_DATA``                           ``NhanhRejected``: Hookyard sent a bad request
another ``errorCode``                          ``NhanhError`` (retryable: Nhanh's own trouble)
5xx, timeout, connection error, not JSON       ``NhanhError`` (retryable)
HTTP 429                                       ``NhanhThrottled`` (``Retry-After`` or a window)
other HTTP 4xx                                 ``NhanhRejected`` (check HOOKYARD_NHANH_API_URL)
=============================================  ==================================================

Nhanh allows ``requests`` per ``window_seconds`` per app + business + API URL (150 per 30 s,
sliding). Every request first takes a place in ``SlidingWindowLimit`` under
``keys.nhanh_api_rate(app, business, path)``, so replicas together stay under it. Our window is
one second (``WINDOW_MARGIN_SECONDS``) longer than Nhanh's: a request enters our window when it
is admitted and Nhanh's when it arrives, and the margin absorbs the difference in their network
delays, which would otherwise let Nhanh count one request too many. The access token is sent
only in the ``Authorization`` header and never appears in an exception or a log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import redis
import requests

from hookyard.base import keys, metrics
from hookyard.base.errors import (
    NhanhError,
    NhanhNotConfigured,
    NhanhRejected,
    NhanhThrottled,
)
from hookyard.base.settings import Settings
from hookyard.base.shops import ShopConfig
from hookyard.storage.rate_limits import Admission, SlidingWindowLimit

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://pos.open.nhanh.vn"
WINDOW_MARGIN_SECONDS = 1
"""Our window's length beyond Nhanh's (see the module docstring)."""
MAX_PAGE_SIZE = 100
"""Nhanh's largest ``paginator.size``."""
MESSAGE_LIMIT = 300
CREDENTIAL_ERRORS: Mapping[str, str] = {
    "ERR_INVALID_ACCESS_TOKEN": "nhanh_access_token (or the variable its "
                                "nhanh_access_token_env names)",
    "ERR_INVALID_APP_ID": "nhanh_app_id",
    "ERR_INVALID_BUSINESS_ID": "nhanh_business_id",
}
"""Nhanh's error codes for bad credentials -> the ``HOOKYARD_SHOPS`` field to fix."""
REQUEST_ERRORS = frozenset({"ERR_INVALID_DATA"})
"""Error codes that mean "your request is wrong": sending it again cannot help."""
THROTTLED = "ERR_429"


class Pacer(Protocol):
    """What the client needs of a shared limit (``SlidingWindowLimit`` is the real one)."""

    def admit(self, key: str) -> Admission: ...


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint: its items, and ``total_items`` (first page only)."""

    items: list[Any]
    total_items: int | None


class NhanhClient:
    """The Open API v3 of one shop's Nhanh business.

    Collaborators are explicit; nothing is read from the environment and nothing touches the
    network until ``call``. ``limit`` must count ``window_seconds + WINDOW_MARGIN_SECONDS``
    (``from_settings`` builds it so); ``max_wait_seconds`` bounds the time one ``call`` sleeps
    waiting for room in it (default: that window, so a call always gets at least one wait). A
    shop without ``nhanh_app_id`` and ``nhanh_access_token`` raises ``NhanhNotConfigured``.
    """

    def __init__(
        self,
        shop: ShopConfig,
        *,
        limit: Pacer,
        window_seconds: int = 30,
        base_url: str = DEFAULT_API_URL,
        timeout_seconds: float = 10.0,
        max_wait_seconds: float | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not shop.has_nhanh_api:
            raise NhanhNotConfigured(
                f"Shop {shop.id!r} has no Nhanh API credentials: set nhanh_app_id and "
                "nhanh_access_token (or nhanh_access_token_env) in its HOOKYARD_SHOPS entry."
            )
        self.shop = shop
        self.base_url = base_url.rstrip("/")
        self._limit = limit
        self._window = window_seconds
        self._timeout = (timeout_seconds, timeout_seconds)
        self._max_wait = (window_seconds + WINDOW_MARGIN_SECONDS
                          if max_wait_seconds is None else max_wait_seconds)
        self._session = session or requests.Session()
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings, shop: ShopConfig, state: redis.Redis, *,
                      session: requests.Session | None = None) -> NhanhClient:
        """A client configured by ``HOOKYARD_NHANH_API_*``, paced by a limit in ``state`` (the
        state DB) that every replica shares."""
        window = settings.nhanh_api_window_seconds
        limit = SlidingWindowLimit(state, limit=settings.nhanh_api_requests,
                                   window_seconds=window + WINDOW_MARGIN_SECONDS)
        return cls(shop, limit=limit, window_seconds=window, base_url=settings.nhanh_api_url,
                   timeout_seconds=settings.nhanh_api_timeout_seconds, session=session)

    # --- the one entry point ------------------------------------------------------------------

    def call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Send ``body`` to ``path`` (e.g. ``/v3.0/customer/list``) and return Nhanh's successful
        answer (``code`` 1); see the module table for everything else."""
        self._pace(path)
        response = self._post(path, body)
        answer = self._decode(path, response)
        if answer.get("code") == 1:
            metrics.nhanh_api_calls_total.labels(shop=self.shop.id, endpoint=path,
                                                 outcome="ok").inc()
            return answer
        self._refused(path, answer)

    def pages(self, path: str, *, filters: Mapping[str, Any] | None = None,
              size: int = MAX_PAGE_SIZE) -> Iterator[Page]:
        """Every page of a list endpoint, following ``paginator.next`` until Nhanh answers none
        (a page may hold fewer than ``size`` items and still have a next one)."""
        after: Any = None
        while True:
            paginator: dict[str, Any] = {"size": size}
            if after is not None:
                paginator["next"] = after
            body: dict[str, Any] = {"paginator": paginator}
            if filters:
                body["filters"] = dict(filters)
            answer = self.call(path, body)
            items = answer.get("data")
            if items is None:
                items = []
            if not isinstance(items, list):
                self._fail(path, "error", NhanhError, "answered data that is not a list")
            meta = answer.get("paginator")
            meta = meta if isinstance(meta, dict) else {}
            total = meta.get("totalItems")
            yield Page(items=items, total_items=total if isinstance(total, int) else None)
            following = meta.get("next")
            if following in (None, "", [], {}):
                return
            if following == after:
                self._fail(path, "error", NhanhError,
                           "answered the same paginator.next twice; stopped paging")
            after = following

    # --- steps ----------------------------------------------------------------------------------

    def _pace(self, path: str) -> None:
        """Take a place in the shared window, waiting for one at most ``max_wait_seconds``."""
        key = keys.nhanh_api_rate(str(self.shop.nhanh_app_id), self.shop.nhanh_business_id, path)
        waited = 0.0
        while True:
            admission = self._limit.admit(key)
            if admission.admitted:
                return
            wait = float(admission.retry_after_seconds)
            metrics.nhanh_api_throttled_total.labels(shop=self.shop.id).inc()
            if waited + wait > self._max_wait:
                metrics.nhanh_api_calls_total.labels(shop=self.shop.id, endpoint=path,
                                                     outcome="throttled").inc()
                raise NhanhThrottled(
                    f"Nhanh API {path} for shop {self.shop.id!r} had no room in the shared "
                    f"limit for {self._max_wait:g}s; the job should retry later.",
                    retry_after_seconds=wait,
                )
            log.info("nhanh api limit reached; waiting %.0fs inside the call",
                     wait, extra={"shop": self.shop.id})
            self._sleep(wait)
            waited += wait

    def _post(self, path: str, body: Mapping[str, Any]) -> requests.Response:
        headers = {
            "Authorization": str(self.shop.nhanh_access_token),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        params = {"appId": str(self.shop.nhanh_app_id), "businessId": self.shop.nhanh_business_id}
        try:
            return self._session.post(
                f"{self.base_url}{path}", params=params, headers=headers,
                data=json.dumps(body, ensure_ascii=False).encode(), timeout=self._timeout)
        except requests.Timeout as exc:
            self._fail(path, "error", NhanhError, f"timed out ({type(exc).__name__})")
        except requests.RequestException as exc:
            self._fail(path, "error", NhanhError, f"could not be sent ({type(exc).__name__})")

    def _decode(self, path: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 429:
            wait = _seconds(response.headers.get("Retry-After"), default=float(self._window))
            self._throttled(path, f"answered HTTP 429 (Retry-After {wait:g}s)", wait, None)
        if status >= 500:
            self._fail(path, "error", NhanhError, f"answered HTTP {status}")
        if status != 200:
            self._fail(path, "rejected", NhanhRejected,
                       f"answered HTTP {status}: {self._excerpt(response.text)}; check "
                       "HOOKYARD_NHANH_API_URL", details={"http_status": status})
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self._fail(path, "error", NhanhError, "answered HTTP 200 with a body that is not "
                                                  "a JSON object")
        return answer

    def _refused(self, path: str, answer: dict[str, Any]) -> NoReturn:
        code = str(answer.get("errorCode") or "")
        text = self._excerpt(_text(answer.get("messages")))
        details: dict[str, object] = {"error_code": code}
        if code == THROTTLED:
            data = answer.get("data")
            data = data if isinstance(data, dict) else {}
            locked = data.get("lockedSeconds")
            locked = locked if isinstance(locked, int) and not isinstance(locked, bool) else None
            wait = float(locked) if locked is not None and locked > 0 else float(self._window)
            self._throttled(path, f"answered ERR_429 (locked for {locked}s)", wait, locked)
        if code in CREDENTIAL_ERRORS:
            self._fail(path, "rejected", NhanhRejected,
                       f"was refused with {code} ({text}): fix {CREDENTIAL_ERRORS[code]} of "
                       f"shop {self.shop.id!r} in HOOKYARD_SHOPS", details=details)
        if code in REQUEST_ERRORS:
            self._fail(path, "rejected", NhanhRejected,
                       f"was refused as invalid with {code}: {text}", details=details)
        self._fail(path, "error", NhanhError,
                   f"failed with {code or 'no errorCode'}: {text}", details=details)

    def _throttled(self, path: str, what: str, wait: float, locked: int | None) -> NoReturn:
        metrics.nhanh_api_throttled_total.labels(shop=self.shop.id).inc()
        metrics.nhanh_api_calls_total.labels(shop=self.shop.id, endpoint=path,
                                             outcome="throttled").inc()
        message = self._redact(f"Nhanh API {path} for shop {self.shop.id!r} {what}; another "
                               "client of the app spent its limit, the job should retry later.")
        log.warning("%s", message, extra={"shop": self.shop.id})
        raise NhanhThrottled(message, retry_after_seconds=wait, locked_seconds=locked)

    def _fail(self, path: str, outcome: str,
              error: type[NhanhError] | type[NhanhRejected], what: str, *,
              details: dict[str, object] | None = None) -> NoReturn:
        metrics.nhanh_api_calls_total.labels(shop=self.shop.id, endpoint=path,
                                             outcome=outcome).inc()
        message = self._redact(f"Nhanh API {path} for shop {self.shop.id!r} {what}")
        log.warning("%s", message, extra={"shop": self.shop.id})
        exc = error(message)
        exc.details = dict(details or {})
        raise exc

    # --- message hygiene ------------------------------------------------------------------------

    def _excerpt(self, text: str) -> str:
        text = " ".join(text.split())
        return text[:MESSAGE_LIMIT] + ("..." if len(text) > MESSAGE_LIMIT else "")

    def _redact(self, text: str) -> str:
        token = self.shop.nhanh_access_token
        return text.replace(token, "[redacted]") if token else text


def _text(messages: Any) -> str:
    """Nhanh's ``messages``: a string, or (v2 style) a list or object of strings."""
    if isinstance(messages, str):
        return messages
    if isinstance(messages, list):
        return "; ".join(str(m) for m in messages[:5])
    if isinstance(messages, dict):
        return "; ".join(f"{k}: {v}" for k, v in list(messages.items())[:5])
    return "" if messages is None else str(messages)


def _seconds(raw: str | None, *, default: float) -> float:
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return value if 0 < value < 3600 else default
