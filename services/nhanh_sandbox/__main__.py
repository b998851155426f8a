"""``python -m nhanh_sandbox --host 127.0.0.1 --port 8083 [--businesses-file F]
[--rate-limit 150] [--rate-window-seconds 30] [--webhook-url URL --webhook-token T
--webhook-version 3] [--retry-scale 1.0] [--webhook-timeout-seconds 5]``.

Seeds the businesses of ``--businesses-file`` (JSON or YAML: a list of seeds, or
``{"businesses": [...]}``), then serves until SIGINT/SIGTERM. Prints ``listening on
http://HOST:PORT`` (flushed) once the socket accepts connections, which is what readiness waits
look for. ``--rate-limit`` / ``--rate-window-seconds`` are Nhanh's limit per app + business + API
(150 per 30 s; a seed's ``rateLimit`` overrides them for its business). ``--webhook-*`` is the
app's webhook target for every business whose seed names none. ``--retry-scale`` multiplies
Nhanh's re-send delays (5, 10, 30 minutes): 0.001 makes them 0.3, 0.6 and 1.8 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from nhanh_sandbox.server import DEFAULT_LIMIT, Sandbox, SandboxServer
from nhanh_sandbox.state import RateLimit, WebhookTarget
from nhanh_sandbox.webhooks import WebhookSender


def load_seeds(path: Path) -> list[Any]:
    """Business seeds from a JSON or YAML file."""
    text = path.read_text(encoding="utf-8")
    document = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    if isinstance(document, dict):
        document = document.get("businesses", [])
    if not isinstance(document, list):
        raise ValueError(f"{path}: expected a list of businesses or {{'businesses': [...]}}")
    return document


def positive(kind: type[int] | type[float]) -> Any:
    def parse(raw: str) -> int | float:
        value = kind(raw)
        if not value > 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nhanh_sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--businesses-file", type=Path)
    parser.add_argument("--rate-limit", type=positive(int), default=DEFAULT_LIMIT.requests,
                        help="requests per window per app + business + API (Nhanh: 150)")
    parser.add_argument("--rate-window-seconds", type=positive(float),
                        default=DEFAULT_LIMIT.window_seconds,
                        help="the sliding window of --rate-limit (Nhanh: 30)")
    parser.add_argument("--webhook-url", help="where webhooks go (none: not sent)")
    parser.add_argument("--webhook-token", default="", help="the app's webhooks verify token")
    parser.add_argument("--webhook-version", type=int, choices=(2, 3), default=3)
    parser.add_argument("--retry-scale", type=positive(float), default=1.0,
                        help="multiplies Nhanh's re-send delays of 5, 10 and 30 minutes")
    parser.add_argument("--webhook-timeout-seconds", type=positive(float), default=5.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    webhook = None
    if args.webhook_url:
        webhook = WebhookTarget(url=args.webhook_url, token=args.webhook_token,
                                version=args.webhook_version)
    sender = WebhookSender(retry_scale=args.retry_scale,
                           timeout_seconds=args.webhook_timeout_seconds)
    sandbox = Sandbox(limit=RateLimit(args.rate_limit, args.rate_window_seconds),
                      webhook=webhook, sender=sender)
    if args.businesses_file is not None:
        try:
            for seed in load_seeds(args.businesses_file):
                sandbox.add_business(seed)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            print(f"nhanh_sandbox: cannot seed from {args.businesses_file}: {exc}",
                  file=sys.stderr)
            return 2
    server = SandboxServer((args.host, args.port), sandbox)
    host, port = server.server_address[:2]

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on http://{host!s}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        sender.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
