"""The chaos run's oracle and senders on made-up ledgers: no stack, seconds to run.

``judge_deliveries`` decides lost / unexpected / newest from the ledger and the job records;
``send_all`` must turn every answer, however broken, into an outcome in the ledger.
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

from tests.chaos.config import ChaosConfig
from tests.chaos.ledger import Ledger, Send, Webhook, is_definite
from tests.chaos.oracle import judge_deliveries
from tests.chaos.senders import send_all


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
