"""The oracle: a drained run judged against the ledger and the job records (Jepsen's sets).

- lost: accepted (200) but never processed to a terminal state. Must be empty.
- unexpected: processed (a job record, a value in Shopify) but never accepted. Must be empty.
  A delivery whose outcome its sender never learned (no 200, and a timeout, lost connection,
  cut-off answer or 5xx: Redis may have committed it before the answer was lost) is *maybe
  accepted*: its jobs may exist but need not. Which ones Redis did accept is read from the job
  records (each names its body's sha256); those count as accepted for the checks below.
- recovered: accepted only after a re-send. Counted.
- unfinished: a webhook its sender never got an outcome for (a sender that stopped). Must be
  empty: a harness that stops sending must fail the run, not shrink it.
- duplicated: a value written to Shopify more than once, or a job run more than once. Counted;
  ingest itself must never make two jobs of one delivered item (checked by body sha256).

Plus: every accepted job ended succeeded, superseded or (poison only) failed: after exactly
``HOOKYARD_MAX_DELIVERIES`` deliveries for a job that kills its worker, after its attempts for
one that fails with a job error (``poison_end``); the broker's queues are empty; the sandbox's
budget was never exceeded; Shopify holds the newest accepted value of every SKU and customer,
newest by acceptance sequence among the deliveries answered 200 and the maybe-accepted ones
Redis holds (for deliveries answered 200 that order must be the sender's order, which the
ledger alone knows; a maybe-accepted one may land after a later delivery its sender sent once
it gave up).

An outage run adds (``judge_outage``): the calls Shopify got during the outage, held to
``outage_call_bound`` when the build has a circuit breaker, and the convergence time after it
(at most ``ChaosConfig.convergence_limit_seconds``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from hookyard.base import keys
from hookyard.base.settings import Settings
from tests.chaos.config import ChaosConfig
from tests.chaos.draining import TERMINAL, queue_keys
from tests.chaos.ledger import Ledger, Poison, Webhook
from tests.chaos.outage import GIVE_UP_FACTOR, ShopifyOutage
from tests.chaos.report import ChaosReport, OutageReport
from tests.chaos.stack import ChaosStack
from tests.chaos.workload import customer_id_of, metafield, shopify_values
from tests.support.nhanh_payloads import LOCATION


@dataclass
class DeliveryVerdict:
    """What the ledger and the job records say about every delivery (``judge_deliveries``)."""

    lost: list[str]  # answered 200 (or poison) but a job is missing, or not ended
    unexpected: list[str]  # job records no send explains
    bad_states: list[str]  # an explained job that ended other than it should
    maybe_committed: list[int]  # maybe-accepted webhooks whose jobs Redis holds
    maybe_not_committed: list[int]  # maybe-accepted webhooks Redis never accepted
    reordered: list[str]  # deliveries answered 200 whose acceptance order is not the sender's
    answered_ids: set[str]  # job ids answered with a 200
    accepted_values: set[tuple[str, str]]  # (entity, value) of every delivery Redis accepted
    newest: dict[str, int]  # entity -> its newest accepted value


def judge_deliveries(webhooks: Sequence[Webhook], poison_ids: Set[str],
                     records: Mapping[str, Mapping[str, Any] | None]) -> DeliveryVerdict:
    """Judge deliveries against job records (job id -> record, None when absent).

    A delivery answered 200 must have every job it was answered with, ended. A maybe-accepted
    one (``Webhook.maybe_accepted``) is accepted exactly when Redis holds jobs made from its
    body (the records' ``source_event.body_sha256``); then they must have ended too. Every
    other record is unexpected. An entity's newest value is that of the accepted delivery with
    the highest acceptance sequence (``seq``); for the deliveries answered 200 that order must
    be their sender's (it sends the next only after the 200), which the ledger alone knows.
    """
    by_body: dict[str, list[str]] = defaultdict(list)
    for job_id, record in records.items():
        source = (record or {}).get("source_event") or {}
        if source.get("body_sha256"):
            by_body[source["body_sha256"]].append(job_id)

    lost: list[str] = []
    bad_states: list[str] = []
    explained = set(poison_ids)
    maybe_committed: list[int] = []
    maybe_not_committed: list[int] = []
    accepted: list[Webhook] = []  # by Redis: answered 200, or maybe-accepted and committed
    seq_of: dict[int, int] = {}  # webhook id -> its acceptance sequence number
    for webhook in sorted(webhooks, key=lambda w: w.id):
        if webhook.accepted:
            job_ids = list(webhook.job_ids)
        elif webhook.maybe_accepted:
            job_ids = sorted(by_body.get(webhook.body_sha256, ()))
            (maybe_committed if job_ids else maybe_not_committed).append(webhook.id)
            if not job_ids:
                continue
        else:
            continue
        accepted.append(webhook)
        explained.update(job_ids)
        if len(set(job_ids)) != len(webhook.values):  # one job per item (SKU or customer)
            (lost if webhook.accepted else bad_states).append(
                f"webhook {webhook.id}: {len(set(job_ids))} jobs for "
                f"{len(webhook.values)} items")
        for job_id in job_ids:
            record = records.get(job_id)
            if record is not None:
                seq_of.setdefault(webhook.id, int(record.get("seq") or 0))
            if record is None or record["state"] not in TERMINAL:
                if webhook.accepted:
                    lost.append(job_id)
                else:
                    bad_states.append(f"{job_id} (maybe-accepted webhook {webhook.id}): "
                                      f"{record and record['state']}")
                continue
            if record["state"] not in ("succeeded", "superseded"):
                bad_states.append(f"{job_id}: {record['state']} {record.get('error')}")
    for job_id in sorted(poison_ids):
        record = records.get(job_id)
        if record is None or record["state"] not in TERMINAL:
            lost.append(job_id)

    unexpected = sorted(j for j, r in records.items() if r is not None and j not in explained)

    reordered: list[str] = []
    by_entity: dict[str, list[Webhook]] = defaultdict(list)
    for webhook in accepted:  # in id order: per entity, one sender's sending order
        if webhook.id in seq_of:  # else its jobs are all missing: lost (or never committed)
            for entity in webhook.values:
                by_entity[entity].append(webhook)
    newest: dict[str, int] = {}
    for entity, candidates in by_entity.items():
        answered = [w for w in candidates if w.accepted]
        for before, after in pairwise(answered):
            if seq_of[before.id] >= seq_of[after.id]:
                reordered.append(f"{entity}: webhook {before.id} (seq {seq_of[before.id]}) "
                                 f"answered before webhook {after.id} (seq {seq_of[after.id]})")
        newest[entity] = max(candidates, key=lambda w: seq_of[w.id]).values[entity]

    return DeliveryVerdict(
        lost=sorted(lost), unexpected=unexpected, bad_states=bad_states,
        maybe_committed=maybe_committed, maybe_not_committed=maybe_not_committed,
        reordered=reordered,
        answered_ids={j for w in webhooks if w.accepted for j in w.job_ids},
        accepted_values={(entity, str(value)) for w in accepted
                         for entity, value in w.values.items()},
        newest=newest,
    )


BREAKER_MODULE = "hookyard.shopify.breaker"


def breaker_probe_jitter() -> float | None:
    """The share by which the circuit breaker shortens a probe's wait at random (its
    ``PROBE_JITTER``), or None when the build under test has no breaker (#16): then nothing
    holds the calls made during an outage to probes (each waiting job calls when it wakes)."""
    if importlib.util.find_spec(BREAKER_MODULE) is None:
        return None
    return float(importlib.import_module(BREAKER_MODULE).PROBE_JITTER)


def max_probes(seconds: float, *, base: float, cap: float, jitter: float) -> int:
    """The most probe calls an open breaker makes in ``seconds``: after k failed probes it waits
    ``min(cap, base x 2^k)``, shortened by at most ``jitter``, before the next."""
    probes, elapsed = 0, 0.0
    while True:
        elapsed += (1 - jitter) * min(cap, base * 2.0 ** min(probes, 64))
        if elapsed > seconds:
            return probes
        probes += 1


@dataclass(frozen=True)
class CallBound:
    calls: int | None  # None: not judged
    formula: str


def outage_call_bound(settings: Settings, config: ChaosConfig, seconds: float, *,
                      probe_jitter: float | None) -> CallBound:
    """The most Shopify calls an outage of ``seconds`` may see (docs/reliability.md, "The
    outage run"): the failures that open the shop's breaker, one call in flight per worker
    thread when it opens (they started before it opened), and the probes. An explicit
    ``config.outage_call_bound`` wins; without a breaker (``probe_jitter`` None) there is no
    bound."""
    if config.outage_call_bound is not None:
        return CallBound(config.outage_call_bound, "--outage-call-bound")
    if probe_jitter is None:
        return CallBound(None, f"no circuit breaker in this build ({BREAKER_MODULE})")
    threads = (config.inventory_workers + config.customer_workers) * settings.worker_threads
    probes = max_probes(seconds, base=settings.breaker_probe_seconds,
                        cap=settings.breaker_probe_max_seconds, jitter=probe_jitter)
    return CallBound(
        settings.breaker_failures + threads + probes,
        f"{settings.breaker_failures} failures to open the breaker + {threads} in flight (one "
        f"per worker thread) + {probes} probes in {seconds:g} s (waits from "
        f"{settings.breaker_probe_seconds:g} s doubling to {settings.breaker_probe_max_seconds:g}"
        f" s, each at least {1 - probe_jitter:.0%} of its interval)")


def judge_outage(outage: ShopifyOutage, webhooks: Sequence[Webhook], settings: Settings,
                 config: ChaosConfig) -> OutageReport:
    """The outage's report: what it measured, the bound its calls are held to, and how ingest
    answered the sends made during it."""
    bound = outage_call_bound(settings, config, config.outage_seconds,
                              probe_jitter=breaker_probe_jitter())
    start, end = outage.started_at, outage.ended_at
    sends = Counter(s.outcome for w in webhooks for s in w.sends
                    if start is not None and end is not None and start <= s.at <= end)
    return OutageReport(
        seconds=config.outage_seconds, outage_at=config.outage_at, start_share=outage.at,
        started_at=outage.started_at, ended_at=outage.ended_at, calls=outage.calls,
        calls_timeline=list(outage.calls_timeline), call_bound=bound.calls,
        call_bound_formula=bound.formula, targets=outage.targets,
        convergence_seconds=outage.convergence_seconds,
        convergence_limit_seconds=config.convergence_limit_seconds,
        watched_seconds=GIVE_UP_FACTOR * config.convergence_limit_seconds,
        behind=list(outage.behind), sends=dict(sends))


def poison_end(kind: str, settings: Settings) -> tuple[str, int]:
    """How a poison job of ``kind`` must end: dead with this error code after this many
    attempts. One that kills its worker: the delivery cap. One that fails with a job error:
    its attempts (``MAX_RETRIES`` + 1), outage or not (it must not wait: only an unavailable
    upstream makes a job wait)."""
    if kind == "job_error":
        return "job_failed", settings.max_attempts()
    return "delivery_cap_exceeded", settings.max_deliveries


def judge_poison(poison: Poison, record: Mapping[str, Any] | None,
                 settings: Settings) -> tuple[dict[str, Any], str | None]:
    """The poison job's outcome for the report, and what is wrong with it (None: it ended as
    ``poison_end`` says)."""
    record = record or {}
    error = record.get("error") or {}
    outcome = {"id": poison.job_id, "kind": poison.kind, "state": record.get("state"),
               "attempts": record.get("attempts"), "error": error.get("code")}
    code, attempts = poison_end(poison.kind, settings)
    if (record.get("state"), error.get("code"), record.get("attempts")) == ("failed", code,
                                                                              attempts):
        return outcome, None
    return outcome, f"poison {outcome} (want failed, {code}, attempts={attempts})"


def judge(stack: ChaosStack, ledger: Ledger, webhooks: list[Webhook],
          durations: dict[str, float], faults: Mapping[str, int],
          config: ChaosConfig, outage: ShopifyOutage | None = None) -> ChaosReport:
    """Judge the drained stack (job records, broker keys, Shopify's final state) against the
    ledger; ``faults`` counts what the nemesis injected, for the report; ``outage`` is the
    Shopify outage of an outage run."""
    settings = stack.settings
    answered_ids = {job_id for w in webhooks if w.accepted for job_id in w.job_ids}
    poison_ids = set(ledger.poison)
    all_in_redis = {m.decode() for m in stack.jobs.state.zrange(keys.all_jobs(), 0, -1)}
    ids = sorted(answered_ids | poison_ids | all_in_redis)
    records = dict(zip(ids, stack.jobs.get_many(ids), strict=True))
    verdict = judge_deliveries(webhooks, poison_ids, records)

    # Ingest must never make two jobs of one delivered item.
    by_item: dict[tuple[str, int], list[str]] = defaultdict(list)
    for job_id, record in records.items():
        if record is None or not record.get("source_event"):
            continue
        by_item[(record["source_event"]["body_sha256"],
                 int(record["payload"].get("index", 0)))].append(job_id)
    ingest_duplicates = sorted(f"{sha[:12]}#{index}: {ids_}" for (sha, index), ids_
                               in by_item.items() if len(ids_) > 1)

    states = Counter(r["state"] for j, r in records.items() if r is not None)
    bad_states = list(verdict.bad_states)
    poison_outcomes = []
    for job_id in sorted(poison_ids):
        outcome, problem = judge_poison(ledger.poison[job_id], records.get(job_id), settings)
        poison_outcomes.append(outcome)
        if problem:
            bad_states.append(problem)
    dead = Counter(str((r.get("error") or {}).get("code")) for r in records.values()
                   if r is not None and r["state"] == "failed")

    non_empty = {}
    for kind, key in queue_keys():
        size = stack.jobs.broker.llen(key) if kind == "list" else stack.jobs.broker.hlen(key)
        if size:
            non_empty[key] = int(size)

    # What Shopify holds, what it was told, and how often.
    sandbox = stack.sandbox
    stats = sandbox.stats("acme")
    inventory = {row["sku"]: row for row in sandbox.inventory("acme")
                 if row["locationId"] == LOCATION}
    item_to_sku = {row["inventoryItemId"]: sku for sku, row in inventory.items()}
    customers = sandbox.customers("acme")
    owner_to_nhanh = {c["id"]: customer_id_of(c) for c in customers}
    writes: Counter[tuple[str, str]] = Counter()
    for mutation in sandbox.mutations("acme"):
        if mutation["outcome"] != "applied":
            continue
        if mutation["mutation"] == "inventorySetQuantities":
            for q in mutation["args"]["input"]["quantities"]:
                writes[(item_to_sku.get(q["inventoryItemId"], "?"), str(q["quantity"]))] += 1
        elif mutation["mutation"] == "metafieldsSet":
            for m in mutation["args"]["metafields"]:
                writes[(owner_to_nhanh.get(m["ownerId"], "?"), str(m["value"]))] += 1
    unexpected = verdict.unexpected + sorted(
        f"shopify {e}={v}" for e, v in writes if (e, v) not in verdict.accepted_values)
    duplicated_writes = sum(1 for count in writes.values() if count > 1)

    actual = shopify_values(list(inventory.values()), customers, metafield(settings))
    stale = sorted(f"{entity}: shopify={actual.get(entity)} newest={value}"
                   for entity, value in verdict.newest.items()
                   if actual.get(entity) != str(value))

    sends: Counter[str] = Counter(s.outcome for w in webhooks for s in w.sends)
    # Ingest answers 503 when Redis is down, paused or slower than its Redis timeout. Counted,
    # not judged: on a busy machine a healthy Redis can be slower than 0.5 s (the answer then
    # is right); a count well above zero means ingest refuses while Redis works.
    margin = 1.0  # the ingest's Redis timeout (0.5 s) and reconnecting after the outage
    unavailable_outside_outages = [
        f"{w.id}@{s.at}s" for w in webhooks for s in w.sends if s.outcome == "503"
        and not any(start <= s.at <= end + margin for start, end in ledger.redis_outages)]
    recovered = [w for w in webhooks if w.accepted and len(w.sends) > 1]
    return ChaosReport(
        seed=config.seed, webhooks=len(webhooks), items=len(answered_ids),
        poison=len(poison_ids), appendfsync=config.appendfsync, max_sends=config.max_sends,
        durations=durations, faults=dict(faults), lost=verdict.lost,
        unexpected=unexpected,
        maybe_accepted={"committed": len(verdict.maybe_committed),
                        "not_committed": len(verdict.maybe_not_committed)},
        recovered=len(recovered),
        recovered_duplicate_answers=sum(1 for w in recovered if w.duplicate_answer),
        duplicated_writes=duplicated_writes,
        rerun_jobs=sum(1 for j in answered_ids
                       if records.get(j) and int(records[j].get("attempts") or 0) > 1),
        ingest_duplicates=ingest_duplicates, states=dict(states), bad_states=bad_states,
        reordered=verdict.reordered,
        poison_outcomes=poison_outcomes, non_empty_queue_keys=non_empty,
        sandbox_stats=stats, stale_values=stale,
        rejected_webhooks=[f"{w.id}: {w.rejected}" for w in webhooks if w.rejected],
        given_up=[f"{w.id}: after {len(w.sends)} sends, last {w.gave_up}"
                  for w in webhooks if w.gave_up],
        unfinished_webhooks=[w.id for w in webhooks if not w.finished],
        harness_errors=list(ledger.harness_errors),
        sends=dict(sends), unavailable_outside_outages=unavailable_outside_outages,
        worker_restarts=sum(max(0, p.starts - 1) for p in stack.workers),
        events=list(ledger.events), dead=dict(dead),
        send_rate=config.send_rate,
        outage=None if outage is None else judge_outage(outage, webhooks, settings, config),
    )
