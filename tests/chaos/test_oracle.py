"""The chaos run's oracle and senders on made-up ledgers: no stack, seconds to run.

``judge_deliveries`` decides lost / unexpected / newest from the ledger and the job records;
``send_all`` must turn every answer, however broken, into an outcome in the ledger; an outage
run's poison jobs, call bound and convergence are judged as docs/reliability.md says.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from hookyard.base.settings import Settings
from tests.chaos.config import ChaosConfig, stack_settings
from tests.chaos.ledger import Ledger, Poison, Send, Webhook, is_definite
from tests.chaos.oracle import judge_deliveries, judge_poison, max_probes, outage_call_bound
from tests.chaos.outage import behind, newest_accepted
from tests.chaos.report import OutageReport
from tests.chaos.senders import send_all
from tests.support.platform_support import platform_env


def webhook(id_: int, values: dict[str, int], *outcomes: str,
            job_ids: tuple[str, ...] = ()) -> Webhook:
    body = json.dumps({"id": id_, "values": values}).encode()
    hook = Webhook(id=id_, kind="inventory", values=values, body=body,
                   sends=[Send(float(i), o) for i, o in enumerate(outcomes)])
    if "200" in outcomes:
        hook.job_ids = list(job_ids)
        hook.accepted_at = float(outcomes.index("200"))
    return hook


def record(job_id: str, hook: Webhook, seq: int, state: str = "succeeded") -> dict[str, Any]:
    return {"id": job_id, "state": state, "seq": seq,
            "source_event": {"body_sha256": hashlib.sha256(hook.body).hexdigest()}}


def test_only_a_200_or_a_4xx_is_a_definite_answer():
    assert is_definite("200") and is_definite("404") and is_definite("422")
    for outcome in ("503", "500", "timeout", "connection_error", "broken_answer"):
        assert not is_definite(outcome)


def test_a_delivery_answered_200_whose_job_is_missing_or_unfinished_is_lost():
    first = webhook(1, {"A": 2}, "200", job_ids=("j1",))
    second = webhook(2, {"B": 3}, "200", job_ids=("j2",))
    records = {"j1": None, "j2": record("j2", second, seq=1, state="running")}

    verdict = judge_deliveries([first, second], set(), records)

    assert verdict.lost == ["j1", "j2"]


def test_a_delivery_answered_200_with_fewer_jobs_than_items_is_lost():
    hook = webhook(1, {"A": 2, "B": 2}, "200", job_ids=("j1",))

    verdict = judge_deliveries([hook], set(), {"j1": record("j1", hook, seq=1)})

    assert verdict.lost == ["webhook 1: 1 jobs for 2 items"]


def test_jobs_of_a_maybe_accepted_delivery_are_allowed_and_its_newer_value_is_required():
    # The seed-539784 shape: the sender gave up on webhook 943 after an answer it could not
    # read, but Redis had committed it; Shopify rightly ends at 944, not at 928.
    older = webhook(927, {"CH-007": 928}, "200", job_ids=("old",))
    maybe = webhook(943, {"CH-007": 944}, "broken_answer")
    maybe.gave_up = "broken_answer"
    records = {"old": record("old", older, seq=1, state="superseded"),
               "new": record("new", maybe, seq=2)}

    verdict = judge_deliveries([older, maybe], set(), records)

    assert verdict.unexpected == [] and verdict.lost == []
    assert verdict.maybe_committed == [943]
    assert verdict.newest == {"CH-007": 944}
    assert ("CH-007", "944") in verdict.accepted_values


def test_a_maybe_accepted_delivery_redis_never_committed_is_not_required_nor_accepted():
    answered = webhook(1, {"A": 2}, "200", job_ids=("j1",))
    maybe = webhook(9, {"A": 10}, "503", "timeout")
    maybe.gave_up = "timeout"
    records = {"j1": record("j1", answered, seq=1)}

    verdict = judge_deliveries([answered, maybe], set(), records)

    assert verdict.lost == [] and verdict.unexpected == []
    assert verdict.maybe_not_committed == [9]
    assert verdict.newest == {"A": 2}
    assert ("A", "10") not in verdict.accepted_values  # in Shopify, it would be unexpected


def test_a_maybe_accepted_delivery_committed_after_a_later_answered_one_is_the_newest():
    # The sender gave up on 1 during a Redis pause and sent 9, answered 200; the paused script
    # of 1 ran after 9's: acceptance order, not sending order, decides.
    maybe = webhook(1, {"A": 2}, "503", "503", "503", "503")
    maybe.gave_up = "503"
    answered = webhook(9, {"A": 10}, "200", job_ids=("j9",))
    records = {"j1": record("j1", maybe, seq=8), "j9": record("j9", answered, seq=7,
                                                               state="superseded")}

    verdict = judge_deliveries([maybe, answered], set(), records)

    assert verdict.newest == {"A": 2} and verdict.reordered == []


def test_a_maybe_accepted_value_older_than_an_answered_one_never_wins():
    maybe = webhook(1, {"A": 2}, "timeout")
    maybe.gave_up = "timeout"
    answered = webhook(9, {"A": 10}, "200", job_ids=("j9",))
    records = {"j1": record("j1", maybe, seq=3, state="superseded"),
               "j9": record("j9", answered, seq=4)}

    assert judge_deliveries([maybe, answered], set(), records).newest == {"A": 10}


def test_a_job_no_send_explains_is_unexpected():
    refused = webhook(1, {"A": 2}, "422")
    refused.rejected = "422"
    answered = webhook(2, {"B": 3}, "200", job_ids=("j2",))
    records = {"j2": record("j2", answered, seq=1),
               "extra": record("extra", answered, seq=1),  # a second job of one delivery
               "from-refused": record("from-refused", refused, seq=2),
               "stranger": {"id": "stranger", "state": "succeeded", "seq": 3}}

    verdict = judge_deliveries([refused, answered], set(), records)

    assert verdict.unexpected == ["extra", "from-refused", "stranger"]


def test_answered_deliveries_accepted_out_of_their_senders_order_are_reported():
    first = webhook(1, {"A": 2}, "200", job_ids=("j1",))
    second = webhook(9, {"A": 10}, "200", job_ids=("j9",))
    records = {"j1": record("j1", first, seq=5), "j9": record("j9", second, seq=4)}

    assert judge_deliveries([first, second], set(), records).reordered != []


def test_an_unfinished_job_of_a_committed_maybe_accepted_delivery_is_a_bad_state():
    maybe = webhook(1, {"A": 2}, "connection_error")
    maybe.gave_up = "connection_error"
    records = {"j1": record("j1", maybe, seq=1, state="queued")}

    verdict = judge_deliveries([maybe], set(), records)

    assert verdict.lost == [] and verdict.bad_states != []


def test_poison_jobs_are_explained_and_lost_when_missing():
    verdict = judge_deliveries([], {"p1", "p2"}, {"p1": {"id": "p1", "state": "failed"},
                                                   "p2": None})

    assert verdict.unexpected == [] and verdict.lost == ["p2"]


# --- the senders ----------------------------------------------------------------------------


@pytest.fixture
def cut_off_once_server() -> Iterator[str]:
    """Answers every body's first POST with a 200 status line and headers but no body (what
    a gunicorn worker SIGKILLed between its two writes leaves), later ones in full."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: set[bytes] = set()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(65536)
                answer = json.dumps({"accepted": 1, "jobs": ["j"], "duplicate": False}).encode()
                headers = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(answer))
                conn.sendall(headers if body not in seen else headers + answer)
                seen.add(body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_an_answer_cut_off_after_its_headers_is_re_sent_not_fatal_to_the_sender(
        cut_off_once_server):
    hooks = [webhook(i, {"A": i + 1}) for i in range(3)]
    ledger = Ledger()

    send_all(SimpleNamespace(ingest_url=cut_off_once_server), ledger, hooks,  # type: ignore[arg-type]
             ChaosConfig(webhooks=3, senders=1))

    assert ledger.harness_errors == []
    assert [[s.outcome for s in h.sends] for h in hooks] == [["broken_answer", "200"]] * 3
    assert all(h.accepted and h.finished for h in hooks)


# --- the outage run -------------------------------------------------------------------------


def outage_settings(**environ: str) -> Settings:
    """The stack's settings in an outage run, ``environ`` being the run's environment."""
    config = ChaosConfig(outage_seconds=600)
    return Settings.from_env(platform_env("redis://127.0.0.1:1/0", "http://127.0.0.1:2",
                                          **stack_settings(config, environ)))


def test_an_outage_run_waits_far_longer_than_its_outage_with_the_production_breaker():
    settings = outage_settings()

    assert settings.upstream_max_outage_seconds >= 3600
    # Not the test platform's 0.2 s / 1 s, which are made for outages of a second.
    assert (settings.breaker_failures, settings.breaker_probe_seconds,
            settings.breaker_probe_max_seconds) == (5, 5, 30)
    assert outage_settings(HOOKYARD_BREAKER_PROBE_MAX_SECONDS="20").breaker_probe_max_seconds == 20


def test_probes_of_an_open_breaker_are_counted_on_their_shortest_doubling_waits():
    # Waits at least 4, 8, 16, 24, 24, ... s (5 s doubling to 30 s, less 20 % jitter).
    assert max_probes(3.9, base=5, cap=30, jitter=0.2) == 0
    assert max_probes(4, base=5, cap=30, jitter=0.2) == 1
    assert max_probes(28, base=5, cap=30, jitter=0.2) == 3
    assert max_probes(600, base=5, cap=30, jitter=0.2) == 3 + (600 - 28) // 24
    assert max_probes(20, base=5, cap=30, jitter=0.2) == 2


def test_the_outage_call_bound_is_opening_failures_plus_a_call_per_thread_plus_probes():
    settings = outage_settings()
    config = ChaosConfig(outage_seconds=600)  # 2 + 2 workers of 4 threads (CHAOS_SETTINGS)

    bound = outage_call_bound(settings, config, 600, probe_jitter=0.2)

    assert bound.calls == 5 + 16 + 26
    assert "5 failures" in bound.formula and "16 in flight" in bound.formula
    assert outage_call_bound(settings, config, 600, probe_jitter=None).calls is None
    forced = ChaosConfig(outage_seconds=600, outage_call_bound=7)
    assert outage_call_bound(settings, forced, 600, probe_jitter=None).calls == 7


def test_a_failing_job_must_die_after_its_attempts_not_wait_for_shopify():
    settings = outage_settings()
    poison = Poison(job_id="f1", kind="job_error")
    attempts = settings.max_retries + 1

    ok = {"state": "failed", "attempts": attempts, "error": {"code": "job_failed"}}
    waited_out = {"state": "failed", "attempts": 1, "error": {"code": "upstream_unavailable"}}
    waiting = {"state": "retrying", "attempts": 3, "error": {"code": "job_failed"}}

    assert judge_poison(poison, ok, settings)[1] is None
    assert judge_poison(poison, waited_out, settings)[1] is not None
    assert judge_poison(poison, waiting, settings)[1] is not None
    assert judge_poison(poison, None, settings)[1] is not None
    crash = Poison(job_id="p1")
    capped = {"state": "failed", "attempts": settings.max_deliveries,
              "error": {"code": "delivery_cap_exceeded"}}
    assert judge_poison(crash, capped, settings)[1] is None
    assert judge_poison(crash, ok, settings)[1] is not None


def test_convergence_targets_are_the_newest_values_accepted_by_the_outages_end():
    early = webhook(1, {"A": 2, "B": 2}, "200", job_ids=("j1", "j2"))
    later = webhook(9, {"A": 10}, "200", job_ids=("j9",))
    after = webhook(17, {"A": 18}, "200", job_ids=("j17",))
    never = webhook(25, {"C": 26}, "503")
    early.accepted_at, later.accepted_at, after.accepted_at = 1.0, 5.0, 30.0

    targets = newest_accepted([early, later, after, never], until=20.0)

    assert targets == {"A": 10, "B": 2}
    assert behind({"A": "10", "B": "2"}, targets) == []
    assert behind({"A": "18", "B": "2"}, targets) == []  # newer is fine: values only grow
    assert behind({"A": "2", "B": None}, targets) == ["A: shopify=2 want>=10",
                                                     "B: shopify=None want>=2"]


def outage_report(**changes: Any) -> OutageReport:
    fields: dict[str, Any] = dict(
        seconds=20, outage_at=0.3, start_share=0.31, started_at=2.0, ended_at=22.0, calls=30,
        calls_timeline=[(1.0, 20), (10.0, 25), (20.0, 30)], call_bound=40,
        call_bound_formula="f", targets=90, convergence_seconds=12.5,
        convergence_limit_seconds=60, watched_seconds=180)
    fields.update(changes)
    return OutageReport(**fields)


def test_an_outage_within_its_bounds_has_no_problems_and_says_what_it_measured():
    report = outage_report()

    assert report.problems() == []
    assert report.calls_after(10) == 5
    text = "\n".join(report.summary())
    assert "during the outage: 30 (first 10 s: 25; after: 5" in text
    assert "all 90 SKUs and customers 12.5 s after it ended" in text


@pytest.mark.parametrize(("changes", "says"), [
    ({"calls": 41}, "41 calls to Shopify during the outage, more than the bound 40"),
    ({"convergence_seconds": 61.0}, "61.0 s after the outage ended, more than 60 s"),
    ({"convergence_seconds": None, "behind": ["A: shopify=2 want>=10"]}, "did not hold"),
    ({"started_at": None, "ended_at": None}, "never ran"),
])
def test_an_outage_over_its_call_bound_or_converging_late_is_broken(changes, says):
    problems = outage_report(**changes).problems()

    assert len(problems) == 1 and says in problems[0], problems


def test_without_a_bound_the_outages_calls_are_reported_not_judged():
    report = outage_report(calls=5000, call_bound=None, call_bound_formula="no breaker")

    assert report.problems() == []
    assert "not judged: no breaker" in "\n".join(report.summary())
