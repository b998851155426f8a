"""The report of a chaos run: every count and set the oracle found, the broken promises
(``problems``) and the text ``run.py`` and the test print (``summary``). It is also written to
``report.json``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
            f"  reordered: {len(self.reordered)} {self.reordered[:5]}",
            f"  poison: {self.poison_outcomes}",
            f"  queue keys not empty: {self.non_empty_queue_keys}",
            f"  sandbox: budget_exceeded={self.sandbox_stats.get('budget_exceeded')} "
            f"calls={self.sandbox_stats.get('calls')} http_429={self.sandbox_stats.get('http_429')}"
            f" http_5xx={self.sandbox_stats.get('http_5xx')}",
            f"  stale values in Shopify: {len(self.stale_values)} {self.stale_values[:10]}",
            f"  reproduce: python -m tests.chaos.run --webhooks {self.webhooks} "
            f"--seed {self.seed}" + (f" --max-sends {self.max_sends}" if self.max_sends else ""),
        ])
