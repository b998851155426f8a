"""deploy/redis/users.acl works and confines each service: a redis-server loads the file, real
gunicorn ingest and a real worker process run as their own users (HOOKYARD_REDIS_URL with
user:password), a webhook flows through to Shopify, operator actions and every probe work, Redis
logs no denied command; and each user is refused what it must not do."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import redis
import requests

from devstack.redis_server import RedisServer
from tests.support.nhanh_payloads import inventory_body
from tests.support.platform_support import ADMIN_TOKEN

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ACL_FILE = ROOT / "deploy" / "redis" / "users.acl"
PASSWORDS = {"INGEST": "ingest-pw-1", "WORKER": "worker-pw-2", "KEDA": "keda-pw-3",
             "EXPORTER": "exporter-pw-4", "TEST_ADMIN": "test-admin-pw-5"}
USERS = {"INGEST": "hookyard-ingest", "WORKER": "hookyard-worker", "KEDA": "hookyard-keda",
         "EXPORTER": "redis-exporter", "TEST_ADMIN": "test-admin"}


def render_acl(target: Path) -> Path:
    """The shipped file with its password placeholders filled in, as the docs say, plus an
    all-powerful user the test itself uses to look around."""
    text = ACL_FILE.read_text(encoding="utf-8")
    for name, password in PASSWORDS.items():
        digest = hashlib.sha256(password.encode()).hexdigest()
        text = text.replace(f"{name}_PASSWORD_SHA256", digest)
    assert "_PASSWORD_SHA256" not in text, "a placeholder is left"
    text += f"\nuser test-admin on >{PASSWORDS['TEST_ADMIN']} ~* &* +@all\n"
    target.write_text(text, encoding="utf-8")
    return target


class AclRedis(RedisServer):
    acl_path: Path

    def command(self) -> list[str]:
        return [*super().command(), "--aclfile", str(self.acl_path)]

    def as_user(self, kind: str, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, username=USERS[kind],
                           password=PASSWORDS[kind], socket_timeout=2)

    def url(self, db: int = 0, kind: str = "TEST_ADMIN") -> str:
        return f"redis://{USERS[kind]}:{PASSWORDS[kind]}@127.0.0.1:{self.port}/{db}"

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server refused the ACL file: {log}")
            try:
                if self.as_user("TEST_ADMIN").ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.02)


@pytest.fixture
def acl_redis(tmp_path: Path):
    server = AclRedis(directory=tmp_path / "redis")
    server.acl_path = render_acl(tmp_path / "users.acl")
    server.start()
    yield server
    server.stop()


def refused(client: redis.Redis, *command: str) -> bool:
    try:
        client.execute_command(*command)
    except redis.exceptions.NoPermissionError:
        return True
    except redis.exceptions.ResponseError as exc:
        # Redis 7 refuses DEBUG before the ACL check unless enable-debug-command is set (a
        # redis-server 6.2 answers NOPERM): either way the user cannot run it.
        return "NOPERM" in str(exc) or "command not allowed" in str(exc)
    return False


def denials(server: AclRedis) -> list[dict]:
    """ACL LOG entries, except redis-py's optional CLIENT SETINFO on connect (ignored by it)."""
    entries = server.as_user("TEST_ADMIN").acl_log()
    return [e for e in entries if not str(e.get("object", "")).startswith("client")]


def test_the_shipped_acl_file_runs_ingest_and_a_worker_and_confines_every_user(
        acl_redis, sandbox_process, shop, stack, tmp_path):
    stack = type(stack)(acl_redis, sandbox_process, tmp_path)
    try:
        stack.env["HOOKYARD_REDIS_URL"] = acl_redis.url(0, "INGEST")
        stack.start_ingest()
        stack.env["HOOKYARD_REDIS_URL"] = acl_redis.url(0, "WORKER")
        stack.start_worker("workers.inventory_sync")

        accepted = stack.post(inventory_body(["SKU-1"], available=4))
        assert accepted.status_code == 200, accepted.text
        job_id = accepted.json()["jobs"][0]
        try:
            stack.wait_job(job_id, "succeeded")
        except AssertionError as exc:
            raise AssertionError(f"Redis denied: {denials(acl_redis)}") from exc
        assert stack.post(inventory_body(["SKU-1"], available=4)).json()["duplicate"] is True

        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for path in ("/jobs", f"/jobs/{job_id}", "/queues", "/queues/inventory-sync/dead",
                     "/audit", "/readyz", "/metrics"):
            answer = requests.get(f"{stack.ingest_url}{path}", headers=admin, timeout=10)
            assert answer.status_code == 200, (path, answer.text)
        retry = requests.post(f"{stack.ingest_url}/jobs/{job_id}/retry", headers=admin,
                              timeout=10)
        assert retry.status_code == 409  # succeeded jobs are not replayed; audited all the same
        time.sleep(1.5)  # a few heartbeat / sweeper / maintenance passes of the worker
        assert denials(acl_redis) == []
    finally:
        stack.stop()

    ingest, worker = acl_redis.as_user("INGEST"), acl_redis.as_user("WORKER")
    keda, exporter = acl_redis.as_user("KEDA"), acl_redis.as_user("EXPORTER")
    for client in (ingest, worker, keda, exporter):
        for command in (("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "SET", "maxmemory", "1"),
                        ("DEBUG", "SLEEP", "0"), ("ACL", "LIST"), ("SHUTDOWN", "NOSAVE"),
                        ("CLIENT", "KILL", "TYPE", "normal"), ("MONITOR",), ("SWAPDB", "0", "1"),
                        ("SET", "other:key", "x"), ("SCRIPT", "FLUSH")):
            assert refused(client, *command), (client.connection_pool.connection_kwargs[
                "username"], command)
    assert refused(ingest, "CONFIG", "GET", "maxmemory") and refused(ingest, "KEYS", "*")
    assert refused(ingest, "GET", "session:1") and refused(ingest, "MOVE", "hy:seq", "3")
    assert ingest.incr("hy:seq") >= 1 and ingest.get("dramatiq:nothing") is None
    assert worker.keys("dramatiq:__acks__.*") is not None  # Dramatiq's maintenance needs it
    assert keda.llen("dramatiq:inventory-sync") >= 0
    assert refused(keda, "GET", "hy:seq") and refused(keda, "LRANGE", "dramatiq:deploy", "0", "1")
    assert refused(keda, "DEL", "dramatiq:inventory-sync")
    assert "used_memory" in exporter.info("memory")
    assert exporter.config_get("maxmemory")
    assert refused(exporter, "GET", "hy:seq") and refused(exporter, "HGETALL", "hy:job:x")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=acl_redis.port, socket_timeout=2).ping()  # the default user is off
