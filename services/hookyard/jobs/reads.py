"""Reading job records: one, many, a page of a listing, and per-queue statistics.

``JobReads`` is the read half of ``JobStore`` (``hookyard.jobs.store``), which sets ``settings``,
``state`` (the state DB) and ``broker`` (the broker DB) on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis

from hookyard.base import keys
from hookyard.base.queues import QUEUES
from hookyard.base.settings import Settings
from hookyard.jobs.records import decode_record, now_ms
from hookyard.jobs.views import decode_cursor, encode_cursor


class JobReads:
    settings: Settings
    state: redis.Redis
    broker: redis.Redis

    def get(self, job_id: str) -> dict[str, Any] | None:
        raw = self.state.hgetall(keys.job(job_id))
        return decode_record(raw) if raw else None

    def get_many(self, job_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        pipe = self.state.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(keys.job(job_id))
        return [decode_record(raw) if raw else None for raw in pipe.execute()]

    def list_jobs(
        self,
        *,
        queue: str | None = None,
        state: str | None = None,
        shop: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first. The most selective index is walked and the other filters applied to
        the records; the cursor is opaque and stable under concurrent inserts."""
        if queue and state:
            index = keys.jobs_in_state(queue, state)
        elif queue:
            index = keys.jobs_by_queue(queue)
        elif shop:
            index = keys.jobs_by_shop(shop)
        else:
            index = keys.all_jobs()
        max_score: str = "+inf"
        after_id: str | None = None
        if cursor:
            score, after_id = decode_cursor(cursor)
            max_score = str(score)
        found: list[dict[str, Any]] = []
        scanned = 0
        next_cursor: str | None = None
        while len(found) < limit and scanned < limit * 20:
            batch = self.state.zrevrangebyscore(
                index, max_score, "-inf", start=0, num=limit * 2 + 1, withscores=True
            )
            if after_id is not None:
                # Skip what the previous page already returned at the cursor's score.
                ids = [m.decode() for m, _ in batch]
                if after_id in ids:
                    batch = batch[ids.index(after_id) + 1 :]
                after_id = None
            if not batch:
                break
            records = self.get_many([m.decode() for m, _ in batch])
            for (member, score), record in zip(batch, records, strict=True):
                scanned += 1
                if record is None:
                    continue  # trimmed by retention after being indexed
                if (state and record["state"] != state) or (shop and record.get("shop") != shop):
                    continue
                if queue and record["queue"] != queue:
                    continue
                found.append(record)
                if len(found) == limit:
                    next_cursor = encode_cursor(score, member.decode())
                    break
            if len(found) == limit:
                break
            last_member, last_score = batch[-1]
            max_score = str(int(last_score))
            after_id = last_member.decode()
            if len(batch) < limit * 2 + 1:
                break
        return found, next_cursor

    def queue_stats(self, queues: Iterable[str] = QUEUES) -> dict[str, dict[str, Any]]:
        """Per queue: waiting, delayed, in_flight, dead, succeeded, failed, oldest waiting age,
        consumers and healthy. Two pipelined round trips for all queues.

        Healthy: the oldest waiting job is younger than ``HOOKYARD_QUEUE_MAX_AGE_SECONDS``,
        someone consumes the queue if anything waits, and no job went dead within
        ``HOOKYARD_QUEUE_DEAD_WINDOW_SECONDS`` (``dead_recently``): dead jobs need an operator,
        so a queue that gained some is not healthy until they are an hour old (or replayed)."""
        queues = list(queues)
        now = now_ms()
        broker_pipe = self.broker.pipeline(transaction=False)
        for queue in queues:
            broker_pipe.llen(keys.broker_queue(queue))
            broker_pipe.hlen(keys.broker_messages(queue))
            broker_pipe.hlen(keys.broker_delay_messages(queue))
        broker_values = broker_pipe.execute()
        state_pipe = self.state.pipeline(transaction=False)
        for queue in queues:
            state_pipe.zcard(keys.jobs_in_state(queue, "failed"))
            state_pipe.zcount(keys.jobs_in_state(queue, "failed"),
                              now - self.settings.queue_dead_window_seconds * 1000, "+inf")
            state_pipe.zcard(keys.jobs_in_state(queue, "succeeded"))
            state_pipe.zrange(keys.jobs_in_state(queue, "queued"), 0, 0, withscores=True)
            state_pipe.zcard(keys.jobs_in_state(queue, "queued"))
            state_pipe.zcount(keys.worker_presence(queue),
                              now - self.settings.heartbeat_timeout_seconds * 1000, "+inf")
        state_values = state_pipe.execute()
        stats: dict[str, dict[str, Any]] = {}
        for i, queue in enumerate(queues):
            listed, messages, delayed = broker_values[3 * i : 3 * i + 3]
            dead, recently_dead, succeeded, oldest, queued, consumers = \
                state_values[6 * i : 6 * i + 6]
            # Waiting: jobs accepted and not started (queued), whether their message is listed
            # or they ride on their shop's turn (hookyard.jobs.turns); or the listed messages,
            # which also hold retries that came due.
            waiting = max(listed, queued)
            oldest_age = max(0.0, (now - oldest[0][1]) / 1000) if oldest and waiting else 0.0
            healthy = (oldest_age <= self.settings.queue_max_age_seconds
                       and (consumers > 0 or waiting == 0) and recently_dead == 0)
            stats[queue] = {
                "waiting": waiting,
                "delayed": delayed,
                "in_flight": max(0, messages - listed),
                "dead": dead,
                "succeeded": succeeded,
                "failed": dead,
                "oldest_waiting_age_seconds": round(oldest_age, 3),
                "dead_recently": recently_dead,
                "consumers": consumers,
                "healthy": bool(healthy),
            }
        return stats
