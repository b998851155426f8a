"""The Nhanh API client of a shop, on the budget every replica shares (one per job run)."""

from __future__ import annotations

from hookyard.base.shops import ShopConfig
from hookyard.jobs.runtime import Runtime
from hookyard.nhanh.client import NhanhClient


def client_for(runtime: Runtime, shop: ShopConfig) -> NhanhClient:
    """A client of ``shop``'s Nhanh business configured by ``HOOKYARD_NHANH_API_*``, paced in
    the runtime's state DB; ``NhanhNotConfigured`` when the shop has no Nhanh credentials."""
    return NhanhClient.from_settings(runtime.settings, shop, runtime.state)


def resolve_client(source: Runtime | NhanhClient, shop: ShopConfig) -> NhanhClient:
    """``source`` itself when it is a client (of ``shop``), else a new client of ``shop``."""
    if isinstance(source, NhanhClient):
        if source.shop.id != shop.id:
            raise ValueError(f"the client is shop {source.shop.id!r}'s, not {shop.id!r}'s")
        return source
    return client_for(source, shop)
