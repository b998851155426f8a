"""The senders: webhooks posted to ingest in each sender's order and re-sent until a definite
answer, as Nhanh does (compressed in time), and poison jobs submitted straight to Redis. Every
send and its answer go into the ledger."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import redis
import requests

from hookyard.base import keys
from hookyard.jobs.records import NewJob
from tests.chaos.config import ChaosConfig
from tests.chaos.ledger import Ledger, Poison, Webhook, is_definite
from tests.chaos.stack import ChaosStack


def send_all(stack: ChaosStack, ledger: Ledger, webhooks: list[Webhook],
             config: ChaosConfig) -> None:
    """Each sender posts its webhooks in order, re-sending each until a definite answer (or
    until it gives up: ``give_up_after_seconds``, ``max_sends``); with ``send_rate``, the
    senders together start at most that many webhooks a second."""
    interval = config.senders / config.send_rate if config.send_rate else 0.0

    def send(mine: list[Webhook]) -> None:
        session = requests.Session()
        url = f"{stack.ingest_url}/webhooks/nhanh"
        next_at = time.monotonic()
        for webhook in mine:
            if interval:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at + interval, time.monotonic())
            deadline = time.monotonic() + config.give_up_after_seconds
            pause = 0.1
            while True:
                answer: dict[str, Any] | None = None
                try:
                    response = session.post(url, data=webhook.body, timeout=(
                        2, config.send_timeout_seconds),
                        headers={"Content-Type": "application/json"})
                    outcome = str(response.status_code)
                    if response.status_code == 200:
                        answer = response.json()
                except requests.Timeout:
                    outcome = "timeout"
                except requests.ConnectionError:
                    outcome = "connection_error"
                    session = requests.Session()
                except requests.RequestException:
                    # The status line arrived but the body did not, or not whole
                    # (ChunkedEncodingError: gunicorn writes the headers and the body in two
                    # sends, and a worker SIGKILLed between them had already committed).
                    outcome = "broken_answer"
                    session = requests.Session()
                ledger.record_send(webhook, outcome, answer)
                if outcome == "200":
                    break
                if is_definite(outcome):
                    webhook.rejected = outcome  # a 4xx: never re-sent
                    break
                if (time.monotonic() > deadline
                        or (config.max_sends is not None
                            and len(webhook.sends) >= config.max_sends)):
                    webhook.gave_up = outcome
                    break
                time.sleep(pause)
                pause = min(2.0, pause * 2)

    def sender(number: int, mine: list[Webhook]) -> None:
        try:
            send(mine)
        except Exception as exc:  # a harness bug must fail the run, not silently end a sender
            unfinished = [w.id for w in mine if not w.finished]
            ledger.harness_errors.append(
                f"sender {number} stopped with {exc!r}; {len(unfinished)} of its webhooks "
                f"unfinished, from webhook {unfinished[:1]}")
            raise

    by_sender: dict[int, list[Webhook]] = defaultdict(list)
    for webhook in webhooks:
        by_sender[webhook.sender].append(webhook)
    threads = [threading.Thread(target=sender, args=(s, mine), name=f"sender-{s}", daemon=True)
               for s, mine in by_sender.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def submit_poison(stack: ChaosStack, ledger: Ledger, poison: Poison) -> None:
    """A job that SIGKILLs every worker running it, or fails with a job error on every run
    (``poison.kind``); submitted straight to Redis. Re-tried with the same id and dedupe key
    until Redis confirms, so it exists exactly once."""
    job = NewJob(queue="customer-sync", actor=poison.actor, payload={}, shop="acme",
                 job_id=poison.job_id)
    while True:
        poison.tries += 1
        try:
            stack.jobs.submit([job], dedupe_key=keys.dedupe("chaos", poison.job_id))
            poison.accepted_at = time.monotonic() - ledger.started
            ledger.event(f"poison {poison.job_id} accepted")
            return
        except redis.RedisError:
            time.sleep(0.5)
