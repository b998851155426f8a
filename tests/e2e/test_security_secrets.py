"""Secrets never leave the process: the real stack (gunicorn ingest, a worker process) runs with
every kind of secret configured (Nhanh verify tokens, API tokens, Shopify access tokens, a Redis
password in HOOKYARD_REDIS_URL) at log level DEBUG; the test drives successes and every kind of
error, a Redis outage included, then searches the logs, both /metrics pages, every response
body and header, and everything stored in Redis for each secret value."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests

from devstack.commands import worker_command
from devstack.redis_server import RedisServer
from tests.support.nhanh_payloads import TOKEN, inventory_body
from tests.support.platform_support import ADMIN_TOKEN, OTHER_SHOP_TOKEN, SHOP_TOKEN, SHOPIFY_TOKEN

pytestmark = pytest.mark.e2e

REDIS_PASSWORD = "rEdIs-pAsS-7f3b9c"
OLD_NHANH_TOKEN = "old-token"
SECRETS = [TOKEN, OLD_NHANH_TOKEN, ADMIN_TOKEN, SHOP_TOKEN, OTHER_SHOP_TOKEN, SHOPIFY_TOKEN,
           "shpat_globex_test", REDIS_PASSWORD]
DIGESTS = [hashlib.sha256(s.encode()).hexdigest() for s in (ADMIN_TOKEN, SHOP_TOKEN,
                                                             OTHER_SHOP_TOKEN)]


class PasswordRedis(RedisServer):
    """The session's kind of redis-server, with ``requirepass``."""

    def command(self) -> list[str]:
        return [*super().command(), "--requirepass", REDIS_PASSWORD]

    def wait_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis(port=self.port, password=REDIS_PASSWORD, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while not _pings(client):
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server on port {self.port} not ready in {timeout}s")
            time.sleep(0.02)

    def admin(self, db: int) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, password=REDIS_PASSWORD)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def password_redis(tmp_path: Path):
    server = PasswordRedis(directory=tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def stored_text(server: PasswordRedis) -> str:
    """Every key and value in both DBs, as text."""
    parts = []
    for db in (0, 1):
        client = server.admin(db)
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            value = {"string": lambda c, k: c.get(k), "hash": lambda c, k: c.hgetall(k),
                     "list": lambda c, k: c.lrange(k, 0, -1), "set": lambda c, k: c.smembers(k),
                     "zset": lambda c, k: c.zrange(k, 0, -1),
                     "stream": lambda c, k: c.xrange(k)}[kind](client, key)
            parts.append(f"{key!r} {value!r}")
    return "\n".join(parts)


def test_no_secret_appears_in_logs_metrics_answers_or_stored_state(
        password_redis, sandbox_process, shop, stack, tmp_path):
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{password_redis.port}/0"
    stack = type(stack)(password_redis, sandbox_process, tmp_path, HOOKYARD_REDIS_URL=url,
                  HOOKYARD_LOG_LEVEL="DEBUG")
    answers: list[requests.Response] = []
    try:
        ingest = stack.start_ingest()
        worker = stack.start_worker("workers.inventory_sync")
        base = stack.ingest_url

        def call(method: str, path: str, **kwargs: object) -> requests.Response:
            answer = requests.request(method, f"{base}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]
            answers.append(answer)
            return answer

        json_type = {"Content-Type": "application/json"}
        ok = call("POST", "/webhooks/nhanh", data=inventory_body(["SKU-1"], token=None),
                  headers={**json_type, "verifyToken": TOKEN})
        assert ok.status_code == 200
        call("POST", "/webhooks/nhanh", data=inventory_body(["SKU-1"], token=None),
             headers={**json_type, "verifyToken": TOKEN})  # duplicate
        call("POST", "/webhooks/nhanh", data=inventory_body(["SKU-2"], token=OLD_NHANH_TOKEN),
             headers=json_type)
        for bad in (inventory_body(["SKU-0"], token=TOKEN + "x"), inventory_body(
                ["SKU-0"], token=None), b'{"webhooksVerifyToken": "' + TOKEN.encode() + b'"',
                    inventory_body(["SKU-0"], business_id="999"),
                    b'{"event": 1, "webhooksVerifyToken": "' + TOKEN.encode() + b'"}'):
            assert call("POST", "/webhooks/nhanh", data=bad, headers=json_type).status_code >= 400
        call("POST", "/webhooks/nhanh", data=inventory_body(["SKU-0"]),
             headers={"Content-Type": "text/plain"})
        call("POST", "/webhooks/nhanh", data=b"[" * 2_000_000, headers=json_type)
        call("GET", "/webhooks/nhanh")

        job_id = ok.json()["jobs"][0]
        stack.wait_job(job_id, "succeeded")
        for token in (ADMIN_TOKEN, SHOP_TOKEN, OTHER_SHOP_TOKEN, ADMIN_TOKEN + "x"):
            bearer = {"Authorization": f"Bearer {token}"}
            call("GET", f"/jobs/{job_id}", headers=bearer)
            call("GET", "/jobs", headers=bearer)
            call("GET", "/queues", headers=bearer)
            call("POST", f"/jobs/{job_id}/retry", headers=bearer)
            call("POST", f"/jobs/{job_id}/cancel", headers=bearer)
            call("GET", "/audit", headers=bearer)
            call("POST", "/deploys", data=b"{}", headers={**bearer, **json_type})
        call("GET", "/jobs", headers={"Authorization": f"Basic {ADMIN_TOKEN}"})

        password_redis.kill()  # an outage: ingest answers 503, the worker reconnects
        down = call("POST", "/webhooks/nhanh", data=inventory_body(["SKU-3"]), headers=json_type)
        assert down.status_code == 503
        call("GET", "/readyz")
        call("GET", "/jobs", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        time.sleep(1.5)
        password_redis.start()
        again = call("POST", "/webhooks/nhanh", data=inventory_body(["SKU-3"]), headers=json_type)
        assert again.status_code == 200
        # processed by the reconnected worker (superseded is possible: a SIGKILLed Redis
        # rewinds to its last AOF fsync, counters included)
        stack.wait_job(again.json()["jobs"][0], "succeeded", "superseded", "failed")

        metrics = call("GET", "/metrics").text + requests.get(
            f"{worker.metrics_url}/metrics", timeout=5).text  # type: ignore[attr-defined]
        assert "hookyard_http_requests_total" in metrics
        logs = ingest.log_path.read_text(errors="replace") + worker.log_path.read_text(
            errors="replace")
        assert "sync_inventory_item" in logs or "/webhooks/nhanh" in logs  # logs were captured
        stored = stored_text(password_redis)
    finally:
        stack.stop()

    bad_settings = subprocess.run(
        worker_command("workers.inventory_sync"), capture_output=True, text=True,
        env={**stack.env, "HOOKYARD_MAX_RETRIES": "many"}, timeout=60)
    assert bad_settings.returncode != 0 and "HOOKYARD_MAX_RETRIES" in bad_settings.stderr

    exposed = {
        "logs": logs,
        "metrics": metrics,
        "answers": "\n".join(f"{a.status_code} {dict(a.headers)} {a.text}" for a in answers),
        "stored state": stored,
        "start-up error": bad_settings.stdout + bad_settings.stderr,
    }
    for where, text in exposed.items():
        for secret in [*SECRETS, *DIGESTS]:
            assert secret not in text, f"a secret ({secret[:3]}...) appears in the {where}"
