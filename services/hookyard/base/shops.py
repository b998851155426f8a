"""The shops Hookyard serves (``HOOKYARD_SHOPS``): each Shopify shop and the Nhanh.vn business
that feeds it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hookyard.base.setting_parsers import identifier

PLANS = ("standard", "advanced", "plus", "enterprise")
MAX_WEIGHT = 10


@dataclass(frozen=True)
class ShopConfig:
    """One Shopify shop and the Nhanh.vn business that feeds it."""

    id: str
    nhanh_business_id: str
    shopify_domain: str
    access_token: str = field(repr=False)
    plan: str = "standard"
    depots: Mapping[str, str] = field(default_factory=dict)
    """Nhanh depot id -> Shopify location GID."""
    custom_domain: str | None = None
    inventory_items: Mapping[str, str] = field(default_factory=dict)
    """Explicit Nhanh product id or code -> Shopify inventory item GID (wins over SKU lookup)."""
    weight: int = 1
    """Turns in a row the shop takes in its sync queues (``hookyard.jobs.turns``): 1 for every
    shop alike, more for a shop that goes first."""
    nhanh_app_id: str | None = None
    """The Nhanh.vn app whose access token this is (Open API v3 ``appId``); None: no API."""
    nhanh_access_token: str | None = field(default=None, repr=False)
    """The app's access token for this business (sent as ``Authorization``); never printed."""

    @property
    def has_nhanh_api(self) -> bool:
        """Whether Hookyard may call Nhanh's Open API for this shop."""
        return bool(self.nhanh_app_id and self.nhanh_access_token)


def _load_shops_document(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return []
    if text[0] in "[{":
        return json.loads(text)
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"file {text!r} does not exist")
    content = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            return yaml.safe_load(content)
        except yaml.YAMLError as exc:
            raise ValueError(f"{text} is not valid YAML: {exc}") from None
    return json.loads(content)


def parse_shops(raw: str, environ: Mapping[str, str] | None = None) -> tuple[ShopConfig, ...]:
    """Parse ``HOOKYARD_SHOPS``: inline JSON, or a path to a JSON or YAML file.

    The document is a list (or ``{"shops": [...]}``) of objects with ``id``,
    ``nhanh_business_id``, ``shopify_domain``, ``access_token`` or ``access_token_env``, ``plan``,
    ``depots`` ({Nhanh depot id: Shopify location GID}), optional ``custom_domain`` and
    ``inventory_items``, and for Nhanh's Open API optional ``nhanh_app_id`` with
    ``nhanh_access_token`` or ``nhanh_access_token_env`` (both or neither).
    """
    environ = os.environ if environ is None else environ
    document = _load_shops_document(raw)
    if isinstance(document, dict):
        document = document.get("shops", [])
    if not isinstance(document, list):
        raise ValueError("must be a list of shops")
    shops: list[ShopConfig] = []
    for index, entry in enumerate(document):
        if not isinstance(entry, dict):
            raise ValueError(f"shop #{index} must be an object")
        missing = [k for k in ("id", "nhanh_business_id", "shopify_domain") if not entry.get(k)]
        if missing:
            raise ValueError(f"shop #{index} is missing {', '.join(missing)}")
        token = entry.get("access_token")
        if not token and entry.get("access_token_env"):
            token = environ.get(str(entry["access_token_env"]))
            if not token:
                raise ValueError(
                    f"shop {entry['id']!r}: environment variable "
                    f"{entry['access_token_env']!r} named by access_token_env is empty"
                )
        if not token:
            raise ValueError(f"shop {entry['id']!r} needs access_token or access_token_env")
        plan = str(entry.get("plan", "standard")).lower()
        if plan not in PLANS:
            raise ValueError(f"shop {entry['id']!r}: plan must be one of {', '.join(PLANS)}")
        depots = entry.get("depots") or {}
        if not isinstance(depots, dict):
            raise ValueError(f"shop {entry['id']!r}: depots must map depot id to location GID")
        inventory_items = entry.get("inventory_items") or {}
        if not isinstance(inventory_items, dict):
            raise ValueError(f"shop {entry['id']!r}: inventory_items must map a Nhanh product "
                             "id or code to an inventory item GID")
        weight = entry.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not \
                1 <= weight <= MAX_WEIGHT:
            raise ValueError(f"shop {entry['id']!r}: weight must be a whole number from 1 to "
                             f"{MAX_WEIGHT} (turns in a row in the sync queues)")
        nhanh_app_id, nhanh_token = _nhanh_credentials(entry, environ)
        shops.append(
            ShopConfig(
                id=identifier(str(entry["id"])),
                nhanh_business_id=str(entry["nhanh_business_id"]),
                shopify_domain=str(entry["shopify_domain"]),
                access_token=str(token),
                plan=plan,
                depots={str(k): str(v) for k, v in depots.items()},
                custom_domain=entry.get("custom_domain"),
                inventory_items={str(k): str(v) for k, v in inventory_items.items()},
                nhanh_app_id=nhanh_app_id,
                nhanh_access_token=nhanh_token,
                weight=weight,
            )
        )
    ids = [s.id for s in shops]
    businesses = [s.nhanh_business_id for s in shops]
    if len(set(ids)) != len(ids) or len(set(businesses)) != len(businesses):
        raise ValueError("shop ids and nhanh_business_ids must be unique")
    return tuple(shops)


def _whole_number(value: Any) -> str | None:
    """``value`` as the text of a positive whole number (JSON/YAML int or digits), else None."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    return text if text.isdigit() and int(text) > 0 else None


def _nhanh_credentials(entry: dict[str, Any],
                       environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """A shop's Nhanh Open API app id and access token: both, or neither (no API calls)."""
    shop = entry["id"]
    raw_app_id = entry.get("nhanh_app_id")
    token = entry.get("nhanh_access_token")
    token_env = entry.get("nhanh_access_token_env")
    if token and token_env:
        raise ValueError(f"shop {shop!r}: give nhanh_access_token or nhanh_access_token_env, "
                         "not both")
    if token_env:
        token = environ.get(str(token_env))
        if not token:
            raise ValueError(f"shop {shop!r}: environment variable {str(token_env)!r} named by "
                             "nhanh_access_token_env is empty")
    if token is not None and not isinstance(token, str):
        raise ValueError(f"shop {shop!r}: nhanh_access_token must be a string")
    if raw_app_id in (None, "") and not token:
        return None, None
    if raw_app_id in (None, ""):
        raise ValueError(f"shop {shop!r} has a Nhanh access token but no nhanh_app_id (the "
                         "appId of the Nhanh app the token belongs to)")
    app_id = _whole_number(raw_app_id)
    if app_id is None:
        raise ValueError(f"shop {shop!r}: nhanh_app_id must be a whole number (Nhanh's appId), "
                         "e.g. 12345")
    if not token:
        raise ValueError(f"shop {shop!r} has nhanh_app_id but no nhanh_access_token or "
                         "nhanh_access_token_env")
    if _whole_number(entry["nhanh_business_id"]) is None:
        raise ValueError(f"shop {shop!r}: nhanh_business_id must be a whole number (Nhanh's "
                         "businessId) for Hookyard to call Nhanh's API")
    return app_id, token
