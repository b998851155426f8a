"""``POST /deploys``: check a theme bundle, store it, and answer 202 with the deploy job.

Two request shapes (docs/deploys.md):

- an archive as the raw body (``application/zip``, or ``application/gzip`` /
  ``application/x-tar+gzip`` for a .tar.gz) with ``?shop=<id>&theme_id=<id>`` or
  ``&theme_name=<name>``, and optionally ``&settings=<JSON object>`` and
  ``&delete_missing=true|false``;
- ``application/json``: ``{"shop", "theme": {"id"} | {"name"}, "files": {path: text |
  {"base64"}}, "settings"?, "delete_missing"?}``.

Checks, in order: token; the shop the request names (query, or the JSON body), the token's
scope and the shop's existence; the shop's deploy rate limit, which every attempt from here on
counts, refused or not (so a token cannot make ingest read hostile bundles at will); then content
type, target, size, archive, paths, layout, settings merge. A refused request creates no job and
stores no bundle. Every attempt by a valid token is audited, refused ones included, with the
shop it named (``hookyard.jobs.audit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from hookyard.base import keys
from hookyard.base.api_tokens import ApiToken
from hookyard.base.errors import (
    Forbidden,
    HookyardError,
    InvalidJson,
    RateLimited,
    UnknownShop,
    ValidationFailed,
    quoted,
)
from hookyard.base.settings import Settings
from hookyard.base.shops import ShopConfig
from hookyard.base.strict_json import parse_json_body
from hookyard.jobs.store import JobStore
from hookyard.storage.rate_limits import SlidingWindowLimit
from hookyard.themes.bundle_limits import BundleLimits
from hookyard.themes.bundles import (
    bundle_format,
    bundle_format_of,
    merge_settings,
    read_files,
)
from hookyard.themes.deploys import (
    THEME_NAME_MAX_LENGTH,
    DeployRequest,
    delete_missing_for,
    submit_deploy,
    theme_gid,
)
from ingest.auth import bearer_token
from ingest.body import read_body
from ingest.status_api import audit_log

RATE_WINDOW_SECONDS = 60
QUERY_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@dataclass
class _Attempt:
    """What is known of a deploy attempt so far, for the audit entry of a refusal."""

    shop: str = ""
    """The shop the request named (query or JSON body), as soon as it is known."""


@dataclass(frozen=True)
class DeployTarget:
    shop: str
    theme: dict[str, str]
    settings: dict[str, Any]
    delete_missing: bool


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        self.items.append({"field": field, "problem": problem})

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(
                "The deploy request is incomplete or malformed; see 'fields', fix it and send it "
                "again (docs/deploys.md).", details={"fields": self.items})


def _theme(theme_id: Any, theme_name: Any, problems: _Problems, field: str) -> dict[str, str]:
    if (theme_id is None) == (theme_name is None):
        problems.add(field, "give exactly one of a theme id (deploy into it) or a name (create "
                            "an unpublished theme)")
        return {}
    if theme_id is not None:
        gid = theme_gid(theme_id) if isinstance(theme_id, str | int) and not isinstance(
            theme_id, bool) else None
        if gid is None:
            problems.add(f"{field}.id", "must be a theme id: a positive integer within 64 bits "
                                        "(digits, or gid://shopify/OnlineStoreTheme/<digits>)")
            return {}
        return {"id": gid}
    if not isinstance(theme_name, str) or not theme_name.strip() or not theme_name.isprintable() \
            or len(theme_name) > THEME_NAME_MAX_LENGTH:
        problems.add(f"{field}.name", f"must be printable text of 1 to {THEME_NAME_MAX_LENGTH} "
                                      "characters")
        return {}
    return {"name": theme_name.strip()}


def target_from_json(document: Any) -> DeployTarget:
    problems = _Problems()
    if not isinstance(document, dict):
        problems.add("$", "must be a JSON object")
        problems.raise_if_any()
    shop = document.get("shop")
    if not isinstance(shop, str) or not shop:
        problems.add("shop", "required: the id of a shop in HOOKYARD_SHOPS")
    theme_field = document.get("theme")
    theme: dict[str, str] = {}
    if not isinstance(theme_field, dict):
        problems.add("theme", 'required: {"id": ...} or {"name": ...}')
    else:
        theme = _theme(theme_field.get("id"), theme_field.get("name"), problems, "theme")
    settings = document.get("settings", {})
    if not isinstance(settings, dict):
        problems.add("settings", "must be an object (merged into config/settings_data.json)")
    delete_missing = document.get("delete_missing")
    if delete_missing is not None and not isinstance(delete_missing, bool):
        problems.add("delete_missing", "must be true or false")
    if "files" not in document:
        problems.add("files", "required: an object mapping theme paths to contents")
    problems.raise_if_any()
    return DeployTarget(shop=str(shop), theme=theme, settings=settings,
                        delete_missing=delete_missing_for(theme, delete_missing))


def target_from_query(req: falcon.Request) -> DeployTarget:
    problems = _Problems()
    shop = req.get_param("shop")
    if not shop:
        problems.add("shop", "required query parameter: the id of a shop in HOOKYARD_SHOPS")
    theme = _theme(req.get_param("theme_id"), req.get_param("theme_name"), problems, "theme")
    settings: Any = {}
    raw_settings = req.get_param("settings")
    if raw_settings:
        try:
            settings = parse_json_body(raw_settings.encode("utf-8"))
        except InvalidJson:
            settings = None
        if not isinstance(settings, dict):
            problems.add("settings", "must be a JSON object (URL-encoded)")
    raw_delete = req.get_param("delete_missing")
    delete_missing = QUERY_BOOLEANS.get(raw_delete.lower()) if raw_delete else None
    if raw_delete and delete_missing is None:
        problems.add("delete_missing", "must be true or false")
    problems.raise_if_any()
    return DeployTarget(shop=str(shop), theme=theme, settings=settings,
                        delete_missing=delete_missing_for(theme, delete_missing))



class DeploysResource:
    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        self.settings = settings
        self.jobs = jobs
        self.limits = BundleLimits.from_settings(settings)
        self.rate = SlidingWindowLimit(jobs.state, limit=settings.deploy_rate_limit_per_minute,
                                       window_seconds=RATE_WINDOW_SECONDS)
        self.audit = audit_log(settings, jobs)

    def _shop(self, token: ApiToken, shop_id: str) -> ShopConfig:
        if token.shop is not None and token.shop != shop_id:
            raise Forbidden(f"Token {token.name!r} is scoped to {token.scope}; it can only deploy "
                            f"to shop {token.shop!r}.")
        shop = self.settings.shop_by_id(shop_id)
        if shop is None:
            raise UnknownShop(f"Shop {quoted(shop_id)} is not a shop Hookyard serves; use an id "
                              "from HOOKYARD_SHOPS.")
        return shop

    def _admit(self, shop: ShopConfig) -> None:
        """Count this attempt against the shop's deploy rate limit, or refuse it (429). Only
        attempts for a shop the token may act for get here, so no token can use up another
        shop's budget, and no unknown name gets a counter in Redis."""
        admission = self.rate.admit(keys.deploy_rate(shop.id))
        if not admission.admitted:
            raise RateLimited(
                f"Shop {shop.id!r} already has {self.settings.deploy_rate_limit_per_minute} "
                "deploy attempts (accepted or refused) in the last minute "
                f"(HOOKYARD_DEPLOY_RATE_LIMIT_PER_MINUTE); retry after "
                f"{admission.retry_after_seconds} s.",
                retry_after_seconds=admission.retry_after_seconds)

    def _read(self, req: falcon.Request) -> bytes:
        return read_body(req, self.settings.deploy_max_bundle_bytes,
                         setting="HOOKYARD_DEPLOY_MAX_BUNDLE_BYTES",
                         advice="deploy fewer or smaller files")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every attempt by a valid token is audited: refused ones (``refused`` with the error
        code and the requested shop) here, accepted ones (``requested``) with the bundle."""
        token = bearer_token(req, self.settings.api_tokens)
        request_id = getattr(req.context, "request_id", "")
        attempt = _Attempt()
        try:
            request = self._check(req, token, attempt)
        except HookyardError as exc:
            self.audit.record_refusal(who=token.name, action="deploy", error=exc,
                                      shop=attempt.shop, request_id=request_id)
            raise
        job_id = submit_deploy(self.jobs, request, requested_by=token.name, audit=self.audit,
                               request_id=request_id)
        resp.status = falcon.HTTP_202
        resp.set_header("Location", f"/jobs/{job_id}")
        resp.media = {"job_id": job_id, "state": "queued", "location": f"/jobs/{job_id}",
                      "shop": request.shop.id, "theme": dict(request.theme),
                      "delete_missing": request.delete_missing,
                      "files": len(request.files),
                      "bytes": sum(len(f.content) for f in request.files)}

    def _check(self, req: falcon.Request, token: ApiToken, attempt: _Attempt) -> DeployRequest:
        """Every check, in the documented order; the request to submit, or the first refusal."""
        is_json = bundle_format_of(req.content_type) == "json"
        body = b""
        document: Any = None
        if is_json:  # the shop is in the body
            body = self._read(req)
            document = parse_json_body(body)
            named = document.get("shop") if isinstance(document, dict) else None
            attempt.shop = named if isinstance(named, str) else ""
        else:  # the shop is in the query: everything up to the rate limit before reading the body
            attempt.shop = req.get_param("shop") or ""
        if attempt.shop:
            self._admit(self._shop(token, attempt.shop))
        fmt = bundle_format(req.content_type)
        target = target_from_json(document) if is_json else target_from_query(req)
        shop = self._shop(token, target.shop)  # known and admitted above: a target names one
        if not is_json:
            body = self._read(req)
        files = merge_settings(read_files(fmt, body, self.limits), target.settings)
        return DeployRequest(shop=shop, bundle_format=fmt, bundle=body, theme=target.theme,
                             settings=target.settings, files=files,
                             delete_missing=target.delete_missing)
