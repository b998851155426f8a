"""The benchmark's reference: the least a Falcon + Dramatiq webhook endpoint can do.

``POST /webhooks/nhanh`` parses the JSON body and calls ``actor.send(item)`` once per item with a
plain ``dramatiq.brokers.redis.RedisBroker`` (default middleware): no token check, validation,
de-duplication, job records, metrics or logs, and one Redis round trip per item. It answers the
same shape as Hookyard (``{"accepted", "jobs", "duplicate"}``) so one load generator checks both.

Run by bench/ingest.py with the same gunicorn worker class, workers, threads and keep-alive as
``ingest.gunicorn_conf``::

    BENCH_REFERENCE_REDIS_URL=redis://127.0.0.1:6379/0 gunicorn --pythonpath bench \\
        -k gthread -w 2 --threads 8 --keep-alive 5 -b 127.0.0.1:8081 'reference_app:get_app()'
"""

from __future__ import annotations

import json
import os
from typing import Any

import dramatiq
import falcon
from dramatiq.brokers.redis import RedisBroker

QUEUE = "bench-reference"
ACTOR = "bench_reference_item"


class WebhookResource:
    def __init__(self, actor: dramatiq.Actor[Any, Any]) -> None:
        self.actor = actor

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        document = json.loads(req.bounded_stream.read())
        data = document["data"]
        items = data.values() if isinstance(data, dict) else data
        ids = [self.actor.send(item).message_id for item in items]
        resp.media = {"accepted": len(ids), "jobs": ids, "duplicate": False}


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


def _item(item: dict[str, Any]) -> None:
    """Never runs in the benchmark (no worker consumes the queue)."""


def get_app() -> falcon.App:
    """For gunicorn; reads ``BENCH_REFERENCE_REDIS_URL`` (called in each worker, after fork)."""
    broker = RedisBroker(url=os.environ["BENCH_REFERENCE_REDIS_URL"])
    actor = dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE, broker=broker)(_item)
    app = falcon.App()
    app.add_route("/webhooks/nhanh", WebhookResource(actor))
    app.add_route("/healthz", HealthResource())
    return app
