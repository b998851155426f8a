"""The report of a chaos run: every count and set the oracle found, the broken promises
(``problems``) and the text ``run.py`` and the test print (``summary``). It is also written to
``report.json``. An outage run adds an ``OutageReport``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.config import ChaosConfig


@dataclass
class OutageReport:
    """What the Shopify outage of an outage run did, on the ledger's clock (seconds since the
    sending started)."""

    seconds: float
    outage_at: float  # ``--outage-at``: about the share of the webhooks sent when it starts
    start_share: float  # that share as the seed moved it
    started_at: float | None
    ended_at: float | None
    calls: int  # GraphQL calls the sandbox answered 503 during the outage
    calls_timeline: list[tuple[float, int]]  # (seconds into the outage, calls so far)
    call_bound: int | None  # None: not judged (no circuit breaker in the build)
    call_bound_formula: str
    targets: int  # SKUs and customers with a value accepted by the outage's end
    convergence_seconds: float | None  # None: Shopify had not converged when the watch ended
    convergence_limit_seconds: float
    watched_seconds: float  # how long after the outage convergence was watched for
    behind: list[str] = field(default_factory=list)  # when the watch gave up
    sends: dict[str, int] = field(default_factory=dict)  # webhook sends during it, by outcome

    def problems(self) -> list[str]:
        if self.started_at is None or self.ended_at is None:
            return ["outage: it never ran"]
        found = []
        if self.call_bound is not None and self.calls > self.call_bound:
            found.append(f"outage: {self.calls} calls to Shopify during the outage, more than "
                         f"the bound {self.call_bound} = {self.call_bound_formula}")
        if self.convergence_seconds is None:
            found.append(f"outage: Shopify did not hold the newest accepted values even "
                         f"{self.watched_seconds:.0f} s after the outage ended; behind: "
                         f"{len(self.behind)} {self.behind[:10]}")
        elif self.convergence_seconds > self.convergence_limit_seconds:
            found.append(f"outage: Shopify held the newest accepted values "
                         f"{self.convergence_seconds:.1f} s after the outage ended, more than "
                         f"{self.convergence_limit_seconds:g} s")
        return found

    def calls_after(self, seconds: float) -> int:
        """Calls made later than ``seconds`` into the outage (by the samples)."""
        before = max((c for t, c in self.calls_timeline if t <= seconds), default=0)
        return self.calls - before

    def summary(self) -> list[str]:
        if self.started_at is None or self.ended_at is None:
            return [f"  outage of {self.seconds:g} s: NEVER RAN"]
        late = self.calls_after(10)
        span = self.ended_at - self.started_at - 10
        pace = f", one per {span / late:.1f} s" if late and span > 0 else ""
        bound = (f"bound {self.call_bound} = {self.call_bound_formula}"
                 if self.call_bound is not None else f"not judged: {self.call_bound_formula}")
        converged = (f"{self.convergence_seconds:.1f} s after it ended"
                     if self.convergence_seconds is not None else
                     f"NOT within {self.watched_seconds:.0f} s ({len(self.behind)} behind: "
                     f"{self.behind[:5]})")
        return [
            f"  outage: Shopify answered 503 to every call from {self.started_at:.1f} s to "
            f"{self.ended_at:.1f} s ({self.ended_at - self.started_at:.1f} s, starting at "
            f"{self.start_share:.0%} of the webhooks sent)",
            f"  sends to ingest during the outage: {dict(sorted(self.sends.items()))}",
            f"  calls to Shopify during the outage: {self.calls} (first 10 s: "
            f"{self.calls - late}; after: {late}{pace}); {bound}",
            f"  convergence: Shopify held the newest accepted value of all {self.targets} SKUs "
            f"and customers {converged} (limit {self.convergence_limit_seconds:g} s)",
        ]


@dataclass
class ChaosReport:
    seed: int
    webhooks: int
    items: int
    poison: int
    appendfsync: str
    max_sends: int | None
    durations: dict[str, float]
    faults: dict[str, int]
    lost: list[str]
    unexpected: list[str]
    maybe_accepted: dict[str, int]
    recovered: int
    recovered_duplicate_answers: int
    duplicated_writes: int
    rerun_jobs: int
    ingest_duplicates: list[str]
    states: dict[str, int]
    bad_states: list[str]
    reordered: list[str]
    poison_outcomes: list[dict[str, Any]]
    non_empty_queue_keys: dict[str, int]
    sandbox_stats: dict[str, Any]
    stale_values: list[str]
    rejected_webhooks: list[str]
    given_up: list[str]
    unfinished_webhooks: list[int]
    harness_errors: list[str]
    sends: dict[str, int]
    unavailable_outside_outages: list[str]
    worker_restarts: int
    events: list[tuple[float, str]]
    dead: dict[str, int] = field(default_factory=dict)  # failed jobs by error code
    send_rate: float | None = None
    outage: OutageReport | None = None

    def problems(self) -> list[str]:
        """Every broken promise, one line each (empty when the run passed)."""
        found = []
        names = ["harness_errors", "unfinished_webhooks", "lost", "unexpected",
                 "ingest_duplicates", "bad_states", "reordered", "stale_values",
                 "rejected_webhooks"]
        if self.max_sends is None:
            # Re-sent for give_up_after_seconds: ingest refused that long.
            names.append("given_up")
        for name in names:
            if getattr(self, name):
                found.append(f"{name}: {getattr(self, name)[:20]}")
        if self.non_empty_queue_keys:
            found.append(f"queue keys not empty: {self.non_empty_queue_keys}")
        if self.sandbox_stats.get("budget_exceeded"):
            found.append(f"Shopify budget exceeded {self.sandbox_stats['budget_exceeded']}x")
        if self.outage is not None:
            found += self.outage.problems()
        return found

    def summary(self) -> str:
        d = self.durations
        return "\n".join([
            f"chaos run: seed={self.seed} webhooks={self.webhooks} items={self.items} "
            f"poison={self.poison} appendfsync={self.appendfsync} "
            f"max_sends={self.max_sends or 'unlimited'}",
            f"  durations: send {d['send']:.1f}s, drain {d['drain']:.1f}s, "
            f"total {d['total']:.1f}s",
            f"  faults: {dict(sorted(self.faults.items()))}; "
            f"worker restarts {self.worker_restarts}",
            f"  sends: {dict(sorted(self.sends.items()))}; 503s outside the injected Redis "
            f"outages: {len(self.unavailable_outside_outages)} "
            f"{self.unavailable_outside_outages[:5]}",
            *(f"  HARNESS ERROR: {error}" for error in self.harness_errors),
            f"  unfinished webhooks (never got an outcome): {len(self.unfinished_webhooks)}",
            f"  lost: {len(self.lost)} {self.lost[:10]}",
            f"  unexpected: {len(self.unexpected)} {self.unexpected[:10]}",
            f"  maybe accepted (sender gave up without a definite answer): "
            f"{self.maybe_accepted['committed']} committed in Redis, "
            f"{self.maybe_accepted['not_committed']} not; given up: {len(self.given_up)}; "
            f"rejected: {len(self.rejected_webhooks)}",
            f"  recovered: {self.recovered} webhooks accepted only after a re-send "
            f"({self.recovered_duplicate_answers} of them answered duplicate: the first "
            f"send had been accepted)",
            f"  duplicated: {self.duplicated_writes} values written to Shopify more than "
            f"once; {self.rerun_jobs} jobs started more than once; ingest duplicates "
            f"{len(self.ingest_duplicates)}",
            f"  job states: {dict(sorted(self.states.items()))}; bad: {self.bad_states[:10]}",
            f"  dead: {sum(self.dead.values())} {dict(sorted(self.dead.items()))}, of which "
            f"poison jobs (dead by design): {self.dead_poison()}",
            f"  reordered: {len(self.reordered)} {self.reordered[:5]}",
            f"  poison: {self.poison_outcomes}",
            f"  queue keys not empty: {self.non_empty_queue_keys}",
            f"  sandbox: budget_exceeded={self.sandbox_stats.get('budget_exceeded')} "
            f"calls={self.sandbox_stats.get('calls')} http_429={self.sandbox_stats.get('http_429')}"
            f" http_5xx={self.sandbox_stats.get('http_5xx')}",
            f"  stale values in Shopify: {len(self.stale_values)} {self.stale_values[:10]}",
            *(self.outage.summary() if self.outage is not None else ()),
            f"  reproduce: {self.command()}",
        ])

    def dead_poison(self) -> int:
        return sum(1 for p in self.poison_outcomes if p["state"] == "failed")

    def command(self) -> str:
        """The command that runs this run again."""
        words = f"python -m tests.chaos.run --webhooks {self.webhooks} --seed {self.seed}"
        kinds = Counter(p["kind"] for p in self.poison_outcomes)
        if kinds["crash"] != ChaosConfig.poison:
            words += f" --poison {kinds['crash']}"
        if self.max_sends:
            words += f" --max-sends {self.max_sends}"
        if self.send_rate:
            words += f" --rate {self.send_rate:g}"
        if self.outage is not None:
            outage = self.outage
            words += f" --outage-seconds {outage.seconds:g} --outage-at {outage.outage_at:g}"
            if kinds["job_error"] != ChaosConfig.failing_jobs:
                words += f" --failing-jobs {kinds['job_error']}"
        return words
