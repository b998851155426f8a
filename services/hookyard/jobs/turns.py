"""Turns: fair by shop. A shop's pending sync jobs stand in their queue as one message.

Without turns every accepted item had its own message, in one FIFO list per queue: a shop that
sent 20,000 items put 20,000 messages ahead of the next shop's, and that shop waited for all of
them (docs/design.md, "Fair by shop"). With turns, acceptance (``lua/accept.lua``) gives a
message only to the first pending job of a shop and kind that finds no *turn* (the hash
``keys.shop_turn``); the others *ride*: they wait in the shop's pending set, with no message,
for a batch to claim them (``hookyard.sync.batching``). When the batch ends, its leader passes
the turn (``pass_turn``): the oldest queued pending job gets a fresh message at the **back** of
the queue, behind every other shop's turn, so shops take turns batch by batch; or, with no
pending job left, the turn ends and the shop's next delivery takes a new one.

A shop's ``weight`` is how many turns in a row it takes: its turn goes back to the queue's
*head* ``weight - 1`` times before it goes to the back (premium shops first).

What keeps a turn from being lost: passing is atomic with acceptance; a claimed job whose
message was the turn hands it to the batch (``lua/claim.lua``); the leader passes it whether
its batch succeeded or failed; and a turn whose message is gone (its worker died and Redis lost
the message, or the turn hash lapsed) is passed on by the sweeper (``repair``), which also
leaves riding jobs alone instead of re-enqueueing each of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from hookyard.base import keys
from hookyard.base.queues import BATCH_KINDS
from hookyard.jobs.records import now_ms
from hookyard.jobs.store import JobStore
from hookyard.storage import scripts

log = logging.getLogger(__name__)

CANDIDATES = 50
"""Pending jobs looked at for the oldest queued one (the others lead themselves: running jobs
awaiting the batch lease, or retries)."""
PASSED = ("head", "tail")


@dataclass(frozen=True)
class Backlog:
    """A shop's pending sync jobs of one kind: how many, and how long the oldest has waited."""

    waiting: int
    oldest_waiting_age_seconds: float


class Turns:
    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs
        self._pass = scripts.register(jobs.state, "pass_turn")

    def pass_on(self, shop: str, kind: str, *, holders: tuple[str, ...],
                weight: int = 1) -> str:
        """Pass ``shop``'s turn of ``kind`` on, if one of ``holders`` (message ids) holds it or
        nobody does; returns the script's answer (``head``/``tail``/``idle``/``not_holder``)."""
        queue = BATCH_KINDS[kind]
        pending = keys.pending_batch(shop, kind)
        a, b = (*holders, "", "")[:2]
        for _ in range(3):
            job_id = self._oldest_queued(pending)
            record = self.jobs.get(job_id) if job_id else None
            message = self.jobs.message_for(record) if record else None
            answer = self._pass(
                keys=[keys.shop_turn(shop, kind), pending, keys.job(job_id or "-"),
                      keys.broker_queue(queue), keys.broker_messages(queue),
                      keys.broker_wakeup(queue)],
                args=[self.jobs.settings.state_redis_db, self.jobs.settings.broker_redis_db,
                      a, b, job_id or "", message.redis_message_id if message else "",
                      message.data if message else "",
                      self.jobs.turn_ttl_ms(queue), max(1, weight), now_ms()])
            verdict = answer.decode() if isinstance(answer, bytes) else str(answer)
            if verdict != "moved":
                return verdict
        return "moved"

    def _oldest_queued(self, pending: str) -> str | None:
        ids = [i.decode() for i in self.jobs.state.zrange(pending, 0, CANDIDATES - 1)]
        if not ids:
            return None
        pipe = self.jobs.state.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(keys.job(job_id), "state")
        for job_id, state in zip(ids, pipe.execute(), strict=True):
            if state == b"queued":
                return job_id
        return None

    def riding(self, jobs: Sequence[tuple[str, bytes | None, bytes | None, bytes | None]]
               ) -> list[bool]:
        """For each ``(job id, its message id, shop, kind)``: is the job waiting in its shop's
        pending set for a batch to claim it, without being the turn itself? One round trip."""
        pipe = self.jobs.state.pipeline(transaction=False)
        for job_id, _, shop, kind in jobs:
            pending = keys.pending_batch(shop.decode(), kind.decode()) if shop and kind else "-"
            turn = keys.shop_turn(shop.decode(), kind.decode()) if shop and kind else "-"
            pipe.zscore(pending, job_id)
            pipe.hget(turn, "rmid")
        replies = pipe.execute() if jobs else []
        return [bool(shop and kind) and score is not None and turn != rmid
                for (_, rmid, shop, kind), score, turn
                in zip(jobs, replies[0::2], replies[1::2], strict=True)]

    def repair(self, shops: tuple[str, ...], *, older_than_ms: int) -> list[str]:
        """Pass on every turn whose message is gone, for shops whose oldest pending job is older
        than ``older_than_ms`` (so a turn being passed right now is left alone): what
        ``backlogs`` reads for every shop in two round trips, then one look per shop that has
        such a job. Returns ``shop/kind`` of the turns passed."""
        min_age_seconds = (now_ms() - older_than_ms) / 1000
        repaired = []
        for shop, queues in self.backlogs(list(shops)).items():
            for kind, queue in BATCH_KINDS.items():
                backlog = queues[queue]
                if not backlog.waiting or backlog.oldest_waiting_age_seconds < min_age_seconds:
                    continue
                turn = self.jobs.state.hget(keys.shop_turn(shop, kind), "rmid")
                if self._alive(queue, shop, kind, turn):
                    continue
                holder = turn.decode() if turn else ""
                if self.pass_on(shop, kind, holders=(holder,)) in PASSED:
                    repaired.append(f"{shop}/{kind}")
        return repaired

    def backlogs(self, shops: list[str]) -> dict[str, dict[str, Backlog]]:
        """Shop -> queue -> its pending jobs: two pipelined round trips for every shop."""
        pairs = [(shop, kind) for shop in shops for kind in BATCH_KINDS]
        if not pairs:
            return {}
        pipe = self.jobs.state.pipeline(transaction=False)
        for shop, kind in pairs:
            pipe.zcard(keys.pending_batch(shop, kind))
            pipe.zrange(keys.pending_batch(shop, kind), 0, 0)
        replies = pipe.execute()
        counts, oldest = replies[0::2], [ids[0].decode() if ids else None for ids in replies[1::2]]
        pipe = self.jobs.state.pipeline(transaction=False)
        for job_id in oldest:
            pipe.hget(keys.job(job_id or "-"), "created_at")
        created = pipe.execute()
        now = now_ms()
        found: dict[str, dict[str, Backlog]] = {shop: {} for shop in shops}
        for (shop, kind), count, at in zip(pairs, counts, created, strict=True):
            age = max(0.0, (now - int(at)) / 1000) if count and at else 0.0
            found[shop][BATCH_KINDS[kind]] = Backlog(int(count), round(age, 3))
        return found

    def _alive(self, queue: str, shop: str, kind: str, turn: bytes | None) -> bool:
        """The turn's message is in its queue, delay queue or a worker's hands, or its batch is
        running (the batch passes it when it ends)."""
        if turn is None:
            return False
        pipe = self.jobs.broker.pipeline(transaction=False)
        pipe.hexists(keys.broker_messages(queue), turn)
        pipe.hexists(keys.broker_delay_messages(queue), turn)
        if any(pipe.execute()):
            return True
        return bool(self.jobs.state.exists(keys.batch_lock(shop, kind)))
