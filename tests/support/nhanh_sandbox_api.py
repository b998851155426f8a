"""Raw Open API v3 calls to the Nhanh sandbox, and business seeds, for tests that speak HTTP to
it exactly as a Nhanh client would (without Hookyard's client in between)."""

from __future__ import annotations

from typing import Any

import requests

APP_ID = 7001
BUSINESS_ID = 1001
TOKEN = "nhanh-access-token-1001"


def business_seed(customers: int = 3, products: int = 2, **extra: Any) -> dict[str, Any]:
    """A business of app ``APP_ID`` with customers 1..n and products 101.. at depots 1 and 2."""
    return {
        "appId": APP_ID, "businessId": BUSINESS_ID, "accessToken": TOKEN,
        "customers": [{"id": i, "name": f"Khách {i}", "mobile": f"09000000{i:02d}",
                       "totalAmount": 1000 * i} for i in range(1, customers + 1)],
        "products": [{"id": 100 + i, "code": f"SKU-{i}", "name": f"Áo {i}",
                      "depots": [{"id": 1, "remain": 5, "available": 4},
                                 {"id": 2, "remain": 1}]}
                     for i in range(1, products + 1)],
        **extra,
    }


class NhanhApi:
    """POSTs Open API v3 requests to one sandbox and returns the decoded answers."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def post(self, path: str, body: Any = None, *, app_id: Any = APP_ID,
             business_id: Any = BUSINESS_ID, token: str | None = TOKEN,
             raw: bytes | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = token
        params = {k: v for k, v in (("appId", app_id), ("businessId", business_id))
                  if v is not None}
        response = self.session.post(f"{self.base_url}{path}", params=params, headers=headers,
                                     json=None if raw is not None else (body or {}),
                                     data=raw, timeout=10)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def customers(self, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.post("/v3.0/customer/list", body, **kwargs)

    def products(self, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.post("/v3.0/product/list", body, **kwargs)
