"""The Shopify sandbox with one more plan, ``slow``: 10 points/s restored into a 200-point
bucket (one 250-quantity ``inventorySetQuantities`` a second), the plan of issue #23.

    python -m bench.fairness_sandbox --host 127.0.0.1 --port 8082

The sandbox knows Shopify's four plans only (``hookyard_sandbox.bucket.RESTORE_RATES``), and
neither a seed field nor a fault switch sets a restore rate (``POST /_sandbox/shops/{id}/bucket``
sets the level, not the rate). So the fairness benchmark starts the sandbox through this
module, which adds the plan before the sandbox's own ``main`` runs; a bucket's capacity is
``BURST_SECONDS`` (20) x its restore rate, hence 200 points. Nothing else differs.
"""

from __future__ import annotations

import sys

from hookyard_sandbox import bucket
from hookyard_sandbox.__main__ import main as sandbox_main

SLOW_PLAN = "slow"
SLOW_RESTORE_RATE = 10.0
"""Points per second; the bucket holds ``bucket.BURST_SECONDS`` x this (200)."""


def fairness_sandbox_command(port: int, *, host: str = "127.0.0.1") -> list[str]:
    """The command line of this sandbox on ``host:port`` (as ``devstack.commands``'s)."""
    return [sys.executable, "-m", "bench.fairness_sandbox", "--host", host, "--port", str(port)]


def main(argv: list[str] | None = None) -> int:
    bucket.RESTORE_RATES.setdefault(SLOW_PLAN, SLOW_RESTORE_RATE)
    return sandbox_main(argv)


if __name__ == "__main__":
    sys.exit(main())
