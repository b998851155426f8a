"""``python -m hookyard_sandbox --host 127.0.0.1 --port 8082 [--shops-file F]``.

Seeds the shops of ``--shops-file`` (JSON or YAML: a list of seeds, or ``{"shops": [...]}``),
then serves until SIGINT/SIGTERM. Prints ``listening on http://HOST:PORT`` (flushed) once the
socket accepts connections, which is what readiness waits look for.
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

from hookyard_sandbox.server import Sandbox, SandboxServer


def load_seeds(path: Path) -> list[dict[str, Any]]:
    """Shop seeds from a JSON or YAML file."""
    text = path.read_text(encoding="utf-8")
    document = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    if isinstance(document, dict):
        document = document.get("shops", [])
    if not isinstance(document, list):
        raise ValueError(f"{path}: expected a list of shops or {{'shops': [...]}}")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hookyard_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--shops-file", type=Path)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    sandbox = Sandbox()
    if args.shops_file is not None:
        try:
            for seed in load_seeds(args.shops_file):
                sandbox.add_shop(seed)
        except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
            print(f"hookyard_sandbox: cannot seed from {args.shops_file}: {exc}", file=sys.stderr)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
