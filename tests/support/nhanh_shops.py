"""Hookyard shops wired to the Nhanh sandbox's test business (tests.support.nhanh_sandbox_api)."""

from __future__ import annotations

from hookyard.base.shops import ShopConfig
from tests.support.nhanh_sandbox_api import APP_ID, BUSINESS_ID, TOKEN


def nhanh_shop(*, app_id: int = APP_ID, business_id: int = BUSINESS_ID,
               token: str | None = TOKEN, shop_id: str = "acme") -> ShopConfig:
    """A shop whose Nhanh credentials are ``app_id`` and ``token`` (none when ``token`` is
    None)."""
    return ShopConfig(id=shop_id, nhanh_business_id=str(business_id),
                      shopify_domain=f"{shop_id}.myshopify.com", access_token="shpat_x",
                      nhanh_app_id=str(app_id) if token else None, nhanh_access_token=token)
