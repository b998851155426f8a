"""``SandboxClient``: a small helper for tests and operators to drive the sandbox's control API.

Every method maps to one ``/_sandbox/`` endpoint (see ``hookyard_sandbox.server``) and returns
its decoded JSON; a non-2xx answer raises ``SandboxClientError`` with the body.
"""

from __future__ import annotations

from typing import Any

import requests


class SandboxClientError(RuntimeError):
    """The sandbox answered a control call with an error status."""


class SandboxClient:
    """Control-API client of one sandbox at ``base_url`` (e.g. ``http://127.0.0.1:8082``)."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 5.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._session = session or requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self.base_url}{path}", json=body,
                                         timeout=self._timeout)
        if response.status_code >= 300:
            raise SandboxClientError(f"{method} {path}: HTTP {response.status_code} "
                                     f"{response.text[:500]}")
        return response.json()

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/_sandbox/healthz").get("ok"))
        except (requests.RequestException, SandboxClientError):
            return False

    def create_shop(self, seed: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a shop; returns the ids assigned (locations, skus, customers...)."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/shops", seed)
        return result

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def delete_shop(self, shop: str) -> None:
        self._call("DELETE", f"/_sandbox/shops/{shop}")

    def shop(self, shop: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/_sandbox/shops/{shop}")["result"]
        return result

    def stats(self, shop: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/_sandbox/shops/{shop}/stats")["result"]
        return result

    def reset_stats(self, shop: str) -> None:
        self._call("POST", f"/_sandbox/shops/{shop}/stats/reset")

    def inventory(self, shop: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "GET", f"/_sandbox/shops/{shop}/inventory")["result"]
        return result

    def customers(self, shop: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "GET", f"/_sandbox/shops/{shop}/customers")["result"]
        return result

    def themes(self, shop: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/_sandbox/shops/{shop}/themes")["result"]
        return result

    def mutations(self, shop: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "GET", f"/_sandbox/shops/{shop}/mutations")["result"]
        return result

    def bulk_operations(self, shop: str) -> list[dict[str, Any]]:
        """Every bulk query of the shop: id, status, errorCode, objectCount, rows, query."""
        result: list[dict[str, Any]] = self._call(
            "GET", f"/_sandbox/shops/{shop}/bulk-operations")["result"]
        return result

    def set_faults(self, shop: str, **faults: Any) -> dict[str, Any]:
        """Any of latency_ms, outage, fail_next, fail_status, throttle_next,
        retry_after_seconds, enforce_throttle, and for bulk queries bulk_rows_per_second,
        bulk_start_seconds, bulk_max_running, bulk_fail_next, bulk_error_code, bulk_cancel_next,
        bulk_download_fail_next."""
        result: dict[str, Any] = self._call("POST", f"/_sandbox/shops/{shop}/faults", faults)
        return result

    def set_bucket(self, shop: str, available: float) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/_sandbox/shops/{shop}/bucket",
                                            {"available": available})
        return result
