"""``python -m tests.chaos.run --webhooks 50000``: the fault-injection run at any size (from the
repository root).

Prints Jepsen's four sets and every other check (see ``oracle``), writes ``report.json`` and
``ledger.json`` into the work directory, and exits 1 when a promise was broken.

``--outage-seconds 600 [--outage-at 0.3]`` is the outage run: Shopify answers 503 to every call
for that long once about 30 % of the webhooks are sent, and the nemesis injects only the poison
jobs (no kills, no Redis or Shopify bursts), so that the outage's effect is measured alone.

The run's modules in tests/chaos/, one job each. Dependencies point one way, down this list: a
module imports only modules below it (and run.py and the tests any of them).

- ``chaos_harness``: ``run_chaos``, a run in order: start, send under the nemesis, drain, judge.
- ``oracle``: judges the drained run against the ledger, the job records and Shopify's state.
- ``nemesis``: the seeded faults (kills, pauses, Shopify bursts, poison jobs).
- ``outage``: an outage run's Shopify outage; counts its calls, measures the convergence after.
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
    parser.add_argument("--poison", type=int, default=ChaosConfig.poison,
                        help="jobs that kill every worker that runs them")
    parser.add_argument("--max-sends", type=int, default=None,
                        help="senders give up on a delivery after this many sends (4 = Nhanh's "
                             "count); default: re-send until a definite answer")
    parser.add_argument("--rate", type=float, default=None,
                        help="webhooks a second, all senders together (default: as fast as "
                             "ingest answers); spreads the flood over an outage")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--no-faults", action="store_true",
                        help="workload and poison jobs only (implied by --outage-seconds)")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--workdir", type=Path, default=None)
    outage = parser.add_argument_group("the outage run (docs/reliability.md)")
    outage.add_argument("--outage-seconds", type=float, default=0,
                        help="Shopify answers 503 to every call for this long (0: no outage)")
    outage.add_argument("--outage-at", type=float, default=0.3,
                        help="about the share of the webhooks sent when it starts (the seed "
                             "moves it by up to 0.05)")
    outage.add_argument("--failing-jobs", type=int, default=ChaosConfig.failing_jobs,
                        help="jobs failing with a job error, submitted as it starts")
    outage.add_argument("--outage-call-bound", type=int, default=None,
                        help="most Shopify calls allowed during it (default: the formula of "
                             "oracle.outage_call_bound, when the build has a breaker)")
    outage.add_argument("--convergence-limit", type=float, default=60,
                        help="seconds after it within which Shopify must hold the newest "
                             "accepted values")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(__import__("os").urandom(3))
    print(f"chaos seed {seed}", flush=True)
    report = run_chaos(ChaosConfig(
        webhooks=args.webhooks, seed=seed, senders=args.senders, poison=args.poison,
        appendfsync=args.appendfsync, max_sends=args.max_sends, send_rate=args.rate,
        faults=not (args.no_faults or args.outage_seconds > 0),
        drain_timeout_seconds=args.drain_timeout, workdir=args.workdir,
        outage_seconds=args.outage_seconds, outage_at=args.outage_at,
        failing_jobs=args.failing_jobs, outage_call_bound=args.outage_call_bound,
        convergence_limit_seconds=args.convergence_limit))
    print(report.summary())
    for at, text in report.events:
        print(f"  {at:8.2f}s {text}")
    problems = report.problems()
    for problem in problems:
        print(f"BROKEN: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
