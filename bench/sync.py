"""Shopify sync benchmark: Hookyard's batched writes against the seed design, on a Standard shop.

    python -m bench.sync [--items 5000] [--customers 2000] [--reference-seconds 15]

In one run, with a private redis-server, the Shopify sandbox, gunicorn ingest and real worker
processes (2 ``workers.inventory_sync`` + 2 ``workers.customer_sync``, default 8 threads each),
all on loopback (``bench/sync_stack.py``):

1. **Hookyard, cold (reactive) then warm SKU/customer cache.** ``--items`` distinct inventory
   items are POSTed to ``/webhooks/nhanh`` as ``inventoryChange`` webhooks of 10-100 products,
   and timed from the first POST to the ``finished_at`` of the last job to end (succeeded,
   superseded or failed). The workers run with ``HOOKYARD_CATALOG_PREFILL_ON_START=false``, so
   the *cold, reactive* pass starts with an empty mapping cache: the first batch misses more
   than ``HOOKYARD_CATALOG_PREFILL_MIN_MISSES`` SKUs and loads the shop's catalogue with one
   bulk query (``hookyard.sync.catalog``; ``--prefill-min-misses 0`` looks every SKU up instead);
   the *warm* pass sends the same SKUs again with new quantities (mapping cached by the cold
   pass). The same for ``--customers`` ``customerUpdate`` items (customers pre-seeded in the
   sandbox with phone and email; written with ``metafieldsSet``).
2. **Hookyard, cold with the start-up prefill.** The workers are stopped, every mapping of the
   shop (caches, snapshot records, negative entries) is deleted, and the workers are started
   again with the start-up prefill on (the default, ``hookyard.sync.prefill``). The bench waits
   (at most ``--prefill-ready-timeout``) until every shop's snapshots are loaded, reports when
   each was ready after its workers were started and what the exports cost, then runs a cold
   inventory pass, a warm one right after it (same machine load: the yardstick for the cold
   one), and a cold customer pass, timed from the first POST as above.
3. **Seed design** (``bench/sync_reference.py``): one call per item, a fixed 10 jobs/s limiter
   shared by 16 threads, the same ``ShopifyClient``; run for ``--reference-seconds`` worth of
   items per kind against a second sandbox shop on the same plan.

Every phase starts from the bucket's steady state: the sandbox bucket *and* Hookyard's shared
budget are set to 0 available (as if the last answer had reported an empty bucket), so the
initial 2000-point burst of a Standard bucket does not flatter anyone. The sandbox runs with
``enforce_throttle=False`` (``--enforce-throttle`` to change): an over-spending client is then
served and counted in ``budget_exceeded`` instead of being corrected by ``THROTTLED``. The
sandbox's bulk queries run at its defaults (1 s queued, then 5000 rows/s) unless
``--bulk-start-seconds`` / ``--bulk-rows-per-second`` say otherwise.

At the end the sandbox's levels and metafields must equal the last value sent per SKU and
customer, or the run says so and exits 1. Results go to stdout and
``bench/.results/sync-<timestamp>.json``.

This file is the command (its options, the run and the results JSON); the rest is in
``sync_workload`` (the shops, catalogue and webhook bodies), ``sync_phases`` (``Bench``: the
stack, the passes and phases, the correctness check), ``sync_report`` (targets, summary, guards
and the printed report), ``sync_stack`` (the processes) and ``sync_reference`` (the seed
design).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.sync_phases import CUSTOMER_WORKERS, INVENTORY_WORKERS, REFERENCE_THREADS, Bench
from bench.sync_reference import SEED_JOBS_PER_SECOND
from bench.sync_report import (
    COLD_PREFILLED,
    COLD_REACTIVE,
    WARM_AGAIN,
    describe_prefill,
    guards_of,
    print_report,
    summarise,
)
from bench.sync_workload import PLAN

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000, help="inventory items per pass")
    parser.add_argument("--customers", type=int, default=2000, help="customers per pass")
    parser.add_argument("--reference-seconds", type=float, default=15.0,
                        help="seed design: this many seconds' worth of items (at 10/s) per kind")
    parser.add_argument("--phase-timeout", type=float, default=240.0,
                        help="longest wait for one Hookyard pass to end")
    parser.add_argument("--enforce-throttle", action="store_true",
                        help="sandbox answers THROTTLED (as Shopify) instead of counting overruns")
    parser.add_argument("--seed", type=int, default=3, help="random seed (values, webhook sizes)")
    parser.add_argument("--prefill-min-misses", type=int, default=None,
                        help="HOOKYARD_CATALOG_PREFILL_MIN_MISSES (default: the setting's; 0 "
                             "looks every cold mapping up one by one)")
    parser.add_argument("--prefill-ready-timeout", type=float, default=60.0,
                        help="longest wait for the start-up prefill before the cold passes "
                             "(they run regardless)")
    parser.add_argument("--bulk-start-seconds", type=float, default=None,
                        help="sandbox: seconds a bulk query is queued before it runs")
    parser.add_argument("--bulk-rows-per-second", type=float, default=None,
                        help="sandbox: rows a running bulk query produces per second")
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl-C, so the finally below stops every child process.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    bench = Bench(args)
    started = time.monotonic()
    phases: list[dict[str, Any]] = []
    prefill: dict[str, Any] = {}
    failed = True
    try:
        bench.start()
        print(f"stack up: sandbox seeded with {args.items} SKUs and {args.customers} customers "
              f"x 2 shops in {bench.seed_seconds:.1f}s", flush=True)
        def restart() -> None:
            prefill.update(bench.restart_with_startup_prefill())
            print(f"  workers restarted with the start-up prefill: {describe_prefill(prefill)}",
                  flush=True)

        for run in (lambda: bench.inventory_pass(f"hookyard inventory {COLD_REACTIVE}"),
                    lambda: bench.inventory_pass("hookyard inventory warm"),
                    lambda: bench.customer_pass(f"hookyard customers {COLD_REACTIVE}"),
                    lambda: bench.customer_pass("hookyard customers warm"),
                    restart,
                    lambda: bench.inventory_pass(f"hookyard inventory {COLD_PREFILLED}"),
                    lambda: bench.inventory_pass(f"hookyard inventory {WARM_AGAIN}"),
                    lambda: bench.customer_pass(f"hookyard customers {COLD_PREFILLED}"),
                    lambda: bench.reference_phase("seed design inventory", "inventory"),
                    lambda: bench.reference_phase("seed design customers", "customers")):
            phase = run()
            if phase is None:
                continue
            phases.append(phase)
            print(f"  {phase['phase']}: {phase['items']} in {phase['seconds']}s = "
                  f"{phase['per_second']}/s", flush=True)
        verification = bench.verify()
        failed = False
    finally:
        bench.stack.stop(keep_logs=failed)

    summary = summarise(phases)
    guards = guards_of(phases)
    print_report(phases, summary, guards, prefill, verification,
                 enforce_throttle=args.enforce_throttle)
    elapsed = time.monotonic() - started
    print(f"run took {elapsed:.0f}s")

    result = {
        "benchmark": "sync", "at": datetime.now(UTC).isoformat(),
        "args": vars(args), "elapsed_seconds": round(elapsed, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "setup": {"plan": PLAN, "inventory_workers": INVENTORY_WORKERS,
                  "customer_workers": CUSTOMER_WORKERS,
                  "worker_threads": bench.settings.worker_threads,
                  "seed_design": {"jobs_per_second": SEED_JOBS_PER_SECOND,
                                  "threads": REFERENCE_THREADS},
                  "enforce_throttle": args.enforce_throttle},
        "phases": phases, "startup_prefill": prefill, "summary": summary, "guards": guards,
        "verification": verification,
    }
    out_dir = BENCH_DIR / ".results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"sync-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out.relative_to(BENCH_DIR.parent)}")
    ok = verification["ok"] and not guards["timed_out"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
