"""``/healthz`` (the process answers), ``/readyz`` (Redis answers) and ``/metrics``."""

from __future__ import annotations

import falcon
import redis

from hookyard.base.metrics import (
    BreakerStateCollector,
    QueueStatsCollector,
    ShopBacklogCollector,
    render_metrics,
)
from hookyard.base.settings import Settings
from hookyard.jobs.store import JobStore
from hookyard.jobs.turns import Turns
from hookyard.shopify.breaker import read_breakers


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


class ReadyResource:
    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self.jobs.state.ping()
            self.jobs.broker.ping()
        except redis.RedisError:
            resp.status = falcon.HTTP_503
            resp.set_header("Retry-After", "5")
            resp.media = {"error": "unavailable", "message": "Redis does not answer; this "
                          "instance accepts nothing until it does."}
            return
        resp.media = {"ready": True}


class MetricsResource:
    """Prometheus exposition: the process's counters and histograms (every gunicorn worker's),
    plus gauges read from Redis at scrape time: the queues', and every configured shop's
    Shopify circuit breaker (one round trip for all shops) and sync backlog per queue (two)."""

    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        shop_ids = [shop.id for shop in settings.shops]

        def breaker_states() -> dict[str, tuple[str, float | None]]:
            if not shop_ids:
                return {}
            return {shop: (b.state, None if b.since_ms is None else b.since_ms / 1000)
                    for shop, b in read_breakers(jobs.state, shop_ids).items()}

        turns = Turns(jobs)

        def backlogs() -> dict[str, dict[str, tuple[int, float]]]:
            return {shop: {queue: (b.waiting, b.oldest_waiting_age_seconds)
                           for queue, b in queues.items()}
                    for shop, queues in turns.backlogs(shop_ids).items()}

        self.collectors = [QueueStatsCollector(jobs.queue_stats),
                           BreakerStateCollector(breaker_states),
                           ShopBacklogCollector(backlogs)]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        body, content_type = render_metrics(self.collectors)
        resp.data = body
        resp.content_type = content_type
