"""``python tests/chaos/run.py --webhooks 50000``: the fault-injection run at any size.

Prints Jepsen's four sets and every other check (see ``chaos_harness``), writes ``report.json``
and ``ledger.json`` into the work directory, and exits 1 when a promise was broken.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_harness import ChaosConfig, run_chaos


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
