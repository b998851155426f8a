"""The Dramatiq broker, built by a pure function and installed by the process that runs it.

``build_broker(settings)`` returns a configured ``HookyardBroker`` without touching the network
(redis-py connects lazily). ``install(settings)`` makes it the global broker; only then may
``hookyard.actors`` be imported, and it refuses otherwise (an actor declared before
``set_broker`` binds to localhost:6379 forever, which a local Redis would hide).

Tuning that differs from Dramatiq's defaults, and why:
- heartbeat timeout ``HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS`` (10 s, not 60 s) and maintenance on
  10 % of broker commands (not 0.1 %): a SIGKILLed worker's messages come back in seconds.
  A short timeout is only safe because ``WorkerPresence`` heartbeats from its own thread: an
  idle Dramatiq consumer heartbeats when it polls, a busy one (prefetch full) does not.
- Retries is replaced by ``hookyard.lifecycle.JobLifecycle`` (retry state lives in job records);
  no message is ever nacked, so Dramatiq's own dead-letter sets stay empty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message
from dramatiq.middleware import Middleware, ShutdownNotifications, TimeLimit

from hookyard import keys, scripts
from hookyard.messages import new_redis_message_id
from hookyard.settings import Settings

MAINTENANCE_CHANCE = 100_000  # out of 1,000,000 broker commands
DEAD_MESSAGE_TTL_MS = 60_000  # Dramatiq's XQ is unused; keep anything stray briefly


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


class HookyardBroker(RedisBroker):
    """A RedisBroker whose enqueue is fenced by the job record (see ``lua/enqueue.lua``).

    A re-enqueue of a job (a delayed message moving to its queue) only happens when the message
    it comes from is still the job's current one, and the record then names the new message, in
    one atomic step. Plain messages without a job record are enqueued as Dramatiq would.
    """

    def __init__(self, settings: Settings, *, client: redis.Redis,
                 middleware: list[Middleware]) -> None:
        super().__init__(
            client=client,
            namespace=keys.BROKER_NAMESPACE,
            middleware=middleware,
            heartbeat_timeout=settings.heartbeat_timeout_seconds * 1000,
            maintenance_chance=MAINTENANCE_CHANCE,
            dead_message_ttl=DEAD_MESSAGE_TTL_MS,
        )
        self.settings = settings
        self.held = HeldMessages()
        self._fenced_enqueue = scripts.register(client, "enqueue")

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return WakeableConsumer

    def dispatch_on(self, pipe: redis.client.Pipeline, command: str, queue_name: str,
                    *args: Any) -> None:
        """Queue ``do_<command>(queue_name, *args)`` (Dramatiq's dispatch script, same
        arguments) on ``pipe``. The script must be loaded already: it is once this process has
        fetched, and a pipeline's own script loading would cost a round trip per execute."""
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, command, current_millis(),
                     queue_name, self.broker_id, self.heartbeat_timeout, self.dead_message_ttl,
                     self._should_do_maintenance(command), self._max_unpack_size(), *args)

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        previous = str(message.options.get("redis_message_id") or "")
        queue_name = message.queue_name
        options: dict[str, Any] = {"redis_message_id": new_redis_message_id()}
        if delay is not None:
            queue_name = dq_name(queue_name)
            options["eta"] = current_millis() + delay
        message = message.copy(queue_name=queue_name, options=options)
        self.emit_before("enqueue", message, delay)
        self._fenced_enqueue(
            keys=[
                keys.job(message.message_id),
                keys.broker_queue(queue_name),
                keys.broker_messages(queue_name),
                keys.broker_wakeup(queue_name),
            ],
            args=[
                self.settings.state_redis_db,
                self.settings.broker_redis_db,
                previous,
                options["redis_message_id"],
                message.encode(),
            ],
        )
        self.emit_after("enqueue", message, delay)
        return message


def broker_client(settings: Settings, *, socket_timeout: float | None = None) -> redis.Redis:
    """A client on the broker DB (the DB index of ``HOOKYARD_REDIS_URL``)."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout or 5,
        health_check_interval=30,
    )


def url_with_db(url: str, db: int) -> str:
    """``url`` pointing at DB ``db`` (redis-py lets the URL's path win over a ``db=`` argument)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(db))]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


def state_client(settings: Settings, *, socket_timeout: float | None = None) -> redis.Redis:
    """A client on the state DB (``HOOKYARD_STATE_REDIS_DB``) of the same Redis."""
    return redis.Redis.from_url(
        url_with_db(settings.redis_url, settings.state_redis_db),
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout or 5,
        health_check_interval=30,
    )


def build_broker(settings: Settings, *, extra_middleware: list[Middleware] | None = None,
                 client: redis.Redis | None = None) -> HookyardBroker:
    """A broker with Hookyard's middleware; connects to nothing until used."""
    from hookyard.lifecycle import JobLifecycle  # the lifecycle imports jobs, which is heavier

    middleware: list[Middleware] = [
        TimeLimit(time_limit=settings.sync_time_limit_seconds * 1000, interval=1000),
        ShutdownNotifications(),
        JobLifecycle(settings),
        *(extra_middleware or []),
    ]
    return HookyardBroker(settings, client=client or broker_client(settings),
                          middleware=middleware)


def install(settings: Settings) -> HookyardBroker:
    """Build the broker and make it Dramatiq's global broker (call once per process)."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    return broker


def setup() -> None:
    """Entry for ``dramatiq hookyard.broker:setup``: install from the environment."""
    install(Settings.from_env())
