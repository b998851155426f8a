"""Fairness benchmark (issue #23): how long a shop waits behind another shop's backlog, with
turns and with a message per job, in one run.

    python -m bench.fairness [--a-items 20000] [--big-backlog 100000] [--shops 100] ...

For each design, ``HOOKYARD_SHOP_TURNS=true`` (turns: a shop's pending sync jobs stand in the
queue as one message, ``hookyard.jobs.turns``) and ``false`` (every job has its own message, the
design before), and for each scenario, a fresh stack is started (``bench/fairness_phases.py``):
a private redis-server, the Shopify sandbox with a *slow* plan (a 200-point bucket restored at
10 points/s: one 250-quantity write a second per shop, ``bench/fairness_sandbox.py``), gunicorn
ingest and ONE ``workers.inventory_sync`` process, all with production defaults (8 threads,
prefetch 16, the start-up catalogue prefill, which the bench waits for). Every shop is on the
slow plan and maps one location.

1. **Two shops.** B sends ``--b-items`` (50) items in one webhook, alone, ``--b-repeats`` times
   (median). Then A, its bucket spent (sandbox and Hookyard's budget at 0: a busy shop's steady
   state), sends ``--a-items`` (20,000) items as webhooks of 100 products, ``--senders`` at a
   time, as fast as ingest takes them, and B sends 50 right after, its bucket full as before,
   and again (up to ``--b-repeats`` times) while A's backlog holds a batch or more. B's
   median latency behind A is judged against "at most 2x alone and under 2 s". A's drain is
   measured over the ``--window`` (30) seconds from its first POST, not until its backlog is
   gone: items whose jobs ended in the window per second, against its budget (250 items/s)
   and against the other design.
2. **Many shops, one backlog.** Shop 0 (bucket spent) sends ``--big-backlog`` items (and so do
   shops 1, 2... up to ``--backlog-shops``, default 1, one after the other), then each of the
   other ``--shops`` (100 in all; buckets full) sends ``--small-items`` (10) in one webhook,
   spread over ``--spread`` seconds. The run waits until they all ended, or
   ``--shops-timeout`` after the last was sent, and reports their latencies' p50/p90/p99/max
   (nearest rank; a shop not done counts as slower than any done, printed ">x": it had waited
   at least x s). The backlogs are not waited for: their drain until then is reported.

A latency runs from the webhook's acceptance (its jobs' ``created_at``) to the last of its
jobs' ``finished_at``; the sandbox must then hold every level sent (and, for A, every level of
a job that ended), or the run exits 1. Results go to stdout and
``bench/.results/fairness-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fairness_phases import (
    BUDGET_ITEMS_PER_SECOND,
    DESIGNS,
    DesignStack,
    many_shops,
    two_shops,
)
from bench.fairness_report import (
    drain_verdict,
    latency_summary,
    print_report,
    problems_of,
    two_shop_verdict,
)
from bench.fairness_sandbox import SLOW_PLAN, SLOW_RESTORE_RATE
from bench.fairness_workload import HOOKYARD_PLAN, make_shops

BENCH_DIR = Path(__file__).resolve().parent
SCENARIOS = ("two", "many")


def names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        chosen = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"one or more of {', '.join(allowed)}")
        return chosen
    return parse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", type=names(tuple(DESIGNS)), default=list(DESIGNS),
                        help="comma-separated: turns, per-job (default both)")
    parser.add_argument("--scenarios", type=names(SCENARIOS), default=list(SCENARIOS),
                        help="comma-separated: two (shops A and B), many (default both)")
    parser.add_argument("--a-items", type=int, default=20_000, help="shop A's backlog")
    parser.add_argument("--b-items", type=int, default=50, help="shop B's delivery")
    parser.add_argument("--b-repeats", type=int, default=3, help="B alone: runs (median)")
    parser.add_argument("--b-timeout", type=float, default=180.0,
                        help="longest wait for B's delivery to end")
    parser.add_argument("--window", type=float, default=30.0,
                        help="seconds from A's first POST over which its drain is measured")
    parser.add_argument("--big-backlog", type=int, default=100_000,
                        help="shop 0's backlog (each backlog shop's)")
    parser.add_argument("--backlog-shops", type=int, default=1,
                        help="shops that send --big-backlog items (shop 0, 1, ...)")
    parser.add_argument("--shops", type=int, default=100, help="shops in the many-shop scenario")
    parser.add_argument("--small-items", type=int, default=10,
                        help="items each of the other shops sends")
    parser.add_argument("--spread", type=float, default=3.0,
                        help="seconds over which the other shops send")
    parser.add_argument("--shops-timeout", type=float, default=120.0,
                        help="longest wait, after the last small webhook, for the other shops")
    parser.add_argument("--senders", type=int, default=4,
                        help="concurrent POSTs of a backlog's webhooks")
    parser.add_argument("--prefill-timeout", type=float, default=180.0,
                        help="longest wait for the worker's start-up prefill of every shop")
    parser.add_argument("--seed", type=int, default=23, help="random seed (the levels sent)")
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl-C, so the finally below stops every child process.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    started = time.monotonic()
    two: dict[str, dict[str, Any]] = {}
    many: dict[str, dict[str, Any]] = {}
    if not 1 <= args.backlog_shops < args.shops:
        parser.error("--backlog-shops must be at least 1 and less than --shops")
    print(f"designs: {', '.join(args.designs)}; big backlog: {args.big_backlog} items "
          f"(--big-backlog) x {args.backlog_shops} shop(s)", flush=True)
    for scenario in args.scenarios:
        if scenario == "two":
            shops = make_shops({"shop-a": args.a_items, "shop-b": args.b_items})
        else:
            shops = make_shops({f"shop-{i:03d}": args.big_backlog if i < args.backlog_shops
                                else args.small_items for i in range(args.shops)})
        for design in args.designs:
            stack = DesignStack(design, shops)
            failed = True
            try:
                setup = stack.start(prefill_timeout=args.prefill_timeout)
                print(f"{scenario} shops, {design}: stack up (sandbox seeded in "
                      f"{setup['seed_seconds']} s, prefill {setup['prefill_seconds']} s)",
                      flush=True)
                rng = random.Random(args.seed)
                if scenario == "two":
                    result = two_shops(stack, args, rng)
                    result["verdict"] = two_shop_verdict(result)
                    two[design] = result
                    behind = result["b_behind_a_median_seconds"]
                    print(f"  B alone {result['b_alone_median_seconds']:.3f} s, behind A "
                          + (f"{behind:.3f} s" if not result["b_timed_out"] else "not done")
                          + f"; A {result['a_drain']['items_per_second']} items/s", flush=True)
                else:
                    result = many_shops(stack, args, rng)
                    result["latency"] = latency_summary(result["per_shop"])
                    many[design] = result
                    row = result["latency"]
                    print(f"  {row['done']}/{row['shops']} shops done; p50 {row['p50']} s, "
                          f"max {row['max']} s", flush=True)
                result["setup"] = setup
                result["worker_log"] = stack.worker_log()
                failed = False
            finally:
                stack.stop(keep_logs=failed)

    drain = drain_verdict(two["turns"], two["per-job"]) \
        if "turns" in two and "per-job" in two else None
    problems = problems_of(two, many)
    print_report(two, many, drain, problems)
    elapsed = time.monotonic() - started
    print(f"run took {elapsed:.0f}s")

    result = {
        "benchmark": "fairness", "at": datetime.now(UTC).isoformat(),
        "args": vars(args), "elapsed_seconds": round(elapsed, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "commit": commit()},
        "setup": {"sandbox_plan": SLOW_PLAN, "bucket_points": 20 * SLOW_RESTORE_RATE,
                  "restore_points_per_second": SLOW_RESTORE_RATE,
                  "hookyard_plan_preset": HOOKYARD_PLAN,
                  "budget_items_per_second": BUDGET_ITEMS_PER_SECOND,
                  "inventory_workers": 1, "designs": DESIGNS},
        "two_shops": two, "many_shops": many, "drain_verdict": drain, "problems": problems,
    }
    out_dir = BENCH_DIR / ".results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"fairness-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out.relative_to(BENCH_DIR.parent)}")
    return 1 if problems else 0


def commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    sys.exit(main())
