"""A fault-injection run of the whole stack, judged against a ledger the faults never touch.

The stack is the production one: gunicorn ingest, worker processes (supervised: restarted
when they exit, as Kubernetes would), Redis with an AOF, and the Shopify sandbox. Senders post
webhooks with known ids and re-send every one that got no definite answer (timeout, connection
error, an answer cut off, 5xx), as Nhanh does. A seeded nemesis SIGKILLs workers every few
seconds, SIGTERMs one, kills a gunicorn worker, kills and restarts Redis, pauses Redis, and
makes the sandbox answer 429 and 5xx bursts. A few poison jobs kill every worker that runs
them. Then the run drains and is judged (Jepsen's sets: ``oracle``).

An outage run (``ChaosConfig.outage_seconds``) takes Shopify down for that long in the middle
of the flood (``outage``) and waits for Shopify to converge after it before draining.

The ledger is a dict in this process (dumped to ``ledger.json``): nothing the nemesis touches.
``run_chaos`` is used by ``tests/chaos/test_chaos.py`` (CI size) and ``tests/chaos/run.py``.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from tests.chaos.config import ChaosConfig
from tests.chaos.draining import drain
from tests.chaos.ledger import Ledger
from tests.chaos.nemesis import MIN_KILLS, Nemesis
from tests.chaos.oracle import judge
from tests.chaos.outage import ShopifyOutage
from tests.chaos.report import ChaosReport
from tests.chaos.senders import send_all
from tests.chaos.stack import ChaosStack
from tests.chaos.workload import make_webhooks, seed_shop


def run_chaos(config: ChaosConfig) -> ChaosReport:
    """Start the stack, run the workload under the nemesis, drain, judge, stop the stack."""
    workdir = Path(config.workdir or tempfile.mkdtemp(prefix="hookyard-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)
    ledger = Ledger()
    stack = ChaosStack(config, workdir, ledger)
    outage: ShopifyOutage | None = None
    try:
        stack.start()
        seed_shop(stack.sandbox, config)
        webhooks = make_webhooks(config, rng)
        ledger.webhooks = {w.id: w for w in webhooks}
        nemesis = Nemesis(stack, ledger, config, rng)
        outage = ShopifyOutage(stack, ledger, config) if config.outage else None
        started = time.monotonic()
        ledger.started = started
        nemesis.start()
        if outage is not None:
            outage.start()
        send_all(stack, ledger, webhooks, config)
        sent = time.monotonic()
        while (config.faults and nemesis.counts["worker_sigkill"] < MIN_KILLS
               and time.monotonic() - sent < 60):
            time.sleep(0.2)
        nemesis.stop()
        if outage is not None:
            outage.sending_over.set()
            outage.wait()  # the outage ended and Shopify converged (or the watch gave up)
        waited = time.monotonic()
        for poison in ledger.poison.values():  # submitted by the nemesis; wait until in Redis
            while poison.accepted_at is None and time.monotonic() - waited < 60:
                time.sleep(0.1)
        job_ids = [j for w in webhooks for j in w.job_ids] + list(ledger.poison)
        drained = drain(stack, ledger, job_ids, config.drain_timeout_seconds)
        durations = {"send": round(sent - started, 1), "drain": round(drained, 1),
                     "total": round(time.monotonic() - started, 1)}
        report = judge(stack, ledger, webhooks, durations, nemesis.counts, config, outage)
        ledger.dump(workdir / "ledger.json")
        (workdir / "report.json").write_text(json.dumps(asdict(report), indent=1, default=str))
        return report
    finally:
        if outage is not None:
            outage.stop()
        stack.stop()
