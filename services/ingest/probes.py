"""``/healthz`` (the process answers), ``/readyz`` (Redis answers) and ``/metrics``."""

from __future__ import annotations

import falcon
import redis

from hookyard.base.metrics import QueueStatsCollector, render_metrics
from hookyard.jobs.store import JobStore


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
    def __init__(self, jobs: JobStore) -> None:
        self.collector = QueueStatsCollector(jobs.queue_stats)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        body, content_type = render_metrics([self.collector])
        resp.data = body
        resp.content_type = content_type
