"""The worker's Redis consumer: Dramatiq's, with an idle wait on a wake-up list, acks batched
with the next fetch, and an account of the messages this process holds.

``WakeableConsumer`` subclasses Dramatiq's private ``dramatiq.brokers.redis._RedisConsumer``
(Dramatiq 2.2.1, pinned in ``uv.lock``) and uses these private or undocumented parts of it,
listed in ``DRAMATIQ_PRIVATE_NAMES``; ``tests/unit/test_pinned_internals.py`` fails naming any
that an upgrade removes:

- the class ``_RedisConsumer`` and its constructor ``(broker, queue_name, prefetch, timeout)``;
- its attributes ``message_cache``, ``misses``, ``queued_message_ids``, ``prefetch``,
  ``timeout``, ``queue_name``, ``broker``, ``outstanding_message_count`` and its methods
  ``ack``, ``nack``, ``requeue``, ``close``, ``__next__``;
- the broker's ``do_fetch`` and ``do_ack`` dispatch helpers and ``client``;
- ``dramatiq.common.compute_backoff``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from hookyard.base import keys

if TYPE_CHECKING:
    from hookyard.jobs.broker import HookyardBroker

DRAMATIQ_PRIVATE_NAMES = {
    "consumer": ("message_cache", "misses", "queued_message_ids", "prefetch", "timeout",
                 "queue_name", "broker", "outstanding_message_count", "ack", "nack",
                 "requeue", "close", "__next__"),
    "broker": ("do_fetch", "do_ack", "client"),
}
"""What ``WakeableConsumer`` uses of Dramatiq's consumer and broker beyond their public API."""


class HeldMessages:
    """The redis message ids of work-queue messages this process holds: fetched and not yet
    acked, nacked, put back or dropped, wherever they are meanwhile (the consumer's cache, the
    worker's work queue, a worker thread). Thread-safe; one per broker, so per process.

    ``WorkerPresence`` publishes it with every heartbeat, and the sweeper compares it with the
    process's ack sets in Redis: a message in an ack set that the process does not hold was lost
    (a fetch whose reply never arrived, a cache dropped when a Redis blip restarted the
    consumer) and will never run unless it is replaced. Delay-queue messages are not tracked:
    the sweeper judges them by their retry time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    def hold(self, redis_message_ids: Iterable[str]) -> None:
        with self._lock:
            self._ids.update(redis_message_ids)

    def release(self, redis_message_ids: Iterable[str]) -> None:
        with self._lock:
            self._ids.difference_update(redis_message_ids)

    def snapshot(self) -> list[str]:
        with self._lock:
            return sorted(self._ids)


def _redis_message_id(message: Message[Any] | MessageProxy) -> str:
    return str(message.options["redis_message_id"])


class WakeableConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, with two changes for a work queue (delay queues keep
    Dramatiq's behaviour: their messages wait for an ETA anyway).

    **An idle consumer blocks on the queue's wake-up list** (BLPOP) instead of sleeping.
    Dramatiq's idle consumer sleeps with a growing backoff (up to the worker timeout), so a job
    sent to an idle worker waits up to that long before it is even fetched. Every Hookyard
    enqueue pushes a wake-up token in the same script as the message, so an idle consumer
    fetches within a round trip.

    **A busy consumer batches its acks with its next fetch.** Dramatiq acks every message with
    its own round trip from the worker thread, and a consumer whose prefetch is full sleeps with
    a growing backoff before it looks again. Here a worker thread's ack only frees the slot and
    wakes the consumer; once ``refill_at`` slots are free (a quarter of the prefetch), the
    consumer sends the pending acks and the next fetch in one pipelined round trip. Acks are never
    held long: at most ``ACK_LINGER_SECONDS`` while the slots fill up, never while the consumer is
    parked on the wake-up list (the worker thread then acks at once, as Dramatiq does), and
    pending ones are sent when the consumer closes. An ack that is late or lost (the process
    died first) only leaves the message in this worker's ack set: it comes back after the
    heartbeat timeout and ``start.lua`` skips it, since its job already ended.

    **It keeps account of what it holds** (``HeldMessages``): a work-queue message is held from
    its fetch (decoded at once, so its id is known) until its ack, nack or requeue, or until
    this consumer closes with it still in its cache (a Redis blip makes Dramatiq drop the
    consumer and its cache; the message stays in the ack set).
    """

    ACK_LINGER_SECONDS = 0.02

    def __init__(self, broker: HookyardBroker, queue_name: str, prefetch: int,
                 timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.hookyard_broker = broker
        self.held = broker.held
        self.is_work_queue = not queue_name.endswith(".DQ")
        self.refill_at = max(1, prefetch // 4)
        self._lock = threading.Lock()
        self._pending_acks: list[str] = []
        self._pending_since = 0.0
        self._room = threading.Event()
        self._parked = False

    def ack(self, message: MessageProxy) -> None:
        if not self.is_work_queue:
            super().ack(message)
            return
        redis_message_id = _redis_message_id(message)
        self.held.release([redis_message_id])
        with self._lock:
            self.queued_message_ids.discard(message.message_id)
            if not self._parked:
                if not self._pending_acks:
                    self._pending_since = time.monotonic()
                self._pending_acks.append(redis_message_id)
                self._room.set()
                return
        try:
            self.broker.do_ack(self.queue_name, redis_message_id)
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None

    def nack(self, message: MessageProxy) -> None:
        self.held.release([_redis_message_id(message)])
        super().nack(message)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        messages = list(messages)
        self.held.release(_redis_message_id(m) for m in messages)
        super().requeue(messages)

    def close(self) -> None:
        # Whatever is still cached is dropped with this consumer: no longer held here.
        self.held.release(_redis_message_id(m) for m in self.message_cache
                          if isinstance(m, Message))
        try:
            self._send(0)
        except redis.ConnectionError:
            pass  # the messages come back after the heartbeat timeout and are skipped
        super().close()

    def _fetched(self, data: Sequence[bytes | None]) -> list[Message[Any] | None]:
        """Decode a work-queue fetch and mark its messages held."""
        messages = [None if d is None else Message.decode(d) for d in data]
        self.held.hold(_redis_message_id(m) for m in messages if m is not None)
        return messages

    def _take_acks(self) -> list[str]:
        with self._lock:
            acks, self._pending_acks = self._pending_acks, []
            return acks

    def _send(self, room: int) -> list[bytes]:
        """Send the pending acks and, when ``room``, fetch up to that many messages, in one
        round trip; returns the fetched messages' data.

        The acks are Dramatiq's ``ack`` for many messages at once: SREM from this worker's ack
        set and HDEL of their data, two commands instead of one dispatch script call each.
        Unlike Dramatiq's, the data goes even when maintenance already took the id back from a
        worker it presumed dead: the job ran here, and the copy left in the queue would only
        be skipped by ``start.lua``; without its data, the consumer that fetches it drops it.
        """
        acks = self._take_acks()
        if not acks:
            return self.broker.do_fetch(self.queue_name, room) if room else []
        broker = self.hookyard_broker
        pipe = broker.client.pipeline(transaction=False)
        pipe.srem(keys.broker_acks(broker.broker_id, self.queue_name), *acks)
        pipe.hdel(keys.broker_messages(self.queue_name), *acks)
        if room:
            broker.dispatch_on(pipe, "fetch", self.queue_name, room)
        try:
            replies = pipe.execute()
        except redis.exceptions.NoScriptError:
            # Redis lost its script cache (restart). The acks went through and the failed fetch
            # popped nothing; Dramatiq's own call loads the script again.
            return self.broker.do_fetch(self.queue_name, room)
        except redis.ConnectionError:
            with self._lock:  # sent again with the next round trip
                self._pending_acks[:0] = acks
            raise
        return replies[-1] if room else []

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    cached = self.message_cache.pop(0)
                    if cached is None:
                        continue
                    self.misses = 0
                    # Work-queue fetches are decoded as they arrive (``_fetched``), delay-queue
                    # ones here.
                    message = cached if isinstance(cached, Message) else Message.decode(cached)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                room = self.prefetch - self.outstanding_message_count
                if not self.is_work_queue:
                    if room > 0:
                        self.message_cache = self.broker.do_fetch(self.queue_name, room)
                        if self.message_cache:
                            continue
                    self.misses, backoff_ms = compute_backoff(self.misses,
                                                              max_backoff=self.timeout)
                    time.sleep(backoff_ms / 1000)
                    return None
                if room >= self.refill_at:
                    self.message_cache = self._fetched(self._send(room))
                    if self.message_cache:
                        continue
                    self._park()
                    return None
                self._wait_for_room()
                return None
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None

    def _wait_for_room(self) -> None:
        """Prefetch (nearly) full: wait until a worker thread acks, sending acks that waited
        ``ACK_LINGER_SECONDS``."""
        self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
        self._room.clear()
        if self.prefetch - self.outstanding_message_count >= self.refill_at:
            return
        timeout = backoff_ms / 1000
        if self._pending_acks:
            timeout = min(timeout, max(0.0, self._pending_since + self.ACK_LINGER_SECONDS
                                       - time.monotonic()))
        self._room.wait(timeout)
        if (self._pending_acks and self.prefetch - self.outstanding_message_count < self.refill_at
                and time.monotonic() - self._pending_since >= self.ACK_LINGER_SECONDS):
            self._send(0)

    def _park(self) -> None:
        """Nothing to fetch: block on the wake-up list; acks meanwhile go out at once."""
        self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
        with self._lock:
            self._parked = True
        try:
            self._send(0)  # acks that came in since the fetch
            self.broker.client.blpop([keys.broker_wakeup(self.queue_name)],
                                     timeout=max(backoff_ms, 10) / 1000)
        finally:
            with self._lock:
                self._parked = False
