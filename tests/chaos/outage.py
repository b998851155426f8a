"""The Shopify outage of an outage run (``--outage-seconds``), and what it measures live.

When the seeded share of the webhooks has been sent (``ChaosConfig.outage_at``, moved by up to
0.05 either way by the seed), the sandbox's ``outage`` switch makes every GraphQL call answer 503
for ``outage_seconds``; then it is switched off. The senders keep sending throughout (ingest
does not need Shopify). As it starts, the failing jobs are submitted (``Poison`` of kind
``job_error``: a job error on every run), which must die after their attempts, not wait.

Measured here, because they are about time: the sandbox's count of calls answered during the
outage (sampled every second, so the report shows when they came), and the *convergence time*:
seconds from the outage's end until Shopify holds, for every SKU and customer, the newest value
accepted by the outage's end, or a newer one (an entity's values only grow: each belongs to one
sender, which sends them in order). The oracle judges them (``oracle.judge_outage``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Mapping

from tests.chaos.config import ChaosConfig
from tests.chaos.ledger import Ledger, Poison, Webhook
from tests.chaos.senders import submit_poison
from tests.chaos.stack import ChaosStack
from tests.chaos.workload import metafield, shopify_values

SAMPLE_SECONDS = 1.0  # how often the outage's calls are counted
POLL_SECONDS = 0.5  # how often Shopify is read while converging
GIVE_UP_FACTOR = 3  # convergence is watched for this many times its limit, then given up


def newest_accepted(webhooks: Iterable[Webhook], until: float) -> dict[str, int]:
    """Entity -> the newest value of the deliveries answered 200 by ``until`` (ledger clock)."""
    newest: dict[str, int] = {}
    for webhook in webhooks:
        if webhook.accepted_at is not None and webhook.accepted_at <= until:
            for entity, value in webhook.values.items():
                newest[entity] = max(value, newest.get(entity, value))
    return newest


def behind(held: Mapping[str, str | None], targets: Mapping[str, int]) -> list[str]:
    """The entities whose value in Shopify (``held``) is older than their target: absent, unset
    or lower (values of one entity only grow)."""
    late = []
    for entity, target in sorted(targets.items()):
        value = held.get(entity)
        if value is None or int(value) < target:
            late.append(f"{entity}: shopify={value} want>={target}")
    return late


class ShopifyOutage:
    """Runs the outage in its own thread (``start``; ``wait`` joins it once the convergence is
    measured or given up). Its results are its attributes, all times on the ledger's clock."""

    def __init__(self, stack: ChaosStack, ledger: Ledger, config: ChaosConfig) -> None:
        self.stack = stack
        self.ledger = ledger
        self.config = config
        # A stream of its own: the nemesis and the workload draw what they drew without it.
        rng = random.Random(f"outage-{config.seed}")
        self.at = min(0.95, max(0.0, config.outage_at + rng.uniform(-0.05, 0.05)))
        self.failing = [Poison(job_id=f"00000000-failing-{i:04d}-{rng.getrandbits(32):08x}",
                               kind="job_error") for i in range(config.failing_jobs)]
        for poison in self.failing:
            ledger.poison[poison.job_id] = poison
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.calls_timeline: list[tuple[float, int]] = []  # (seconds into it, calls so far)
        self.targets = 0  # entities with a value accepted by the outage's end
        self.convergence_seconds: float | None = None
        self.behind: list[str] = []  # at the last look, when convergence was given up
        self.sending_over = threading.Event()  # set by the harness: start now if not yet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outage", daemon=True)

    @property
    def calls(self) -> int:
        """GraphQL calls the sandbox answered during the outage."""
        return self.calls_timeline[-1][1] if self.calls_timeline else 0

    def start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        """Until the outage ended and Shopify converged (or the watch gave up)."""
        self._thread.join()

    def stop(self) -> None:
        """Cut the outage (and the watch) short; the sandbox is switched back on."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            self._outage()
            if self.ended_at is not None:
                self._converge()
        except Exception as exc:  # a harness bug must fail the run, not end the outage silently
            self.ledger.harness_errors.append(f"outage stopped with {exc!r}")
            self.stack.sandbox.set_faults("acme", outage=False)
            raise

    def _outage(self) -> None:
        sandbox = self.stack.sandbox
        while (self.ledger.sent / max(1, self.config.webhooks) < self.at
               and not self.sending_over.is_set()):  # senders that gave up: start late
            if self._stop.wait(0.05):
                return
        before = int(sandbox.stats("acme")["outage_calls"])
        sandbox.set_faults("acme", outage=True, fail_status=503)
        started = time.monotonic()
        self.started_at = self.ledger.now()
        self.ledger.event(f"outage: Shopify answers 503 to every call for "
                          f"{self.config.outage_seconds:g} s")
        for poison in self.failing:
            threading.Thread(target=submit_poison, args=(self.stack, self.ledger, poison),
                             daemon=True).start()
        end = started + self.config.outage_seconds
        while (now := time.monotonic()) < end:
            self._stop.wait(min(SAMPLE_SECONDS, end - now))
            self._sample(started, before)
            if self._stop.is_set():
                break
        sandbox.set_faults("acme", outage=False)
        self.ended_at = self.ledger.now()
        self._sample(started, before)
        self.ledger.event(f"outage over: {self.calls} calls answered 503")

    def _sample(self, started: float, before: int) -> None:
        calls = int(self.stack.sandbox.stats("acme")["outage_calls"]) - before
        self.calls_timeline.append((round(time.monotonic() - started, 1), calls))

    def _converge(self) -> None:
        assert self.ended_at is not None
        ended = time.monotonic()
        with self.ledger.lock:
            targets = newest_accepted(list(self.ledger.webhooks.values()), self.ended_at)
        self.targets = len(targets)
        sandbox, wanted = self.stack.sandbox, metafield(self.stack.settings)
        give_up = ended + GIVE_UP_FACTOR * self.config.convergence_limit_seconds
        while not self._stop.is_set():
            held = shopify_values(sandbox.inventory("acme"), sandbox.customers("acme"), wanted)
            looked = time.monotonic()  # Shopify held these values by now
            late = behind(held, targets)
            if not late:
                self.behind = []
                self.convergence_seconds = round(looked - ended, 1)
                self.ledger.event(f"Shopify converged {self.convergence_seconds} s after the "
                                  f"outage")
                return
            self.behind = late
            if looked > give_up:
                self.ledger.event(f"Shopify not converged {looked - ended:.0f} s after the "
                                  f"outage: {len(late)} behind")
                return
            self._stop.wait(POLL_SECONDS)
