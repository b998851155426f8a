"""The ingest WSGI app: ``create_app(settings, jobs=..., deploy_jobs=...)``, and ``get_app()`` for
gunicorn.

Routes are declared here and nowhere else. Resources keep no per-request state.
"""

from __future__ import annotations

import falcon
import orjson

from hookyard.base import metrics
from hookyard.base.errors import SettingsError
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard.nhanh.webhooks.envelope import CUSTOMER_EVENTS, INVENTORY_EVENT, SOURCE
from hookyard.storage.connections import broker_client, state_client
from ingest.deploys import DeploysResource
from ingest.errors import install_error_handling
from ingest.middleware import InventedMethods, RequestObservation
from ingest.openapi import OpenApiResource
from ingest.probes import HealthResource, MetricsResource, ReadyResource
from ingest.status_api import (
    AuditResource,
    DeadJobsResource,
    JobCancelResource,
    JobResource,
    JobRetryResource,
    JobsResource,
    QueuesResource,
    ShopsResource,
)
from ingest.webhooks import NhanhWebhookResource


def _job_store(settings: Settings, timeout: float) -> JobStore:
    return JobStore(settings, state=state_client(settings, socket_timeout=timeout),
                    broker=broker_client(settings, socket_timeout=timeout))


def ingest_job_store(settings: Settings) -> JobStore:
    """Job store whose Redis calls give up after ``HOOKYARD_INGEST_REDIS_TIMEOUT_SECONDS``, so a
    slow Redis answers 503 quickly instead of holding the sender."""
    return _job_store(settings, settings.ingest_redis_timeout_seconds)


def deploy_job_store(settings: Settings) -> JobStore:
    """Job store of ``POST /deploys``, with ``HOOKYARD_DEPLOY_REDIS_TIMEOUT_SECONDS``: writing a
    bundle of many MiB legitimately takes longer than ingest's webhook timeout allows. A slower
    Redis still answers 503, never a 2xx without a confirmed write."""
    return _job_store(settings, settings.deploy_redis_timeout_seconds)


def create_app(settings: Settings, *, jobs: JobStore,
               deploy_jobs: JobStore | None = None) -> falcon.App:
    """The app; ``jobs`` serves webhooks and the status API, ``deploy_jobs`` (default
    ``deploy_job_store(settings)``) ``POST /deploys``."""
    if not settings.nhanh_tokens:
        raise SettingsError("HOOKYARD_NHANH_TOKENS must list at least one verify token for "
                            "ingest. Example: HOOKYARD_NHANH_TOKENS=tok-2026-a")
    app = falcon.App(middleware=(RequestObservation(), InventedMethods()))
    app.req_options.auto_parse_form_urlencoded = False
    # Answers are encoded by orjson (C): every webhook answer is a JSON document.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=orjson.dumps)
    install_error_handling(app)
    metrics.start_webhook_answers(SOURCE)
    app.add_route("/webhooks/nhanh", NhanhWebhookResource(settings, jobs))
    app.add_route("/webhooks/nhanh/inventory",
                  NhanhWebhookResource(settings, jobs, only_events=(INVENTORY_EVENT,)))
    app.add_route("/webhooks/nhanh/customer",
                  NhanhWebhookResource(settings, jobs, only_events=CUSTOMER_EVENTS))
    app.add_route("/jobs", JobsResource(settings, jobs))
    app.add_route("/jobs/{job_id}", JobResource(settings, jobs))
    app.add_route("/jobs/{job_id}/retry", JobRetryResource(settings, jobs))
    app.add_route("/jobs/{job_id}/cancel", JobCancelResource(settings, jobs))
    app.add_route("/deploys", DeploysResource(settings, deploy_jobs or deploy_job_store(settings)))
    app.add_route("/queues", QueuesResource(settings, jobs))
    app.add_route("/queues/{queue}/dead", DeadJobsResource(settings, jobs))
    app.add_route("/shops", ShopsResource(settings, jobs))
    app.add_route("/healthz", HealthResource())
    app.add_route("/readyz", ReadyResource(jobs))
    app.add_route("/metrics", MetricsResource(settings, jobs))
    app.add_route("/audit", AuditResource(settings, jobs))
    app.add_route("/openapi.yaml", OpenApiResource())
    return app


def get_app() -> falcon.App:
    """For gunicorn: ``gunicorn -c python:ingest.gunicorn_conf 'ingest.app:get_app()'``."""
    settings = Settings.from_env()
    return create_app(settings, jobs=ingest_job_store(settings),
                      deploy_jobs=deploy_job_store(settings))
