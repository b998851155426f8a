"""``python -m tests.chaos.run --webhooks 50000``: the fault-injection run at any size (from the
repository root).

Prints Jepsen's four sets and every other check (see ``oracle``), writes ``report.json`` and
``ledger.json`` into the work directory, and exits 1 when a promise was broken.

The run's modules in tests/chaos/, one job each. Dependencies point one way, down this list: a
module imports only modules below it (and run.py and the tests any of them).

- ``chaos_harness``: ``run_chaos``, a run in order: start, send under the nemesis, drain, judge.
- ``oracle``: judges the drained run against the ledger, the job records and Shopify's state.
- ``nemesis``: the seeded faults (kills, pauses, Shopify bursts, poison jobs).
- ``draining``: waits until every job has ended and the broker's queues are empty.
- ``senders``: post the webhooks, re-sending like Nhanh; submit the poison jobs.
- ``workload``: the shop the sandbox starts with, and the webhooks.
- ``stack``: Redis, the sandbox, gunicorn ingest and the supervised workers.
- ``report``: what the oracle found, ``problems()`` and the printed summary.
- ``ledger``: every send and its answer, out of the nemesis' reach.
- ``config``: ``ChaosConfig`` and the settings of the stack under test.
- ``source_tree``: the repository's paths.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.chaos.chaos_harness import ChaosConfig, run_chaos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None,
                        help="nemesis and workload seed (default: random, printed)")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--poison", type=int, default=3)
    parser.add_argument("--max-sends", type=int, default=None,
                        help="senders give up on a delivery after this many sends (4 = Nhanh's "
                             "count); default: re-send until a definite answer")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--no-faults", action="store_true", help="workload only, no nemesis")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(__import__("os").urandom(3))
    print(f"chaos seed {seed}", flush=True)
    report = run_chaos(ChaosConfig(
        webhooks=args.webhooks, seed=seed, senders=args.senders, poison=args.poison,
        appendfsync=args.appendfsync, max_sends=args.max_sends, faults=not args.no_faults,
        drain_timeout_seconds=args.drain_timeout, workdir=args.workdir))
    print(report.summary())
    for at, text in report.events:
        print(f"  {at:8.2f}s {text}")
    problems = report.problems()
    for problem in problems:
        print(f"BROKEN: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
