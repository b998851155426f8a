"""``NhanhSandboxClient``: drives the sandbox's control API, for tests and operators.

Every method maps to one ``/_sandbox/`` endpoint (see ``nhanh_sandbox.server``) and returns its
decoded JSON; a non-2xx answer raises ``NhanhSandboxClientError`` with the body.
"""

from __future__ import annotations

from typing import Any

import requests


class NhanhSandboxClientError(RuntimeError):
    """The sandbox answered a control call with an error status."""


class NhanhSandboxClient:
    """Control-API client of one sandbox at ``base_url`` (e.g. ``http://127.0.0.1:8083``)."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 5.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._session = session or requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self.base_url}{path}", json=body,
                                         timeout=self._timeout)
        if response.status_code >= 300:
            raise NhanhSandboxClientError(f"{method} {path}: HTTP {response.status_code} "
                                          f"{response.text[:500]}")
        return response.json()

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/_sandbox/healthz").get("ok"))
        except (requests.RequestException, NhanhSandboxClientError):
            return False

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def seed_business(self, seed: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a business (``nhanh_sandbox.state`` describes a seed)."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/businesses", seed)
        return result

    def business(self, business_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/_sandbox/businesses/{business_id}")
        return result

    def requests(self, business_id: int) -> dict[str, Any]:
        """``{"admitted": {path: n}, "refused": {path: n}, "errors": {code: n}, "limit"}``."""
        result: dict[str, Any] = self._call("GET",
                                            f"/_sandbox/businesses/{business_id}/requests")
        return result

    def set_faults(self, business_id: int, **faults: int) -> dict[str, Any]:
        """Any of page_cap, fail_next, fail_status, latency_ms."""
        result: dict[str, Any] = self._call("POST", f"/_sandbox/businesses/{business_id}/faults",
                                            faults)
        return result

    def add_order(self, business_id: int, customer_id: int, amount: float,
                  **fields: Any) -> dict[str, Any]:
        """A new order (sends ``orderAdd``); ``fields``: orderId, status, depotId, products."""
        body = {"customerId": customer_id, "amount": amount, **fields}
        result: dict[str, Any] = self._call("POST", f"/_sandbox/businesses/{business_id}/orders",
                                            body)
        return result

    def update_order(self, business_id: int, order_id: int, status: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/_sandbox/businesses/{business_id}/orders/{order_id}/status",
            {"status": status})
        return result

    def delete_order(self, business_id: int, order_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/_sandbox/businesses/{business_id}/orders/{order_id}/delete")
        return result

    def set_inventory(self, business_id: int,
                      products: list[dict[str, Any]]) -> dict[str, Any]:
        """``products``: ``[{"id", "depots": [{"id", "remain"?, "available"?, ...}]}]``."""
        result: dict[str, Any] = self._call(
            "POST", f"/_sandbox/businesses/{business_id}/inventory", {"products": products})
        return result

    def enable_webhooks(self, business_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/_sandbox/businesses/{business_id}/webhooks/enable")
        return result

    def webhooks(self, business_id: int | None = None) -> list[dict[str, Any]]:
        query = "" if business_id is None else f"?businessId={business_id}"
        result: list[dict[str, Any]] = self._call("GET", f"/_sandbox/webhooks{query}")[
            "deliveries"]
        return result
