"""A worker process's background duties, on one daemon thread.

- Dramatiq heartbeat: the broker only heartbeats when a consumer polls, and a busy consumer
  (prefetch full of long jobs) does not poll; with a short heartbeat timeout its in-flight
  messages would be handed to another worker while it still runs them. This thread heartbeats
  for the process every ``heartbeat_timeout / 4``.
- Presence: which worker processes consume which queue (``GET /queues`` ``consumers``,
  ``healthy``), and which work-queue messages this process holds (``HeldMessages``), numbered
  by heartbeat, so the sweeper can tell a message lost from memory from one merely prefetched.
- The sweeper, when this process holds the sweeper lease.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from hookyard.base import keys
from hookyard.jobs.consumer import HeldMessages
from hookyard.jobs.records import now_ms
from hookyard.jobs.store import JobStore
from hookyard.jobs.sweeper import Sweeper

log = logging.getLogger(__name__)


HOLDINGS_TTL_BEATS = 12
"""Heartbeats (of ``heartbeat_timeout / 4``) a published holdings snapshot outlives its worker."""


class WorkerPresence:
    def __init__(self, jobs: JobStore, *, broker_id: str, queue: str,
                 held: HeldMessages | None = None) -> None:
        self.jobs = jobs
        self.broker_id = broker_id
        self.queue = queue
        self.held = held
        self.settings = jobs.settings
        self._beats = 0
        self.sweeper = Sweeper(jobs, owner=broker_id)
        self.last_beat = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hookyard-presence", daemon=True)

    @property
    def healthy(self) -> bool:
        """A heartbeat got through to Redis recently."""
        return time.monotonic() - self.last_beat < self.settings.heartbeat_timeout_seconds

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.jobs.state.zrem(keys.worker_presence(self.queue), self.broker_id)
            self.jobs.state.delete(keys.worker_holdings(self.broker_id))
            self.sweeper.release_lease()
        except Exception:
            log.info("could not withdraw presence on shutdown", exc_info=True)

    def beat(self) -> None:
        """Heartbeat, presence, and (with ``held``) the holdings snapshot, taken now and
        numbered one past the previous one."""
        now = now_ms()
        self.jobs.broker.zadd(keys.broker_heartbeats(), {self.broker_id: now})
        presence = keys.worker_presence(self.queue)
        pipe = self.jobs.state.pipeline(transaction=False)
        pipe.zadd(presence, {self.broker_id: now})
        pipe.zremrangebyscore(presence, "-inf", now - 10 * self.settings.heartbeat_timeout_seconds
                              * 1000)
        if self.held is not None:
            self._beats += 1
            snapshot = {"seq": self._beats, "ids": self.held.snapshot()}
            pipe.set(keys.worker_holdings(self.broker_id), json.dumps(snapshot),
                     px=HOLDINGS_TTL_BEATS * self.settings.heartbeat_timeout_seconds * 250)
        pipe.execute()
        self.last_beat = time.monotonic()

    def _run(self) -> None:
        beat_every = self.settings.heartbeat_timeout_seconds / 4
        next_sweep = time.monotonic()
        while not self._stop.is_set():
            try:
                self.beat()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.sweep_interval_seconds
                    if self.sweeper.hold_lease():
                        self.sweeper.sweep_once()
            except Exception:
                log.warning("presence/sweeper pass failed; retrying", exc_info=True)
            self._stop.wait(min(beat_every, self.settings.sweep_interval_seconds))
