"""Theme deploys: a stored bundle uploaded into a Shopify theme, in batches, resumable.

Ingest checks a bundle (``hookyard.themes.bundles``), stores its bytes in Redis and submits the
job (``submit_deploy``): the bundle is written first, with a TTL, then the job with the
request's audit entry in one step, so a job never exists without its bundle or its entry. The
deploy worker runs ``deploy_theme``:

    validate      read and check the stored bundle again, merge the settings overrides
    create_theme  the target theme: the given id, or a new UNPUBLISHED theme with the given name
    upload        ``themeFilesUpsert`` in batches of at most 50 files, through the shop's shared
                  rate budget; progress and the cancel check after every batch
    prune         with ``delete_missing``: ``themeFilesDelete`` for the theme's files the bundle
                  does not have (never the files a theme cannot be without), 50 per call
    finalize      drop the bundle and checkpoint, return the result

Safe to run again after a crash: the checkpoint (``keys.deploy_checkpoint``) records the theme
id before any file is uploaded, and the md5 of every file Shopify confirmed, so a re-run reuses
the theme and uploads only what is missing or changed. ``themeFilesUpsert`` overwrites by
filename, so re-sending the batch that was in flight when the worker died duplicates nothing;
the prune lists the theme again on every run, and a file an earlier run already deleted counts
as deleted.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from hookyard.base import keys, metrics
from hookyard.base.errors import HookyardError, JobCancelled, JobError, PermanentJobError
from hookyard.base.queues import DEPLOY, DEPLOY_THEME, DEPLOY_THEME_PRIORITY
from hookyard.base.settings import Settings
from hookyard.base.shops import ShopConfig
from hookyard.base.strict_json import MAX_INT
from hookyard.jobs.audit import AuditLog
from hookyard.jobs.records import NewJob
from hookyard.jobs.runtime import Runtime
from hookyard.jobs.store import JobStore
from hookyard.shopify.access import client_for, shop_of
from hookyard.shopify.operations.calls import Executor
from hookyard.shopify.operations.themes import (
    MAX_THEME_FILES,
    create_theme,
    delete_theme_files,
    get_theme,
    list_theme_filenames,
    list_themes,
    upsert_theme_files,
)
from hookyard.storage import scripts
from hookyard.themes.bundle_limits import BundleLimits
from hookyard.themes.bundles import BundleFile, merge_settings, read_files

log = logging.getLogger(__name__)

"""Same queue, same step, a lower Dramatiq priority number: deploys to shops with a
``custom_domain`` run before the others a worker has fetched (see docs/deploys.md)."""
BATCH_MAX_BYTES = 4 * 1024 * 1024
"""Content per ``themeFilesUpsert`` call besides the 50-file cap: keeps one request far below
Shopify's request size limit (a bigger single file still goes alone)."""
THEME_PROCESSING_POLL_SECONDS = 1.0
THEME_NAME_MAX_LENGTH = 50
THEME_GID_PREFIX = "gid://shopify/OnlineStoreTheme/"
STAGES = ("validate", "create_theme", "upload", "prune", "finalize")
REQUIRED_THEME_FILES = frozenset({"layout/theme.liquid", "config/settings_data.json",
                                  "config/settings_schema.json"})
"""Files a theme cannot be without (Shopify refuses to delete them): never pruned."""
# Progress (percent) at which each stage starts; upload fills the span up to finalize.
_UPLOAD_FROM, _UPLOAD_TO = 10.0, 95.0


# --- ingest side: storing the bundle and creating the job ------------------------------------


def theme_gid(raw: str | int) -> str | None:
    """A theme id as a GID (``123`` or the GID itself), or None when it is neither. Shopify ids
    are positive integers within a signed 64-bit int: longer digit strings (which Shopify would
    refuse only once the job runs) and non-ASCII digits (``"²"`` is ``isdigit()``) are None."""
    text = str(raw).strip().removeprefix(THEME_GID_PREFIX)
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_INT)):
        return None
    number = int(text)
    return THEME_GID_PREFIX + str(number) if 0 < number <= MAX_INT else None


@dataclass(frozen=True)
class DeployRequest:
    """A checked deploy: the bundle as received plus where it goes."""

    shop: ShopConfig
    bundle_format: str
    bundle: bytes
    theme: Mapping[str, str]
    """``{"id": <theme GID>}`` or ``{"name": <new theme's name>}``."""
    settings: Mapping[str, Any]
    files: Sequence[BundleFile]
    delete_missing: bool = False
    """Delete the theme's files that the bundle does not have (see ``delete_missing_for``)."""


def delete_missing_for(theme: Mapping[str, str], requested: bool | None) -> bool:
    """``requested`` when the request said; else True for a theme the deploy creates (what is
    not in the bundle came from the source theme) and False for an existing theme (its other
    files are someone's work: the request must ask)."""
    return "id" not in theme if requested is None else requested


def submit_deploy(jobs: JobStore, request: DeployRequest, *, requested_by: str, audit: AuditLog,
                  request_id: str = "") -> str:
    """Store the bundle (TTL ``HOOKYARD_DEPLOY_BUNDLE_TTL_SECONDS``), then create the job and
    the request's audit entry (outcome ``requested``) in one step (``accept.lua``); returns the
    job id. A failure between the two leaves only a bundle, which expires (the caller got
    503): a deploy job never exists without its bundle, and the job and its entry exist
    together or not at all."""
    shop = request.shop
    first = bool(shop.custom_domain)
    job = NewJob(
        queue=DEPLOY,
        actor=(DEPLOY_THEME_PRIORITY if first else DEPLOY_THEME).name,
        payload={
            "bundle": {
                "format": request.bundle_format,
                "bytes": len(request.bundle),
                "sha256": hashlib.sha256(request.bundle).hexdigest(),
                "files": len(request.files),
                "unpacked_bytes": sum(len(f.content) for f in request.files),
            },
            "theme": dict(request.theme),
            "settings": dict(request.settings),
            "delete_missing": request.delete_missing,
        },
        shop=shop.id,
        entity=f"theme:{request.theme.get('id') or request.theme.get('name')}",
        source_event={"kind": "deploy", "requested_by": requested_by,
                      "received_at": datetime.now(UTC).isoformat(timespec="milliseconds")},
        priority=1 if first else 0,
    )
    jobs.state.set(keys.deploy_bundle(job.job_id), request.bundle,
                   ex=jobs.settings.deploy_bundle_ttl_seconds)
    jobs.submit([job], audit=audit.script_args(who=requested_by, action="deploy",
                                               request_id=request_id))
    if first:
        move_to_front(jobs, job.job_id)
    metrics.jobs_enqueued_total.labels(DEPLOY).inc()
    return job.job_id


def move_to_front(jobs: JobStore, job_id: str) -> bool:
    """Move a waiting job's message to the head of its Redis list (``lua/prioritize.lua``), so
    it is fetched before deploys already waiting; False when a worker already has it."""
    record = jobs.get(job_id)
    if record is None:
        return False
    moved = scripts.register(jobs.broker, "prioritize")(
        keys=[keys.broker_queue(str(record["queue"]))], args=[str(record.get("rmid") or "")])
    return bool(int(moved))


# --- worker side -------------------------------------------------------------------------------


class DeployCheckpoint:
    """What a deploy has done so far, kept in Redis so a re-run after a crash resumes."""

    def __init__(self, state: redis.Redis, job_id: str, ttl_seconds: int) -> None:
        self.state = state
        self.key = keys.deploy_checkpoint(job_id)
        self.ttl_seconds = ttl_seconds

    def _set(self, mapping: Mapping[str, str]) -> None:
        pipe = self.state.pipeline(transaction=True)
        pipe.hset(self.key, mapping=dict(mapping))
        pipe.expire(self.key, self.ttl_seconds)
        pipe.execute()

    def theme(self) -> tuple[str | None, bool]:
        theme_id, created = self.state.hmget(self.key, ["theme_id", "theme_created"])
        return (theme_id.decode() if theme_id else None), created == b"1"

    def create_started(self) -> bool:
        return bool(self.state.hexists(self.key, "theme_create_started"))

    def mark_create_started(self) -> None:
        self._set({"theme_create_started": "1"})

    def record_theme(self, theme_id: str, *, created: bool) -> None:
        self._set({"theme_id": theme_id, "theme_created": "1" if created else "0"})

    def uploaded(self) -> dict[str, str]:
        """filename -> md5 of the content Shopify confirmed."""
        return {k.decode().removeprefix("file:"): v.decode()
                for k, v in self.state.hgetall(self.key).items()
                if k.startswith(b"file:")}

    def record_uploaded(self, files: Sequence[BundleFile]) -> None:
        if files:
            self._set({f"file:{f.filename}": f.md5 for f in files})

    def clear(self) -> None:
        self.state.delete(self.key)


def plan_batches(files: Sequence[BundleFile], *, max_files: int = MAX_THEME_FILES,
                 max_bytes: int = BATCH_MAX_BYTES) -> list[list[BundleFile]]:
    """Consecutive batches of at most ``max_files`` files and ``max_bytes`` of upload."""
    batches: list[list[BundleFile]] = []
    current: list[BundleFile] = []
    size = 0
    for f in files:
        if current and (len(current) == max_files or size + f.upload_size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += f.upload_size
    if current:
        batches.append(current)
    return batches


class _Progress:
    def __init__(self, jobs: JobStore, job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id

    def report(self, percent: float, message: str, stage: str) -> bool:
        """Record progress; True when an operator asked to cancel."""
        return self.jobs.report_progress(self.job_id, percent=percent, message=message,
                                         stage=stage)

    def checkpoint(self, percent: float, message: str, stage: str) -> None:
        """Record progress and stop here if a cancel was requested."""
        if self.report(percent, message, stage):
            raise JobCancelled(f"Deploy cancelled by an operator during {stage} ({message}).")


def _numeric_id(gid: str) -> int:
    tail = gid.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _wait_until_processed(client: Executor, theme_id: str) -> None:
    """themeCreate downloads its source zip in the background; files can be written after."""
    while True:
        theme = get_theme(client, theme_id, first=1)
        if theme is None:
            raise PermanentJobError(f"Theme {theme_id} vanished while Shopify processed it.")
        if not theme.get("processing"):
            return
        time.sleep(THEME_PROCESSING_POLL_SECONDS)


def resolve_theme(client: Executor, target: Mapping[str, str], checkpoint: DeployCheckpoint,
                  *, source_url: str | None) -> tuple[str, bool]:
    """The theme to upload into and whether this deploy created it, recorded before any upload.

    A theme named by id must exist. A new theme is created once: a re-run finds the recorded
    id, and if a previous attempt died between ``themeCreate`` and recording its answer, the
    newest unpublished theme with the requested name is taken instead of creating another.
    """
    recorded, created = checkpoint.theme()
    if recorded:
        return recorded, created
    if target.get("id"):
        theme_id = str(target["id"])
        if get_theme(client, theme_id, first=1) is None:
            raise PermanentJobError(f"Theme {theme_id} does not exist in the shop; deploy to an "
                                    "existing theme id, or give a name to create one.")
        checkpoint.record_theme(theme_id, created=False)
        return theme_id, False
    name = str(target["name"])
    if checkpoint.create_started():
        same_name = [t for t in list_themes(client, roles=["UNPUBLISHED"], first=250)
                     if t.get("name") == name]
        if same_name:
            theme_id = str(max(same_name, key=lambda t: _numeric_id(str(t["id"])))["id"])
            log.info("reusing theme %s created by an earlier attempt", theme_id)
            checkpoint.record_theme(theme_id, created=True)
            _wait_until_processed(client, theme_id)
            return theme_id, True
    if not source_url:
        raise PermanentJobError("HOOKYARD_DEPLOY_THEME_SOURCE_URL is empty, so no theme can be "
                                "created; set it, or deploy to an existing theme id.")
    checkpoint.mark_create_started()
    theme = create_theme(client, source_url=source_url, name=name, role="UNPUBLISHED")
    theme_id = str(theme["id"])
    checkpoint.record_theme(theme_id, created=True)
    if theme.get("processing"):
        _wait_until_processed(client, theme_id)
    return theme_id, True


def prune_theme(client: Executor, theme_id: str, files: Sequence[BundleFile],
                progress: _Progress) -> int:
    """Delete the theme's files that ``files`` does not name, except the required ones; returns
    how many are gone. The cancel check runs between calls."""
    progress.checkpoint(_UPLOAD_TO, "listing the theme's files", "prune")
    present = list_theme_filenames(client, theme_id)
    if present is None:
        raise PermanentJobError(f"Theme {theme_id} vanished during the deploy.")
    keep = {f.filename for f in files} | REQUIRED_THEME_FILES
    stale = sorted(name for name in present if name not in keep)
    deleted = 0
    for first in range(0, len(stale), MAX_THEME_FILES):
        progress.checkpoint(_UPLOAD_TO + 1, f"deleting {len(stale) - first} files the bundle "
                            "does not have", "prune")
        deleted += len(delete_theme_files(client, theme_id,
                                          stale[first:first + MAX_THEME_FILES]))
    return deleted


def preview_url(shop: ShopConfig, theme_id: str) -> str:
    return f"https://{shop.shopify_domain}/?preview_theme_id={_numeric_id(theme_id)}"


def load_files(runtime: Runtime, record: Mapping[str, Any]) -> list[BundleFile]:
    payload = record["payload"]
    data = runtime.state.get(keys.deploy_bundle(str(record["id"])))
    if data is None:
        raise PermanentJobError(
            f"The bundle of deploy {record['id']} is gone (kept "
            f"{runtime.settings.deploy_bundle_ttl_seconds} s, HOOKYARD_DEPLOY_BUNDLE_TTL_SECONDS);"
            " submit the deploy again.")
    files = read_files(str(payload["bundle"]["format"]), data,
                       BundleLimits.from_settings(runtime.settings))
    return merge_settings(files, payload.get("settings") or {})


def deploy_theme(runtime: Runtime, record: dict[str, Any]) -> dict[str, Any]:
    """The deploy job's domain step (see the module docstring); returns the job's result."""
    started = time.monotonic()
    job_id = str(record["id"])
    shop = shop_of(runtime, record)
    settings: Settings = runtime.settings
    progress = _Progress(runtime.jobs, job_id)
    progress.checkpoint(1, "reading the bundle", "validate")
    try:
        files = load_files(runtime, record)
    except JobError:
        raise
    except HookyardError as exc:  # ingest accepted it; a newer, stricter check refuses it
        raise PermanentJobError(f"The stored bundle no longer passes checks: {exc.message}",
                                details={"code": exc.code}) from exc
    checkpoint = DeployCheckpoint(runtime.state, job_id, settings.deploy_bundle_ttl_seconds)
    client = client_for(runtime, shop)
    progress.checkpoint(5, "preparing the theme", "create_theme")
    theme_id, created = resolve_theme(client, record["payload"]["theme"], checkpoint,
                                      source_url=settings.deploy_theme_source_url)

    done = checkpoint.uploaded()
    pending = [f for f in files if done.get(f.filename) != f.md5]
    skipped = len(files) - len(pending)
    batches = plan_batches(pending)
    total = len(files)
    progress.checkpoint(_UPLOAD_FROM, f"uploading {len(pending)} of {total} files in "
                        f"{len(batches)} batches", "upload")
    sent = 0
    for batch in batches:
        sent += len(batch)
        upserted = upsert_theme_files(client, theme_id, [f.as_theme_file() for f in batch])
        confirmed = {str(u.get("filename")) for u in upserted}
        checkpoint.record_uploaded([f for f in batch if f.filename in confirmed])
        finished = skipped + sent
        percent = _UPLOAD_FROM + (_UPLOAD_TO - _UPLOAD_FROM) * finished / max(total, 1)
        message = f"uploaded {finished}/{total} files"
        if sent < len(pending):
            progress.checkpoint(percent, message, "upload")
        else:
            progress.report(percent, message, "upload")  # the prune checks for itself

    deleted = 0
    if record["payload"].get("delete_missing"):
        deleted = prune_theme(client, theme_id, files, progress)
    progress.report(_UPLOAD_TO + 2, "finishing", "finalize")
    runtime.state.delete(keys.deploy_bundle(job_id))
    checkpoint.clear()
    return {
        "theme_id": theme_id,
        "theme_created": created,
        "files": total,
        "bytes": sum(len(f.content) for f in files),
        "uploaded": len(pending),
        "skipped_already_uploaded": skipped,
        "batches": len(batches),
        "deleted": deleted,
        "duration_seconds": round(time.monotonic() - started, 3),
        "preview_url": preview_url(shop, theme_id),
    }
