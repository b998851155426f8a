"""``POST /webhooks/nhanh`` (and its per-event aliases): verify, validate, dedupe, enqueue."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import falcon

from hookyard.base import keys, metrics
from hookyard.base.errors import UnknownShop, WrongEvent, quoted
from hookyard.base.settings import Settings
from hookyard.base.strict_json import parse_json_body
from hookyard.jobs.store import JobStore
from hookyard.nhanh.order_customers import OrderCustomers
from hookyard.nhanh.webhooks.envelope import HANDSHAKE_EVENT, SOURCE, parse_webhook
from hookyard.nhanh.webhooks.jobs import body_digest, customers_of_orders, jobs_for
from ingest.auth import check_nhanh_token
from ingest.body import read_body, require_json_content_type


class NhanhWebhookResource:
    """Answers 200 only after Redis confirmed the whole delivery (Nhanh retries anything else
    only three times, so a 2xx must mean durable). Takes Nhanh's v2 and v3 shapes: the token's
    place tells the version, and ``data`` is validated in that version's shape."""

    def __init__(self, settings: Settings, jobs: JobStore, *,
                 only_events: Collection[str] = ()) -> None:
        self.settings = settings
        self.jobs = jobs
        self.only_events = tuple(only_events)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_json_content_type(req)
        body = read_body(req, self.settings.max_body_bytes)
        document = parse_json_body(body)
        version = check_nhanh_token(req, document, self.settings.nhanh_tokens)
        if self.only_events and isinstance(document, dict):
            event = document.get("event")
            if event not in (*self.only_events, HANDSHAKE_EVENT) and isinstance(event, str):
                raise WrongEvent(f"This endpoint only takes {', '.join(self.only_events)} events, "
                                 f"not {quoted(event)}; send it to /webhooks/nhanh.")
        webhook = parse_webhook(document, version=version)
        shop = self.settings.shop_by_business_id(webhook.business_id)
        if shop is None:
            raise UnknownShop(f"businessId {webhook.business_id!r} is not a shop Hookyard "
                              "serves; add it to HOOKYARD_SHOPS.")
        customers = (customers_of_orders(webhook, OrderCustomers(self.jobs.state, shop.id))
                     if webhook.orders else None)
        digest = body_digest(body)
        new_jobs = jobs_for(
            webhook, shop, body_sha256=digest,
            received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            order_customers=customers,
            read_delay_ms=int(self.settings.nhanh_customer_read_delay_seconds * 1000))
        if not new_jobs:
            handshake = webhook.event == HANDSHAKE_EVENT
            outcome = "handshake" if handshake else "ignored"
            metrics.webhooks_total.labels(SOURCE, outcome).inc()
            resp.context.answer_reason = outcome
            if handshake:
                resp.media = {"accepted": 0, "jobs": [], "duplicate": False}
            elif webhook.orders:
                resp.media = {"ignored": True, "event": webhook.event,
                              "reason": "no order of this delivery names a customer Hookyard "
                                        "knows (a walk-in sale, or a deleted order it never "
                                        "saw), so no total to sync"}
            else:
                resp.media = {"ignored": True, "event": webhook.event}
            return
        accepted = self.jobs.submit(new_jobs, dedupe_key=keys.dedupe(SOURCE, digest))
        outcome = "duplicate" if accepted.duplicate else "accepted"
        metrics.webhooks_total.labels(SOURCE, outcome).inc()
        resp.context.answer_reason = outcome
        if not accepted.duplicate:
            metrics.jobs_enqueued_total.labels(new_jobs[0].queue).inc(len(new_jobs))
        resp.media = {"accepted": len(accepted.job_ids), "jobs": list(accepted.job_ids),
                      "duplicate": accepted.duplicate}
