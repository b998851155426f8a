"""The Open API v3 list endpoints the sandbox serves (https://apidocs.nhanh.vn/v3).

``POST /v3.0/customer/list?appId=&businessId=`` (https://apidocs.nhanh.vn/v3/customer/list) and
``POST /v3.0/product/list?appId=&businessId=`` (https://apidocs.nhanh.vn/v3/product/list), with
the access token as the raw ``Authorization`` header and a JSON body::

    {"filters": {"ids": [int, ...]}, "paginator": {"size": 1..100, "next": <from the last page>}}

Every answer is HTTP 200. Success: ``{"code": 1, "paginator": {"next": {"id": <last id>} or
null, "totalItems": n (first page only)}, "data": [...]}``, items ordered by id. Failure:
``{"code": 0, "errorCode": "<CODE>", "messages": "<text>"}``, checked in this order:

=======================================  ============================================
``appId`` missing, not a number, unknown ``ERR_INVALID_APP_ID``
``businessId`` not a business of the app ``ERR_INVALID_BUSINESS_ID``
``Authorization`` missing or wrong       ``ERR_INVALID_ACCESS_TOKEN``
over the limit                           ``ERR_429`` + ``data: {lockedSeconds, unlockedAt}``
body not JSON, bad filters or paginator  ``ERR_INVALID_DATA``
=======================================  ============================================

Only requests that pass the first three checks reach the limit (its key is the app + business
+ path), and only admitted ones count against it; a request the limit refused is not counted.
Unknown filters are ignored, as the other documented filters (``updatedAtFrom``, ...) would be.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from nhanh_sandbox.state import Business, Customer, Product, whole

CUSTOMER_LIST = "/v3.0/customer/list"
PRODUCT_LIST = "/v3.0/product/list"
API_PATHS = (CUSTOMER_LIST, PRODUCT_LIST)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_IDS = 100
"""Nhanh's bound on ``filters.ids`` (https://apidocs.nhanh.vn/v3/order/source: "tối đa 100")."""

ERR_INVALID_APP_ID = "ERR_INVALID_APP_ID"
ERR_INVALID_BUSINESS_ID = "ERR_INVALID_BUSINESS_ID"
ERR_INVALID_ACCESS_TOKEN = "ERR_INVALID_ACCESS_TOKEN"  # noqa: S105 - an error code
ERR_INVALID_DATA = "ERR_INVALID_DATA"
ERR_429 = "ERR_429"


class InvalidData(ValueError):
    """The body, its filters or its paginator are not what the API takes."""


def failure(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": 0, "errorCode": code, "messages": message}
    if data is not None:
        body["data"] = data
    return body


def query_ints(query: str) -> dict[str, int | None]:
    """``appId`` and ``businessId`` of a query string (None when missing or not a number)."""
    values = parse_qs(query)
    found: dict[str, int | None] = {}
    for name in ("appId", "businessId"):
        raw = (values.get(name) or [""])[0]
        found[name] = int(raw) if raw.isdigit() else None
    return found


def list_page(business: Business, path: str, raw_body: bytes) -> dict[str, Any]:
    """One page of ``path``'s items for the request body ``raw_body`` (``InvalidData`` when the
    body is not one the API takes)."""
    request = _request(raw_body)
    ids, size, after = _filters(request), _size(request), _next(request)
    with business.lock:
        items: Iterable[tuple[int, Customer | Product]] = (
            business.customers.items() if path == CUSTOMER_LIST else business.products.items())
        matching = sorted((i, item) for i, item in items if ids is None or i in ids)
        page_size = min(size, business.faults.page_cap or size)
        rest = [(i, item) for i, item in matching if after is None or i > after]
        page = rest[:page_size]
        paginator: dict[str, Any] = {
            "next": {"id": page[-1][0]} if page and len(rest) > len(page) else None}
        if after is None:
            paginator["totalItems"] = len(matching)
        return {"code": 1, "paginator": paginator, "data": [item.as_api() for _, item in page]}


def _request(raw_body: bytes) -> dict[str, Any]:
    if not raw_body.strip():
        return {}
    try:
        request = json.loads(raw_body)
    except ValueError:
        raise InvalidData("the body is not JSON") from None
    if not isinstance(request, dict):
        raise InvalidData("the body must be a JSON object")
    return request


def _filters(request: dict[str, Any]) -> set[int] | None:
    filters = request.get("filters", {})
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise InvalidData("filters must be an object")
    if "ids" not in filters:
        return None
    ids = filters["ids"]
    if not isinstance(ids, list):
        raise InvalidData("filters.ids must be an array of ids")
    if len(ids) > MAX_IDS:
        raise InvalidData(f"filters.ids holds at most {MAX_IDS} ids")
    try:
        return {whole(i, "filters.ids[]") for i in ids}
    except ValueError as exc:
        raise InvalidData(str(exc)) from None


def _paginator(request: dict[str, Any]) -> dict[str, Any]:
    paginator = request.get("paginator", {})
    if paginator is None:
        return {}
    if not isinstance(paginator, dict):
        raise InvalidData("paginator must be an object")
    return paginator


def _size(request: dict[str, Any]) -> int:
    size = _paginator(request).get("size", DEFAULT_PAGE_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidData(f"paginator.size must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return size


def _next(request: dict[str, Any]) -> int | None:
    value = _paginator(request).get("next")
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"id"}:
        raise InvalidData("paginator.next must be the value the previous page answered")
    try:
        return whole(value["id"], "paginator.next.id")
    except ValueError as exc:
        raise InvalidData(str(exc)) from None
